from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

import pytest
import yaml

from cdhelper import plan, signing
from cdhelper.errors import ConfigError, InputError
from cdhelper.inventory import Target
from cdhelper.planner import plan_webhook
from cdhelper.reference import ImageRef

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


def test_not_yaml() -> None:
    with pytest.raises(InputError, match="p.yaml: not valid YAML: .* at line"):
        plan.loads("a: [b", "p.yaml")


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("- 1", "it is a list, not a mapping"),
        ("", "it is empty"),
        ("just text", "it is 'just text', not a mapping"),
        ('{"push_data": {"tag": "v1"}}', "it has no format"),
        ("format: cdhelper-inventory\nservices: []", "its format is 'cdhelper-inventory'"),
        ("format: terraform", "its format is 'terraform'"),
    ],
    ids=["list", "empty", "text", "payload", "snapshot", "other-format"],
)
def test_what_is_not_a_plan_is_said_in_one_line(text: str, found: str) -> None:
    with pytest.raises(InputError) as info:
        plan.loads(text, "p.yaml")
    assert str(info.value) == (
        f"p.yaml: not a cdhelper plan: {found} "
        "(a plan is the YAML `cdhelper plan` writes, format: cdhelper-plan)"
    )


def test_bad_image_in_a_tampered_plan() -> None:
    data = yaml.safe_load(plan.dumps(sample()))
    data["events"][0]["image"] = "example.com/App:v1"
    with pytest.raises(
        InputError,
        match=r"p.yaml: not a valid cdhelper plan\n  - \$.events\[0\].image: invalid repository",
    ):
        plan.loads(yaml.safe_dump(data), "p.yaml")


def test_load_from_file(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(plan.dumps(sample()))
    assert plan.load(str(path)).has_changes


D = "sha256:" + "2" * 64


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            lambda d: d["actions"][0].update(tag="v2"),
            "$.actions[0].tag: 'v2' is not the tag of $.actions[0].image ('v1')",
        ),
        (
            lambda d: d["actions"][0].update(image="r.io/app:v2", spec_image="r.io/app:v2"),
            "$.actions[0].tag: 'v1' is not the tag of $.actions[0].image ('v2')",
        ),
        (
            lambda d: d["actions"][0].update(spec_image="evil.io/app:v1"),
            "$.actions[0].spec_image: names 'evil.io/app:v1', "
            "but $.actions[0].image is 'r.io/app:v1'",
        ),
        (
            lambda d: d["actions"][0].update(spec_image=f"r.io/app:v1@{D}"),
            "$.actions[0].spec_image: 'r.io/app:v1@sha256:",
        ),
        (
            lambda d: d["actions"][0].update(image="R.io/app:v1"),
            "$.actions[0].image: expected the normalised registry/repository:tag (r.io/app:v1)",
        ),
        (
            lambda d: d["actions"][0].update(target_digest="sha256:" + "A" * 64),
            "$.actions[0].target_digest: 'sha256:AAAA",
        ),
        (
            lambda d: d["actions"][0].update(current_digest="sha512:" + "a" * 128),
            "$.actions[0].current_digest: 'sha512:",
        ),
        (
            lambda d: d["actions"][0].update(target_digest=D + "\n"),
            "$.actions[0].target_digest: 'sha256:2222",
        ),
        (lambda d: d["actions"][0].update(tag="v1\n"), "$.actions[0].tag: 'v1\\n' does not match"),
        (lambda d: d["actions"][0].update(events=[5]), "$.actions[0].events[0]: no event 5"),
        (lambda d: d["events"][0].update(index=3), "$.events[0].index: expected 0, got 3"),
        (
            lambda d: d["actions"].append(copy.deepcopy(d["actions"][0])),
            "$.actions[1].service.id: service 'id-a' is planned twice (also $.actions[0])",
        ),
        (
            lambda d: d["actions"][0]["service"].update(name="a\n  ~ other"),
            "$.actions[0].service.name: 'a\\n  ~ other' does not match",
        ),
        (
            lambda d: d.update(signature={"algorithm": "md5", "value": "0" * 64}),
            '$.signature.algorithm: expected "hmac-sha256", got "md5"',
        ),
    ],
    ids=[
        "tag-differs",
        "image-tag-differs",
        "spec-image-elsewhere",
        "spec-image-digest",
        "image-not-normalised",
        "upper-case-digest",
        "sha512",
        "digest-newline",
        "tag-newline",
        "unknown-event",
        "event-index",
        "service-twice",
        "control-character-name",
        "signature-algorithm",
    ],
)
def test_what_is_reviewed_is_what_runs(edit: object, expected: str) -> None:
    data = yaml.safe_load(plan.dumps(sample()))
    edit(data)  # type: ignore[operator]
    with pytest.raises(InputError) as info:
        plan.loads(yaml.safe_dump(data), "p.yaml")
    assert str(info.value).startswith("p.yaml: not a valid cdhelper plan\n")
    assert any(p.startswith(expected) for p in info.value.problems), info.value.problems


