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
    events: Sequence[PushEvent], services: Sequence[Service], policy: Policy = Policy()
) -> PlanBody:
    """One action per running service whose image and tag a push moved."""
    pushes: dict[Key, list[int]] = defaultdict(list)
    for index, event in enumerate(events):
        key = policy.key(event.image)
        if key is not None:
            pushes[key].append(index)

    actions: list[Action] = []
    skipped: list[Skip] = []
    for service in sorted(services, key=lambda s: (s.name, s.id)):
        key = policy.key(service.ref)
        hits = pushes.get(key, []) if key is not None else []
        if not hits:
            continue
        latest = events[_latest(events, hits)]
        if service.opted_out:
            skipped.append(_skip(service, f"opted out: label {OPT_OUT_LABEL}=false"))
        elif latest.digest is not None and latest.digest == service.digest:
            skipped.append(
                _skip(service, f"up to date: already runs {short_digest(latest.digest)}")
            )
        else:
            actions.append(
                _action(service, latest.digest, _push_reason(latest, service), tuple(hits))
            )
    return PlanBody(tuple(actions), tuple(skipped))


def _latest(events: Sequence[PushEvent], hits: Sequence[int]) -> int:
    """The push that happened last: by timestamp when every event has one, else input order."""
    stamps = [events[i].timestamp for i in hits]
    if all(stamp is not None for stamp in stamps):
        return max(hits, key=lambda i: (events[i].timestamp, i))
    return hits[-1]


def _push_reason(event: PushEvent, service: Service) -> str:
    pushed = f"as {short_digest(event.digest)}" if event.digest else "(the webhook gives no digest)"
    reason = f"tag {event.image.tag} pushed {pushed} via {event.source.value}"
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
