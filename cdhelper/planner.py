"""The planner: a pure function of (events, inventory, policy) to actions and skips.

No I/O, no clock, no environment: the same inputs always give the same plan body.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cdhelper.events import PushEvent
from cdhelper.inventory import OPT_OUT_LABEL, Service
from cdhelper.plan import Action, ServiceId, Skip
from cdhelper.reference import ImageRef, normalise_registry, short_digest
from cdhelper.values import Lookup

# (registry, repository, tag): what a service follows and what a push moves.
Key = tuple[str, str, str]


@dataclass(frozen=True)
class Policy:
    """How to match: ``registry_aliases`` maps other names of a registry to one name."""

    registry_aliases: Mapping[str, str] = field(default_factory=dict)

    def key(self, ref: ImageRef) -> Key | None:
        if ref.tag is None:  # pinned by digest only: follows no tag
            return None
        registry = self.registry_aliases.get(ref.registry, ref.registry)
        return (registry, ref.repository, ref.tag)


@dataclass(frozen=True)
class PlanBody:
    actions: tuple[Action, ...]
    skipped: tuple[Skip, ...]
    warnings: tuple[str, ...] = ()


def parse_aliases(pairs: Sequence[str]) -> dict[str, str]:
    """``ALIAS=REGISTRY`` pairs: services or events naming ALIAS mean REGISTRY."""
    aliases: dict[str, str] = {}
    for pair in pairs:
        alias, sep, registry = pair.partition("=")
        if not sep or not alias or not registry:
            raise ValueError(f"invalid registry alias {pair!r}: expected ALIAS=REGISTRY")
        aliases[normalise_registry(alias)] = normalise_registry(registry)
    return aliases


def plan_webhook(
    events: Sequence[PushEvent],
    services: Sequence[Service],
    policy: Policy = Policy(),
    published: Mapping[Key, Lookup] | None = None,
) -> PlanBody:
    """One action per running service whose image and tag a push moved.

    With ``published`` (the registry's answer per reference, for ``--resolve-digests``),
    events without a digest get the one the tag points to now.
    """
    pushes: dict[Key, list[int]] = defaultdict(list)
    for index, event in enumerate(events):
        key = policy.key(event.image)
        if key is not None:
            pushes[key].append(index)

    actions: list[Action] = []
    skipped: list[Skip] = []
    warnings: list[str] = []
    for service in sorted(services, key=lambda s: (s.name, s.id)):
        key = policy.key(service.ref)
        hits = pushes.get(key, []) if key is not None else []
        if key is None or not hits:
            continue
        latest = events[_latest(events, hits)]
        target = latest.digest
        reason = _push_reason(latest, service)
        if service.opted_out:
            skipped.append(_skip(service, f"opted out: label {OPT_OUT_LABEL}=false"))
            continue
        if target is None and published is not None:
            lookup = published[key]
            if lookup.digest is None:
                skipped.append(_skip(service, _lookup_problem(lookup, key)))
                warnings.append(_lookup_warning(lookup, key))
                continue
            target = lookup.digest
            reason += f"; the registry says it is {short_digest(target)}"
        if target is not None and target == service.digest:
            skipped.append(_skip(service, f"up to date: already runs {short_digest(target)}"))
        else:
            actions.append(_action(service, target, reason, tuple(hits)))
    return PlanBody(tuple(actions), tuple(skipped), tuple(_unique(warnings)))


def lookup_keys(services: Sequence[Service], policy: Policy) -> dict[Key, ImageRef]:
    """The references a smart plan must look up: one per key, none for opted-out services."""
    keys: dict[Key, ImageRef] = {}
    for service in services:
        key = policy.key(service.ref)
        if key is not None and not service.opted_out:
            keys.setdefault(key, service.ref.without_digest())
    return keys


def plan_smart(
    services: Sequence[Service], published: Mapping[Key, Lookup], policy: Policy = Policy()
) -> PlanBody:
    """An action for every service whose pinned digest is not what its tag points to now."""
    actions: list[Action] = []
    skipped: list[Skip] = []
    warnings: list[str] = []
    for service in sorted(services, key=lambda s: (s.name, s.id)):
        key = policy.key(service.ref)
        if key is None:
            skipped.append(_skip(service, "pinned by digest only: follows no tag"))
            continue
        if service.opted_out:
            skipped.append(_skip(service, f"opted out: label {OPT_OUT_LABEL}=false"))
            continue
        lookup = published[key]
        if lookup.digest is None:
            skipped.append(_skip(service, _lookup_problem(lookup, key)))
            warnings.append(_lookup_warning(lookup, key))
        elif lookup.digest == service.digest:
            skipped.append(_skip(service, f"up to date: runs {short_digest(lookup.digest)}"))
        else:
            actions.append(
                _action(service, lookup.digest, _smart_reason(service, lookup.digest), ())
            )
    return PlanBody(tuple(actions), tuple(skipped), tuple(_unique(warnings)))


def _smart_reason(service: Service, published: str) -> str:
    points = f"tag {service.ref.tag} points to {short_digest(published)}"
    if service.digest is None:
        return f"running digest unknown (none pinned); {points}"
    return f"published digest differs: {points}, the service runs {short_digest(service.digest)}"


def _lookup_problem(lookup: Lookup, key: Key) -> str:
    registry, repository, tag = key
    if lookup.missing:
        return f"tag {tag} no longer exists in {registry}/{repository}"
    return f"not checked: {lookup.error}"


def _lookup_warning(lookup: Lookup, key: Key) -> str:
    registry, repository, tag = key
    return f"{registry}/{repository}:{tag}: {_lookup_problem(lookup, key)}"


def _unique(items: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _latest(events: Sequence[PushEvent], hits: Sequence[int]) -> int:
    """The push that happened last: by timestamp when every event has one, else input order."""
    stamps = [events[i].timestamp for i in hits]
    if all(stamp is not None for stamp in stamps):
        return max(hits, key=lambda i: (events[i].timestamp, i))
    return hits[-1]


def _push_reason(event: PushEvent, service: Service) -> str:
    pushed = f"as {short_digest(event.digest)}" if event.digest else "(the webhook gives no digest)"
    reason = f"tag {event.image.tag} pushed {pushed} via {event.source}"
    if service.digest is None:
        reason += "; running digest unknown (none pinned)"
    return reason


def _action(service: Service, target: str | None, reason: str, events: tuple[int, ...]) -> Action:
    assert service.ref.tag is not None  # only tag-following services are planned
    return Action(
        service=ServiceId(service.id, service.name),
        image=service.ref.tagged,
        spec_image=service.image,
        tag=service.ref.tag,
        current_digest=service.digest,
        target_digest=target,
        version=service.version,
        fingerprint=service.fingerprint,
        reason=reason,
        events=events,
    )


def _skip(service: Service, reason: str) -> Skip:
    return Skip(ServiceId(service.id, service.name), service.ref.tagged, reason)
