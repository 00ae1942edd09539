from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from cdhelper.cli import cli
from cdhelper.errors import InputError
from cdhelper.tags import release_tags

SHA = "3f2a9c1"


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("v1.2.3", ["v1", "v1.2", "v1.2.3", f"v1.2.3_{SHA}"]),
        ("v0.0.1", ["v0", "v0.0", "v0.0.1", f"v0.0.1_{SHA}"]),
        ("v10.20.30", ["v10", "v10.20", "v10.20.30", f"v10.20.30_{SHA}"]),
        ("v1.2.3-rc.1", ["v1.2.3-rc.1", f"v1.2.3-rc.1_{SHA}"]),
        ("v2.0.0-beta", ["v2.0.0-beta", f"v2.0.0-beta_{SHA}"]),
    ],
)
def test_release_tags(version: str, expected: list[str]) -> None:
    assert release_tags(version, SHA) == expected


def test_commit_is_lower_cased() -> None:
    assert release_tags("v1.0.0", "ABCDEF1")[-1] == "v1.0.0_abcdef1"


@pytest.mark.parametrize(
    "version", ["1.2.3", "v1.2", "v01.2.3", "v1.2.3+build", "v1.2.3-", "v1.2.3-rc..1", "TEST", ""]
)
def test_invalid_versions(version: str) -> None:
    with pytest.raises(InputError, match=re.escape(f"invalid version {version!r}")):
        release_tags(version, SHA)


@pytest.mark.parametrize("commit", ["xyz1234", "abc", "g" * 40])
def test_invalid_commits(commit: str) -> None:
    with pytest.raises(InputError, match="invalid commit"):
        release_tags("v1.2.3", commit)


def test_too_long_a_tag() -> None:
    with pytest.raises(InputError, match="not a valid image tag"):
        release_tags("v1.2.3-" + "a" * 130, SHA)


def test_cli(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["tags", "v1.2.3", "--commit", SHA])
    assert result.exit_code == 0
    assert result.stdout == f"v1\nv1.2\nv1.2.3\nv1.2.3_{SHA}\n"
    bad = runner.invoke(cli, ["tags", "1.2.3", "--commit", SHA])
    assert bad.exit_code == 1
    assert bad.stderr.startswith("error: invalid version '1.2.3'")
    assert runner.invoke(cli, ["tags", "v1.2.3"]).exit_code == 2
