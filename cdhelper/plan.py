"""The redeploy plan: the reviewable artifact between ``plan`` and ``apply``.

A plan is YAML, validated against ``schemas/plan.schema.json`` when written and when
read. It records the target it was computed against (never a secret), the events that
triggered it, and for every planned service the state it was planned from (version,
digest, spec fingerprint), so that ``apply`` can refuse it once it has gone stale.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from cdhelper import __version__, documents, parsers, signing
from cdhelper.errors import InputError
from cdhelper.events import PushEvent
from cdhelper.inventory import Target
from cdhelper.reference import ImageRef, ReferenceError
from cdhelper.values import format_time, parse_time, shown
from cdhelper.windows import Window

PLAN_FORMAT = "cdhelper-plan"
PLAN_VERSION = 1


class Mode(enum.Enum):
    WEBHOOK = "webhook"
    SMART = "smart"
    REVERT = "revert"  # made by `cdhelper revert` from an apply's report


# The records of a plan are never changed once made (hashable by value). They are not
# ``frozen``: a frozen dataclass sets each field through ``object.__setattr__``, which is
# most of the cost of the 10,000 skips of a smart plan over a large Swarm.


@dataclass(slots=True, unsafe_hash=True)
class ServiceId:
    id: str
    name: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name}

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


@dataclass(slots=True, unsafe_hash=True)
class Action:
    """Redeploy one service to what its tag points to now (``target_digest`` when known)."""

    service: ServiceId
    image: str  # normalised registry/repository:tag
    spec_image: str  # the image as the service spec writes it, without digest
    tag: str
    current_digest: str | None
    target_digest: str | None
    version: int
    fingerprint: str
    reason: str
    events: tuple[int, ...] = ()
    # The spec image the service runs now, when the action changes its tag (a semver
    # policy): ``spec_image`` then carries the new tag.
    current_image: str | None = None

    @property
    def running_image(self) -> str:
        """The spec image (without digest) the service ran when planned."""
        return self.current_image or self.spec_image

    def to_dict(self) -> dict[str, Any]:
        tag_change = {"current_image": self.current_image} if self.current_image else {}
        return {
            "service": self.service.to_dict(),
            "image": self.image,
            "spec_image": self.spec_image,
            "tag": self.tag,
            "current_digest": self.current_digest,
            "target_digest": self.target_digest,
            "version": self.version,
            "fingerprint": self.fingerprint,
            "reason": self.reason,
            "events": list(self.events),
            **tag_change,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Action:
        return cls(
            service=ServiceId(**data["service"]),
            image=data["image"],
            spec_image=data["spec_image"],
            tag=data["tag"],
            current_digest=data["current_digest"],
            target_digest=data["target_digest"],
            version=data["version"],
            fingerprint=data["fingerprint"],
            reason=data["reason"],
            events=tuple(data["events"]),
            current_image=data.get("current_image"),
        )


class Rule(enum.Enum):
    """The release policy that skipped a service (a Skip without one: the basic matching)."""

    MIN_AGE = "min-age"
    SEMVER = "semver"
    PLATFORM = "platform"


@dataclass(slots=True, unsafe_hash=True)
class Skip:
    """A service that matched but will not be touched, and why (and which policy said so)."""

    service: ServiceId
    image: str
    reason: str
    rule: Rule | None = None
    eligible_at: datetime | None = None  # min-age: when the target becomes old enough

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "service": self.service.to_dict(),
            "image": self.image,
            "reason": self.reason,
        }
        if self.rule is not None:
            data["rule"] = self.rule.value
        if self.eligible_at is not None:
            data["eligible_at"] = format_time(self.eligible_at)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Skip:
        rule = Rule(data["rule"]) if data.get("rule") else None
        eligible = parse_time(data["eligible_at"]) if data.get("eligible_at") else None
        return cls(ServiceId(**data["service"]), data["image"], data["reason"], rule, eligible)


@dataclass(frozen=True)
class Policies:
    """The release policies a plan was made under, and whether it may be applied now."""

    min_age: str | None = None  # as given: 7d
    windows: tuple[str, ...] = ()  # as given: Mon-Fri 06:00-18:00 Europe/Berlin
    window_open: bool = True  # at planning time
    next_window: datetime | None = None  # when closed at planning time

    def __bool__(self) -> bool:
        return self.min_age is not None or bool(self.windows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "min_age": self.min_age,
            "windows": list(self.windows),
            "window_open": self.window_open,
            "next_window": format_time(self.next_window),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policies:
        for text in data["windows"]:
            Window.parse(text)  # a WindowError (ValueError) makes the plan invalid
        return cls(
            min_age=data["min_age"],
            windows=tuple(data["windows"]),
            window_open=data["window_open"],
            next_window=parse_time(data["next_window"]) if data["next_window"] else None,
        )


@dataclass(frozen=True)
class Plan:
    mode: Mode
    target: Target
    events: tuple[PushEvent, ...]
    actions: tuple[Action, ...]
    skipped: tuple[Skip, ...]
    warnings: tuple[str, ...]
    created_at: datetime
    cdhelper_version: str = __version__
    policies: Policies = Policies()
    # what the signature of a loaded plan says (a plan being made is not signed yet)
    signature: signing.Check = field(default=signing.Check.UNSIGNED, compare=False)

    @property
    def has_changes(self) -> bool:
        return bool(self.actions)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": PLAN_FORMAT,
            "format_version": PLAN_VERSION,
            "cdhelper_version": self.cdhelper_version,
            "created_at": format_time(self.created_at),
            "mode": self.mode.value,
            "target": self.target.to_dict(),
            "events": [{"index": i, **e.to_dict()} for i, e in enumerate(self.events)],
            "actions": [a.to_dict() for a in self.actions],
            "skipped": [s.to_dict() for s in self.skipped],
            "warnings": list(self.warnings),
            **({"policies": self.policies.to_dict()} if self.policies else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        return cls(
            mode=Mode(data["mode"]),
            target=Target.from_dict(data["target"]),
            events=tuple(PushEvent.from_dict(e) for e in data["events"]),
            actions=tuple(Action.from_dict(a) for a in data["actions"]),
            skipped=tuple(Skip.from_dict(s) for s in data["skipped"]),
            warnings=tuple(data["warnings"]),
            created_at=parse_time(data["created_at"]),
            cdhelper_version=data["cdhelper_version"],
            policies=Policies.from_dict(data["policies"]) if "policies" in data else Policies(),
        )


def dumps(plan: Plan, key: bytes | None = None) -> str:
    """The plan as YAML, checked against its schema first (a bug must not ship a bad plan).

    With ``key`` (``CDHELPER_PLAN_KEY``) the plan is signed: see :mod:`cdhelper.signing`.
    """
    data = plan.to_dict()
    problems = documents.schema_errors(data, "plan") or parsers.bounded(_inconsistencies(data), str)
    if problems:
        raise InputError("internal error: the plan does not match plan.schema.json", problems)
    if key is not None:
        data = signing.sign(data, key)
    return documents.dump_yaml(data)


def loads(text: str, where: str, key: bytes | None = None) -> Plan:
    """Parse, validate and check a plan; its ``signature`` says what ``key`` finds."""
    data = documents.parse_yaml(text, where)
    _require_plan_format(data, where)
    if isinstance(data, dict):
        version = data.get("format_version")
        if isinstance(version, int) and version > PLAN_VERSION:
            raise InputError(
                f"{where}: $.format_version: plan format {version} is newer than this cdhelper "
                f"understands ({PLAN_VERSION}): apply it with the cdhelper that wrote it "
                f"({shown(data.get('cdhelper_version', 'unknown version'), quote=str)}) or newer"
            )
    documents.validate(data, "plan", where, "cdhelper plan")
    problems = parsers.bounded(_inconsistencies(data), str)
    if problems:
        raise InputError(f"{where}: not a valid cdhelper plan", problems)
    try:
        loaded = Plan.from_dict(data)
    except (ValueError, InputError) as exc:
        raise InputError(f"{where}: not a valid cdhelper plan: {exc}") from None
    return replace(loaded, signature=signing.check(data, key))


def load(path: str, key: bytes | None = None) -> Plan:
    return loads(documents.read_text(path), documents.display_name(path), key)


def _require_plan_format(data: Any, where: str) -> None:
    """Something else given as a plan (a payload, an inventory) is said so in one line,
    not with every schema error a plan would have."""
    if isinstance(data, dict) and data.get("format") == PLAN_FORMAT:
        return
    if not isinstance(data, dict):
        found = "it is empty" if data is None else f"it is {shown(data)}, not a mapping"
    elif "format" in data:
        found = f"its format is {shown(data['format'])}"
    else:
        found = "it has no format"
    raise InputError(
        f"{where}: not a cdhelper plan: {found} (a plan is the YAML `cdhelper plan` writes, "
        f"format: {PLAN_FORMAT})"
    )


def require_signature(plan: Plan, where: str, key: bytes | None) -> None:
    """With a key, only a plan signed with it may run: raise otherwise (nothing was called)."""
    if key is None or plan.signature is signing.Check.VALID:
        return
    if plan.signature is signing.Check.UNSIGNED:
        raise InputError(
            f"{where}: refusing an unsigned plan: {signing.KEY_ENV} is set, so only plans "
            "signed with it run (make the plan with the same key). Nothing was changed."
        )
    raise InputError(
        f"{where}: $.signature: refusing the plan: the signature does not match its content: "
        "it was changed after it was signed, or signed with another key. Nothing was changed."
    )


def _inconsistencies(data: Mapping[str, Any]) -> Iterator[str]:
    """What the schema cannot say: each action's image, spec image and tag name one thing.

    ``apply`` acts on the service id, the tag (Swarmpit) and the spec image with the target
    digest (Docker Engine), and ``show`` presents the normalised image: they must agree.
    """
    count = len(data["events"])
    parse = _Parser()
    for index, event in enumerate(data["events"]):
        if event["index"] != index:
            yield f"$.events[{index}].index: expected {index}, got {event['index']}"
        parsed = parse(event["image"])
        if isinstance(parsed, str):
            yield f"$.events[{index}].image: {parsed}"
    planned: dict[str, int] = {}
    for index, action in enumerate(data["actions"]):
        path = f"$.actions[{index}]"
        service_id = action["service"]["id"]
        if service_id in planned:
            yield (
                f"{path}.service.id: service {shown(service_id)} is planned twice "
                f"(also $.actions[{planned[service_id]}])"
            )
        planned.setdefault(service_id, index)
        yield from _action_problems(path, action, parse)
        for position, event_index in enumerate(action["events"]):
            if event_index >= count:
                yield f"{path}.events[{position}]: no event {event_index} in $.events"


def _action_problems(path: str, action: Mapping[str, Any], parse: _Parser) -> Iterator[str]:
    image = parse(action["image"])
    spec = parse(action["spec_image"])
    if isinstance(image, str):
        yield f"{path}.image: {image}"
    elif image.tagged != action["image"] or image.tag is None:
        yield f"{path}.image: expected the normalised registry/repository:tag ({image.tagged})"
    elif image.tag != action["tag"]:
        yield (
            f"{path}.tag: {shown(action['tag'])} is not the tag of {path}.image "
            f"({shown(image.tag)})"
        )
    if isinstance(spec, str):
        yield f"{path}.spec_image: {spec}"
    elif spec.digest is not None:
        yield f"{path}.spec_image: expected no digest (current_digest and target_digest hold them)"
    elif not isinstance(image, str) and spec.tagged != image.tagged:
        yield (
            f"{path}.spec_image: names {shown(spec.tagged)}, "
            f"but {path}.image is {shown(image.tagged)}"
        )

    if "current_image" in action:
        yield from _tag_change_problems(path, parse(action["current_image"]), image)


def _tag_change_problems(
    path: str, current: ImageRef | str, image: ImageRef | str
) -> Iterator[str]:
    """A semver action changes the tag, never the repository, and pins no digest there."""
    if isinstance(current, str):
        yield f"{path}.current_image: {current}"
    elif current.digest is not None or current.tag is None:
        yield f"{path}.current_image: expected a tagged image without digest"
    elif not isinstance(image, str) and current.name != image.name:
        yield (
            f"{path}.current_image: names {shown(current.name)}, "
            f"but {path}.image is {shown(image.name)} (a tag change keeps the repository)"
        )


class _Parser:
    """Image references, each parsed once per plan: an action's image is often its
    neighbours' (every service a push moves follows the pushed tag)."""

    def __init__(self) -> None:
        self.parsed: dict[str, ImageRef | str] = {}

    def __call__(self, text: str) -> ImageRef | str:
        """The reference, or what is wrong with it."""
        try:
            return self.parsed[text]
        except KeyError:
            pass
        try:
            found: ImageRef | str = ImageRef.parse(text)
        except ReferenceError as exc:
            found = exc.message
        self.parsed[text] = found
        return found
