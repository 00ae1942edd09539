"""The planner: a pure function of (events, inventory, policy) to actions and skips.

No I/O, no clock, no environment: the same inputs always give the same plan body. A
service with a semver policy follows the highest tag of its range: the tag lists come in
as an argument, read by the jobs module. The policies that hold back what was planned
(minimum age, platform check) are :mod:`cdhelper.policies`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from operator import attrgetter

from cdhelper import versions
from cdhelper.events import PushEvent
from cdhelper.inventory import OPT_OUT_LABEL, Service
from cdhelper.plan import Action, Rule, ServiceId, Skip
from cdhelper.reference import ImageRef, normalise_registry, short_digest
from cdhelper.values import (
    Lookup,
    TagList,
)

# (registry, repository, tag): what a service follows and what a push moves.
Key = tuple[str, str, str]


@dataclass(frozen=True)
class Policy:
    """How to match: ``registry_aliases`` maps other names of a registry to one name."""

    registry_aliases: Mapping[str, str] = field(default_factory=dict)
    min_age: timedelta | None = None

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


# Services in the order plans list them: by name, then id (attrgetter: a key per service).
_BY_NAME = attrgetter("name", "id")


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
    pushed = pushed_repository(events, policy)
    for service in sorted([s for s in services if pushed(s.ref)], key=_BY_NAME):
        follow = _webhook_follow(service, pushes, policy)
        if follow is None:
            continue
        if isinstance(follow, Skip):
            skipped.append(follow)
            continue
        key, note = follow
        hits = pushes[key]
        latest = events[_latest(events, hits)]
        target = latest.digest
        reason = note + _push_reason(latest, service)
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
            actions.append(_action(service, target, reason, tuple(hits), key[2]))
    return PlanBody(tuple(actions), tuple(skipped), tuple(_unique(warnings)))


def pushed_repository(events: Sequence[PushEvent], policy: Policy) -> Callable[[ImageRef], bool]:
    """Whether a service running an image could follow one of ``events``: only a service
    of a repository they pushed a tag of can (whatever its tag or its semver policy).

    A large Swarm runs many repositories; one push moves a few, so only their services are
    built from a large inventory, sorted and asked which push they follow.
    """
    pushed = {key[:2] for event in events if (key := policy.key(event.image)) is not None}

    def admits(ref: ImageRef) -> bool:
        key = policy.key(ref)
        return key is not None and key[:2] in pushed

    return admits


def _webhook_follow(
    service: Service, pushes: Mapping[Key, list[int]], policy: Policy
) -> tuple[Key, str] | Skip | None:
    """Which pushed key moves this service (and a note for the reason); None: no push did.

    A service with a semver policy is moved by the highest pushed tag of its repository in
    its range, when that is higher than the version it runs (or is its own tag, re-pushed).
    """
    key = policy.key(service.ref)
    if key is None:
        return None
    if versions.policy(service.labels) is None:
        return (key, "") if pushes.get(key) else None
    pushed = [k[2] for k in pushes if k[:2] == key[:2]]
    if not pushed:
        return None
    semver = _semver(service, key, pushed, "the highest pushed version in range")
    if isinstance(semver, Skip):
        return semver if any(_in_range(service, tag) for tag in pushed) else None
    tag, note = semver
    chosen = (key[0], key[1], tag)
    # its own version under another spelling (1.5.0 for v1.5.0) does not move it
    return (chosen, note) if chosen in pushes else None


def _in_range(service: Service, tag: str) -> bool:
    text = versions.policy(service.labels)
    try:
        return text is not None and versions.SemverRange.parse(text).admits(tag)
    except ValueError:
        return True  # an invalid range: the service's skip says so


def _semver(
    service: Service, key: Key, tags: Sequence[str], highest: str = "the range's highest version"
) -> tuple[str, str] | Skip:
    """The tag a semver service should run, of ``tags``, never lower than it runs now."""
    text = versions.policy(service.labels) or ""
    try:
        wanted = versions.SemverRange.parse(text)
    except ValueError as exc:
        return _skip(service, f"semver: label {versions.POLICY_LABEL}: {exc}", Rule.SEMVER)
    running = key[2]
    if versions.version(running) is None:
        return _skip(
            service,
            f"semver {text}: it runs tag {running}, which is not a version, so a downgrade "
            "cannot be ruled out: deploy a version tag (v1.2.3) once",
            Rule.SEMVER,
        )
    best = wanted.highest(tags)
    if best is None:
        return _skip(service, f"semver {text}: no version tag in the range", Rule.SEMVER)
    order = versions.compare(best, running)
    if order < 0:
        return _skip(
            service,
            f"semver {text}: it runs {running}, higher than {highest} {best}: never downgraded",
            Rule.SEMVER,
        )
    if order == 0:  # its own version (its tag re-pushed, or another spelling of it)
        return (running, f"semver {text}: runs {running}, the highest version in range; ")
    return (best, f"semver {text}: {running} -> {best}, the highest version in range; ")


def lookup_keys(
    services: Sequence[Service],
    policy: Policy,
    follows: Mapping[str, Key | Skip] | None = None,
) -> dict[Key, ImageRef]:
    """The references a smart plan must look up: one per key, none for opted-out services.

    ``follows`` (from :func:`follow`) replaces a semver service's own tag by the one it
    should run; a service skipped there is not looked up.
    """
    keys: dict[Key, ImageRef] = {}
    for service in services:
        key = policy.key(service.ref)
        if follows is not None and service.id in follows:
            chosen = follows[service.id]
            key = None if isinstance(chosen, Skip) else chosen
        if key is not None and not service.opted_out:
            keys.setdefault(key, ImageRef(service.ref.registry, service.ref.repository, key[2]))
    return keys


def semver_repositories(services: Sequence[Service], policy: Policy) -> dict[Key, ImageRef]:
    """The repositories whose tags a smart plan lists: those of semver services, one each.

    Keyed by (registry, repository, "") so that aliases of one registry share one listing.
    """
    repositories: dict[Key, ImageRef] = {}
    for service in services:
        key = policy.key(service.ref)
        if key is None or service.opted_out or versions.policy(service.labels) is None:
            continue
        ref = ImageRef(service.ref.registry, service.ref.repository, None)
        repositories.setdefault((key[0], key[1], ""), ref)
    return repositories


def follow(
    services: Sequence[Service], policy: Policy, tag_lists: Mapping[Key, TagList]
) -> dict[str, Key | Skip]:
    """Smart mode: the key each semver service follows now (the highest tag in its range,
    never lower than the one it runs), or why it is skipped; other services follow their own.
    """
    follows: dict[str, Key | Skip] = {}
    for service in services:
        key = policy.key(service.ref)
        if key is None or service.opted_out or versions.policy(service.labels) is None:
            continue
        listing = tag_lists.get((key[0], key[1], ""))
        if listing is None or listing.error is not None:
            error = listing.error if listing else "not listed"
            follows[service.id] = _skip(service, f"semver: tags not listed: {error}", Rule.SEMVER)
            continue
        chosen = _semver(service, key, listing.tags)
        follows[service.id] = chosen if isinstance(chosen, Skip) else (*key[:2], chosen[0])
    return follows


def plan_smart(
    services: Sequence[Service],
    published: Mapping[Key, Lookup],
    policy: Policy = Policy(),
    follows: Mapping[str, Key | Skip] | None = None,
) -> PlanBody:
    """An action for every service whose pinned digest is not what its tag points to now
    (for a semver service: the highest tag in its range, ``follows``)."""
    actions: list[Action] = []
    skipped: list[Skip] = []
    warnings: list[str] = []
    follows = follows or {}
    for service in sorted(services, key=_BY_NAME):
        key = policy.key(service.ref)
        if key is None:
            skipped.append(_skip(service, "pinned by digest only: follows no tag"))
            continue
        if service.opted_out:
            skipped.append(_skip(service, f"opted out: label {OPT_OUT_LABEL}=false"))
            continue
        chosen = follows.get(service.id, key)
        if isinstance(chosen, Skip):
            skipped.append(chosen)
            continue
        lookup = published[chosen]
        if lookup.digest is None:
            skipped.append(_skip(service, _lookup_problem(lookup, chosen)))
            warnings.append(_lookup_warning(lookup, chosen))
        elif lookup.digest == service.digest:
            skipped.append(_skip(service, f"up to date: runs {short_digest(lookup.digest)}"))
        else:
            reason = _smart_reason(service, lookup.digest, chosen[2])
            if chosen != key:
                text = versions.policy(service.labels)
                reason = f"semver {text}: {key[2]} -> {chosen[2]}, the highest version in range; "
                reason += f"tag {chosen[2]} points to {short_digest(lookup.digest)}"
            actions.append(_action(service, lookup.digest, reason, (), chosen[2]))
    return PlanBody(tuple(actions), tuple(skipped), tuple(_unique(warnings)))


def _smart_reason(service: Service, published: str, tag: str) -> str:
    points = f"tag {tag} points to {short_digest(published)}"
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


def _action(
    service: Service, target: str | None, reason: str, events: tuple[int, ...], tag: str
) -> Action:
    """Redeploy ``service`` to ``tag`` (its own, or the one its semver policy chose)."""
    assert service.ref.tag is not None  # only tag-following services are planned
    changed = tag != service.ref.tag
    return Action(
        service=ServiceId(service.id, service.name),
        image=ImageRef(service.ref.registry, service.ref.repository, tag).tagged,
        spec_image=_retag(service.image, tag) if changed else service.image,
        tag=tag,
        current_digest=service.digest,
        target_digest=target,
        version=service.version,
        fingerprint=service.fingerprint,
        reason=reason,
        events=events,
        current_image=service.image if changed else None,
    )


def _retag(spec_image: str, tag: str) -> str:
    """The spec's image as written, with another tag (``app:v1.4.2`` -> ``app:v1.5.0``)."""
    name, sep, old = spec_image.rpartition(":")
    return f"{name}:{tag}" if sep and "/" not in old else f"{spec_image}:{tag}"


def _skip(service: Service, reason: str, rule: Rule | None = None) -> Skip:
    return Skip(ServiceId(service.id, service.name), service.ref.tagged, reason, rule)
