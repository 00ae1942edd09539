"""Revert plans: the report of an apply, turned into a plan that undoes its redeploys.

Each service the apply left on another digest gets an action back to the digest it ran
before (the report records both, and the service as it was when its action ended). The
result is an ordinary plan: shown, reviewed and applied like any other, and refused by
``apply`` when a service changed since the apply (its spec fingerprint and pinned digest
are the ones the report recorded).

Swarmpit targets cannot be reverted this way: Swarmpit redeploys whatever a tag points
to now and cannot deploy the digest a service ran before.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cdhelper import documents
from cdhelper.errors import ConfigError, InputError
from cdhelper.inventory import Target
from cdhelper.plan import Action, Mode, Plan, ServiceId, Skip
from cdhelper.reference import ImageRef, short_digest

_UNCHANGED = {
    "already-done": "the apply found it already on its target",
    "not-applied": "the apply did not touch it",
    "stale": "the apply did not touch it (stale)",
    "would-redeploy": "a dry run touched nothing",
}


def load_report(path: str) -> Mapping[str, Any]:
    """An apply report (``--report``), validated against its schema."""
    where = documents.display_name(path)
    data = documents.parse_json(documents.read_text(path), where)
    if isinstance(data, dict) and data.get("format_version") == 1:
        raise InputError(
            f"{where}: $.format_version: a report of format 1 does not record the state the "
            "apply left: re-run the apply with this cdhelper, or plan the way back by hand"
        )
    documents.validate(data, "apply-report", where, "cdhelper apply report")
    assert isinstance(data, dict)
    return data


def revert_plan(report: Mapping[str, Any], now: datetime) -> Plan:
    """The plan that returns every service the apply moved to the digest it ran before."""
    target = Target.from_dict(report["target"])
    if target.kind == "swarmpit":
        raise ConfigError(
            "cannot revert through Swarmpit: it redeploys whatever a tag points to now, "
            "never a digest a service ran before; revert through the Docker Engine of the "
            "same Swarm (an apply report made with --docker-host), or move the tag back"
        )
    actions: list[Action] = []
    skipped: list[Skip] = []
    for result in report["results"]:
        way_back = _way_back(result, report["plan"])
        if isinstance(way_back, Action):
            actions.append(way_back)
        else:
            skipped.append(way_back)
    return Plan(
        mode=Mode.REVERT,
        target=target,
        events=(),
        actions=tuple(actions),
        skipped=tuple(skipped),
        warnings=(),
        created_at=now,
    )


def _way_back(result: Mapping[str, Any], plan_path: str) -> Action | Skip:
    service = ServiceId(**result["service"])
    outcome, before, after = result["outcome"], result["digest_before"], result["after"]

    def skip(reason: str) -> Skip:
        return Skip(service, result["image"], reason)

    if outcome in _UNCHANGED:
        return skip(f"not reverted: {_UNCHANGED[outcome]}")
    if outcome == "rolled-back":
        return skip("not reverted: the apply rolled it back already")
    if after is None:
        return skip(f"not reverted: the apply ({outcome}) could not say what it left: check it")
    if before is None:
        return skip(
            "not reverted: it ran no pinned digest before the apply, nothing exact to go to"
        )
    if after["digest"] == before:
        return skip(f"not reverted: it runs {short_digest(before)} again already")
    reason = f"revert: back to the digest it ran before the apply of {plan_path} ({outcome})"
    return _back(service, result, after, before, reason)


def _back(
    service: ServiceId,
    result: Mapping[str, Any],
    after: Mapping[str, Any],
    before: str,
    reason: str,
) -> Action:
    """The action back to ``before``; after a tag change (semver), to the old tag too."""
    old = ImageRef.parse(result["current_image"]) if result.get("current_image") else None
    if old is None or old.tag is None:
        return Action(
            service=service,
            image=result["image"],
            spec_image=after["image"],
            tag=result["tag"],
            current_digest=after["digest"],
            target_digest=before,
            version=after["version"],
            fingerprint=after["fingerprint"],
            reason=reason,
        )
    return Action(
        service=service,
        image=old.tagged,
        spec_image=result["current_image"],
        tag=old.tag,
        current_digest=after["digest"],
        target_digest=before,
        version=after["version"],
        fingerprint=after["fingerprint"],
        reason=reason.replace("to the digest", f"to tag {old.tag} and the digest", 1),
        current_image=after["image"],
    )
