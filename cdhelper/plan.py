"""The redeploy plan: the reviewable artifact between ``plan`` and ``apply``.

A plan is YAML, validated against ``schemas/plan.schema.json`` when written and when
read. It records the target it was computed against (never a secret), the events that
triggered it, and for every planned service the state it was planned from (version,
digest, spec fingerprint), so that ``apply`` can refuse it once it has gone stale.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cdhelper import __version__, documents
from cdhelper.errors import InputError
from cdhelper.events import PushEvent
from cdhelper.inventory import Target
from cdhelper.values import format_time, parse_time

PLAN_FORMAT = "cdhelper-plan"
PLAN_VERSION = 1


class Mode(enum.Enum):
    WEBHOOK = "webhook"
    SMART = "smart"
    REVERT = "revert"  # made by `cdhelper revert` from an apply's report


@dataclass(frozen=True)
class ServiceId:
    id: str
    name: str

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name}

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


@dataclass(frozen=True)
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

    def to_dict(self) -> dict[str, Any]:
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
        )


@dataclass(frozen=True)
class Skip:
    """A service that matched but will not be touched, and why."""

    service: ServiceId
    image: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"service": self.service.to_dict(), "image": self.image, "reason": self.reason}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Skip:
        return cls(ServiceId(**data["service"]), data["image"], data["reason"])


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
        )


def dumps(plan: Plan) -> str:
    """The plan as YAML, checked against its schema first (a bug must not ship a bad plan)."""
    data = plan.to_dict()
    problems = documents.schema_errors(data, "plan")
    if problems:
        raise InputError("internal error: the plan does not match plan.schema.json", problems)
    return documents.dump_yaml(data)


def loads(text: str, where: str) -> Plan:
    data = documents.parse_yaml(text, where)
    if isinstance(data, dict):
        version = data.get("format_version")
        if isinstance(version, int) and version > PLAN_VERSION:
            raise InputError(
                f"{where}: $.format_version: plan format {version} is newer than this cdhelper "
                f"understands ({PLAN_VERSION}): apply it with the cdhelper that wrote it "
                f"({data.get('cdhelper_version', 'unknown version')}) or newer"
            )
    documents.validate(data, "plan", where, "cdhelper plan")
    try:
        return Plan.from_dict(data)
    except (ValueError, InputError) as exc:
        raise InputError(f"{where}: not a valid cdhelper plan: {exc}") from None


def load(path: str) -> Plan:
    return loads(documents.read_text(path), documents.display_name(path))
