from __future__ import annotations

import pytest

from cdhelper import versions
from cdhelper.versions import SemverRange

TAGS = [
    "v1.4.0",
    "v1.4.2",
    "v1.4.3-rc.1",
    "v1.5.0",
    "v2.0.0",
    "v1",
    "v1.5",
    "TEST",
    "latest",
    "v1.5.0_0123abc",
    "v1.6.0_deadbee",
]


@pytest.mark.parametrize(
    ("tag", "is_version"),
    [
        ("v1.2.3", True),
        ("1.2.3", True),
        ("v1.2.3-rc.1", True),
        ("v1", False),
        ("v1.2", False),
        ("v1.2.3_abc1234", False),
        ("TEST", False),
        ("latest", False),
        ("v01.2.3", False),
        ("vv1.2.3", False),
    ],
)
def test_only_full_versions_count(tag: str, is_version: bool) -> None:
    assert (versions.version(tag) is not None) is is_version


@pytest.mark.parametrize(
    ("text", "highest"),
    [
        ("^1.4", "v1.5.0"),
        ("~1.4", "v1.4.2"),
        ("~1.4.2", "v1.4.2"),
        (">=1.2 <2", "v1.5.0"),
        ("^2", "v2.0.0"),
        ("^3", None),
        (">=1.4.3-rc.0 <1.4.4", "v1.4.3-rc.1"),  # names a pre-release: admits it
        ("~1.4.3", None),  # 1.4.3-rc.1 is below 1.4.3, and no pre-release is named
    ],
)
def test_highest_in_range(text: str, highest: str | None) -> None:
    assert SemverRange.parse(text).highest(TAGS) == highest


def test_bad_ranges_and_labels() -> None:
    for bad in ("", "latest", "^^1"):
        with pytest.raises(ValueError, match="semver range"):
            SemverRange.parse(bad)
    assert versions.policy({"cdhelper.policy": "semver:^1.4"}) == "^1.4"
    assert versions.policy({"cdhelper.policy": "other"}) is None
    assert versions.policy({}) is None


def test_ties_and_comparison() -> None:
    assert SemverRange.parse("^1").highest(["1.5.0", "v1.5.0"]) == "v1.5.0"
    assert versions.compare("v1.10.0", "v1.9.0") > 0
    assert versions.compare("v1.4.3-rc.1", "v1.4.3") < 0
