from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from cdhelper import plan
from cdhelper.errors import InputError
from cdhelper.inventory import Target
from cdhelper.planner import plan_webhook

from helpers import digest, push, service

WHEN = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def sample(created_at: datetime = WHEN) -> plan.Plan:
    events = [push("r.io/app:v1", digest("2"), at=100)]
    services = [service("a", "r.io/app:v1", digest("1")), service("b", "r.io/app:v1", digest("2"))]
    body = plan_webhook(events, services)
    return plan.Plan(
        mode=plan.Mode.WEBHOOK,
        target=Target("swarmpit", "http://sp:8080"),
        events=tuple(events),
        actions=body.actions,
        skipped=body.skipped,
        warnings=("a warning",),
        created_at=created_at,
    )


def test_round_trip() -> None:
    original = sample()
    again = plan.loads(plan.dumps(original), "p.yaml")
    assert again == original


def test_same_inputs_same_bytes_but_the_time() -> None:
    one = plan.dumps(sample()).splitlines()
    two = plan.dumps(sample(datetime(2027, 1, 1, tzinfo=UTC))).splitlines()
    assert [i for i, (a, b) in enumerate(zip(one, two, strict=True)) if a != b] == [3]
    assert one[3].startswith("created_at:")


def test_plan_holds_the_documented_fields() -> None:
    data = yaml.safe_load(plan.dumps(sample()))
    assert list(data) == [
        "format",
        "format_version",
        "cdhelper_version",
        "created_at",
        "mode",
        "target",
        "events",
        "actions",
        "skipped",
        "warnings",
    ]
    [action] = data["actions"]
    assert action["service"] == {"id": "id-a", "name": "a"}
    assert action["image"] == "r.io/app:v1"
    assert action["target_digest"] == digest("2")
    assert action["version"] == 10
    assert data["skipped"][0]["reason"].startswith("up to date")


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d.pop("actions"), "$: 'actions' is a required property"),
        (lambda d: d["actions"][0].update(version="x"), "$.actions[0].version: expected integer"),
        (
            lambda d: d["actions"][0].update(target_digest="latest"),
            "$.actions[0].target_digest: 'latest' does not match",
        ),
        (
            lambda d: d.update(mode="yolo"),
            '$.mode: expected one of "webhook", "smart", "revert", got "yolo"',
        ),
        (
            lambda d: d["target"].update(token="s3cret"),
            "$.target: Additional properties are not allowed ('token' was unexpected)",
        ),
        (lambda d: d.update(format="terraform"), '$.format: expected "cdhelper-plan"'),
    ],
)
def test_invalid_plans_are_refused_with_paths(edit: object, expected: str) -> None:
    data = yaml.safe_load(plan.dumps(sample()))
    edit(data)  # type: ignore[operator]
    with pytest.raises(InputError) as info:
        plan.loads(yaml.safe_dump(data), "p.yaml")
    assert str(info.value).startswith("p.yaml: not a valid cdhelper plan")
    assert expected in str(info.value)
    assert "s3cret" not in str(info.value)


def test_newer_format_is_refused() -> None:
    data = yaml.safe_load(plan.dumps(sample()))
    data["format_version"] = 2
    with pytest.raises(InputError, match=r"\$.format_version: plan format 2 is newer"):
        plan.loads(yaml.safe_dump(data), "p.yaml")


def test_not_yaml_and_not_a_mapping() -> None:
    with pytest.raises(InputError, match="p.yaml: not valid YAML: .* at line"):
        plan.loads("a: [b", "p.yaml")
    with pytest.raises(InputError, match="expected object, got array"):
        plan.loads("- 1", "p.yaml")


def test_bad_image_in_a_tampered_plan() -> None:
    data = yaml.safe_load(plan.dumps(sample()))
    data["events"][0]["image"] = "NOT VALID"
    with pytest.raises(InputError, match="p.yaml: not a valid cdhelper plan: invalid"):
        plan.loads(yaml.safe_dump(data), "p.yaml")


def test_load_from_file(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(plan.dumps(sample()))
    assert plan.load(str(path)).has_changes