KEY = b"k3y-for-tests"


def test_signed_plan_round_trips_and_verifies() -> None:
    text = plan.dumps(sample(), KEY)
    data = yaml.safe_load(text)
    assert list(data)[-1] == "signature"
    assert data["signature"]["algorithm"] == "hmac-sha256"
    assert KEY.decode() not in text
    loaded = plan.loads(text, "p.yaml", KEY)
    assert loaded == sample()
    assert loaded.signature is signing.Check.VALID
    plan.require_signature(loaded, "p.yaml", KEY)
    assert plan.loads(text, "p.yaml").signature is signing.Check.NOT_CHECKED


def test_signature_covers_every_value_but_not_the_layout() -> None:
    data = yaml.safe_load(plan.dumps(sample(), KEY))
    relaid = "# reviewed\n" + yaml.safe_dump(data, default_flow_style=True)
    assert plan.loads(relaid, "p.yaml", KEY).signature is signing.Check.VALID
    data["actions"][0]["reason"] = "edited after review"
    changed = plan.loads(yaml.safe_dump(data), "p.yaml", KEY)
    assert changed.signature is signing.Check.INVALID
    with pytest.raises(InputError) as info:
        plan.require_signature(changed, "p.yaml", KEY)
    assert str(info.value) == (
        "p.yaml: $.signature: refusing the plan: the signature does not match its content: "
        "it was changed after it was signed, or signed with another key. Nothing was changed."
    )


def test_other_key_and_unsigned_plans_are_refused_with_a_key() -> None:
    signed = plan.loads(plan.dumps(sample(), KEY), "p.yaml", b"another key")
    assert signed.signature is signing.Check.INVALID
    unsigned = plan.loads(plan.dumps(sample()), "p.yaml", KEY)
    assert unsigned.signature is signing.Check.UNSIGNED
    with pytest.raises(InputError, match="p.yaml: refusing an unsigned plan: CDHELPER_PLAN_KEY"):
        plan.require_signature(unsigned, "p.yaml", KEY)
    plan.require_signature(unsigned, "p.yaml", None)


def test_canonical_content_is_sorted_compact_utf8() -> None:
    assert signing.canonical({"b": "é", "a": [1, None], "signature": {}}) == (
        '{"a":[1,null],"b":"é"}'.encode()
    )


@pytest.mark.parametrize("value", ["", "  "])
def test_an_empty_key_is_an_error(value: str) -> None:
    with pytest.raises(ConfigError, match="CDHELPER_PLAN_KEY is set but empty"):
        signing.key_from_environment({"CDHELPER_PLAN_KEY": value})
    assert signing.key_from_environment({}) is None
    assert signing.key_from_environment({"CDHELPER_PLAN_KEY": "\udcff"}) == b"\xff"


def test_many_inconsistencies_are_bounded() -> None:
    data = yaml.safe_load(plan.dumps(sample()))
    action = data["actions"][0]
    data["actions"] = [
        {**copy.deepcopy(action), "service": {"id": f"s{i}", "name": "a"}, "tag": "x"}
        for i in range(1100)
    ]
    with pytest.raises(InputError) as info:
        plan.loads(yaml.safe_dump(data), "p.yaml")
    assert len(info.value.problems) == 21
    assert info.value.problems[-1] == "and at least 980 more"


def test_each_image_of_a_plan_is_parsed_once() -> None:
    """Counted, not timed: 500 actions on one image parse it (and its spec image) once."""
    data = yaml.safe_load(plan.dumps(sample()))
    action = data["actions"][0]
    data["actions"] = [
        {**copy.deepcopy(action), "service": {"id": f"s{i}", "name": f"n{i}"}} for i in range(500)
    ]
    parse = ImageRef.parse
    with mock.patch.object(ImageRef, "parse", side_effect=parse) as counted:
        loaded = plan.loads(yaml.safe_dump(data), "p.yaml")
    assert len(loaded.actions) == 500
    # once for the consistency check (event, images and spec images alike), once for the
    # event record: not once per action
    assert [call.args for call in counted.call_args_list] == [("r.io/app:v1",)] * 2
