"""``show`` presents every field ``apply`` acts on, in every format, and nothing can fake a
line of the review."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from cdhelper import report
from cdhelper.inventory import Target
from cdhelper.plan import Mode, Plan, ServiceId, Skip

from helpers import digest, make_action, push

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


def sample() -> Plan:
    action = make_action("a", target=digest("2"))
    return Plan(
        Mode.WEBHOOK,
        Target("docker", "unix:///run/docker.sock", "c1uster"),
        (push("r.io/app:v1", digest("2"), at=1),),
        (replace(action, reason="pushed\n  ~ evil (x)  fake line\x1b[2K"),),
        (Skip(ServiceId("c", "c"), "r.io/app:v1", "opted out\nwarning: fake"),),
        ("a warning\n  ~ another fake",),
        NOW,
    )


def test_text_shows_what_apply_sends() -> None:
    text = report.plan_text(sample())
    assert "for docker at unix:///run/docker.sock, Swarm cluster c1uster\n" in text
    assert f"spec image r.io/app:v1, tag v1, target digest {digest('2')}\n" in text
    assert "      pushed ~ evil (x) fake line\\x1b[2K\n" in text
    assert "opted out warning: fake\n" in text
    assert "warning: a warning ~ another fake\n" in text
    assert [line for line in text.splitlines() if line.lstrip().startswith("~")] == [
        line for line in text.splitlines() if line.startswith("  ~ a (a)")
    ]


def test_text_without_target_digest_says_so() -> None:
    plan = sample()
    plan = replace(plan, actions=(replace(plan.actions[0], target_digest=None),))
    assert "target digest none (the digest the tag points to at apply time)" in (
        report.plan_text(plan)
    )


def test_markdown_shows_what_apply_sends() -> None:
    text = report.plan_markdown(sample())
    assert "· cluster `c1uster` ·" in text
    assert f"- a (a): spec image r.io/app:v1, tag v1, target digest {digest('2')}\n" in text
    assert "\x1b" not in text


def test_json_holds_every_field() -> None:
    data = json.loads(report.render_plan(sample(), report.Format.JSON))
    action = data["actions"][0]
    assert {k: action[k] for k in ("spec_image", "tag", "target_digest", "fingerprint")} == {
        "spec_image": "r.io/app:v1",
        "tag": "v1",
        "target_digest": digest("2"),
        "fingerprint": sample().actions[0].fingerprint,
    }
    assert data["target"]["cluster"] == "c1uster"


@pytest.mark.parametrize("fmt", list(report.Format))
def test_every_format_renders(fmt: report.Format) -> None:
    assert report.render_plan(sample(), fmt)
