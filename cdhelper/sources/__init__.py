"""Webhook sources: every registry's push payload in, normalised push events out.

Each source is one module in this package; :data:`SOURCES` lists them, and that list is
the only place that names them all. A payload is recognised by each source's distinctive
keys (or chosen with ``--source``), validated against that source's JSON Schema, then
parsed. A valid payload that carries no deployable push (a delete, a pull, an npm package)
yields no event and says why.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cdhelper import bulk, documents, parsers
from cdhelper.errors import InputError, UsageError
from cdhelper.events import PushEvent
from cdhelper.sources import acr, artifactory, dockerhub, ecr, gar, ghcr, harbor, quay, registry
from cdhelper.sources.base import Context, Parsed, Source

SOURCES: tuple[Source, ...] = (
    dockerhub.SOURCE,
    registry.SOURCE,
    ecr.SOURCE,
    gar.SOURCE,
    artifactory.SOURCE,
    ghcr.SOURCE,
    harbor.SOURCE,
    quay.SOURCE,
    acr.SOURCE,
)


def names() -> list[str]:
    return [source.name for source in SOURCES]


def by_name(name: str) -> Source:
    for source in SOURCES:
        if source.name == name:
            return source
    raise UsageError(f"unknown source {name!r}: expected one of {', '.join(names())}")


@dataclass(frozen=True)
class Loaded:
    """Every push event of the inputs, in input order, and why parts of them deploy nothing."""

    events: tuple[PushEvent, ...]
    ignored: tuple[str, ...] = ()


def load_events(
    paths: Sequence[str], source: str | None = None, registry_host: str | None = None
) -> Loaded:
    """Read, detect, validate and parse every file. A file with no push is fine."""
    chosen = by_name(source) if source else None
    events: list[PushEvent] = []
    ignored: list[str] = []
    for path in paths:
        where = documents.display_name(path)
        ctx = Context(where, registry_host=registry_host)
        data = documents.read_bytes(path)
        parsed = _parsed_beside(data, ctx, chosen) if len(data) >= bulk.WORTH_IT else None
        if parsed is None:
            tree = documents.parse_json(documents.decode(data, where), where)
            parsed = parse_document(tree, ctx, chosen)
        events.extend(parsed.events)
        ignored.extend(f"{where}: {reason}" for reason in parsed.ignored)
    return Loaded(tuple(collapse(events)), tuple(ignored))


def _parsed_beside(data: bytes | str, ctx: Context, chosen: Source | None) -> Parsed | None:
    """A large document (a storm of events): a forked child reads it strictly and validates
    it while this process parses the events from msgspec's reading of it, which is the same
    tree whenever the strict reading accepts the text (see :func:`cdhelper.bulk.beside`).
    None: read it the careful way."""
    try:
        import msgspec  # noqa: PLC0415 (large inputs only)
    except ImportError:
        return None

    def check() -> None:
        # what loads_json reads, from the bytes (no decoded copy), or no answer
        tree = parsers.loads_vouched(data.encode() if isinstance(data, str) else data)
        for _ in _payloads(tree, ctx, chosen, validate=True):
            pass

    return bulk.beside(
        check, lambda: _parsed(_payloads(msgspec.json.decode(data), ctx, chosen, validate=False))
    )


def parse_document(data: Any, ctx: Context, chosen: Source | None = None) -> Parsed:
    """A payload, or a JSON array of payloads (of any sources)."""
    return _parsed(_payloads(data, ctx, chosen, validate=True))


def parse_payload(payload: Any, ctx: Context, chosen: Source | None = None) -> Parsed:
    return _source(payload, ctx, chosen, validate=True).parse(payload, ctx)


def _payloads(
    data: Any, ctx: Context, chosen: Source | None, *, validate: bool
) -> Iterator[tuple[Any, Context, Source]]:
    """Each payload of a document (one, or a JSON array of them), where it is, its source."""
    if isinstance(data, list) and not looks_like_inventory(data):
        for index, payload in enumerate(data):
            part = Context(ctx.where, f"$[{index}]", ctx.registry_host)
            yield payload, part, _source(payload, part, chosen, validate=validate)
    else:
        yield data, ctx, _source(data, ctx, chosen, validate=validate)


def _source(payload: Any, ctx: Context, chosen: Source | None, *, validate: bool) -> Source:
    """The payload's source (chosen, or detected); the payload validated against its schema."""
    source = chosen or detect(payload, ctx)
    if validate:
        documents.validate(payload, source.schema, ctx.where, source.title, ctx.base)
    return source


def _parsed(payloads: Iterable[tuple[Any, Context, Source]]) -> Parsed:
    events: list[PushEvent] = []
    ignored: list[str] = []
    for payload, ctx, source in payloads:
        part = source.parse(payload, ctx)
        events.extend(part.events)
        ignored.extend(part.ignored)
    return Parsed(tuple(events), tuple(ignored))


def detect(payload: Any, ctx: Context) -> Source:
    """The one source whose distinctive keys the payload has; else a message naming them all."""
    if looks_like_inventory(payload):
        raise ctx.error("$", "this is a service inventory, not a webhook payload")
    matches = [s for s in SOURCES if isinstance(payload, dict) and s.detect(payload)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ctx.error(
            "$",
            "the payload fits several sources "
            f"({', '.join(s.name for s in matches)}): choose one with --source NAME",
        )
    expected = "\n".join(f"  - {s.name}: {s.title}: {s.expects}" for s in SOURCES)
    raise InputError(
        f"{ctx.where}: {ctx.base}: unknown webhook payload: expected one of these sources\n"
        + expected
    )


def collapse(events: Iterable[PushEvent]) -> list[PushEvent]:
    """Per-platform storms: where a payload says which digest is the index, it wins.

    Registries such as GHCR and Harbor announce one push per platform manifest besides the
    index. For one (registry, repository, tag), once any event says its digest is an index,
    the events for that tag known to be a single platform's manifest are dropped.
    """
    events = list(events)
    indexed = {e.image for e in events if e.is_index}
    if not indexed:
        return events  # nothing to drop: no image is hashed per event
    return [
        e
        for e in events
        if not (e.image in indexed and e.media_type is not None and not e.is_index)
    ]


def looks_like_inventory(data: Any) -> bool:
    if isinstance(data, Mapping):
        return data.get("format") == "cdhelper-inventory"
    if isinstance(data, list) and data and isinstance(data[0], Mapping):
        first = data[0]
        return ("ID" in first and "Spec" in first) or "serviceName" in first
    return False
