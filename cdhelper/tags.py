"""The image tags of the release convention: ``v1.2.3`` is pushed as v1, v1.2, v1.2.3 and
v1.2.3_<commit>; a pre-release only as itself and itself_<commit>, never moving v1 or v1.2.
"""

from __future__ import annotations

import re

from cdhelper.errors import InputError
from cdhelper.reference import is_valid_tag
from cdhelper.values import shown

_VERSION = re.compile(
    r"v(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?P<pre>-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)
_COMMIT = re.compile(r"[0-9a-fA-F]{7,64}")


def release_tags(version: str, commit: str) -> list[str]:
    """The tags for ``version`` built from ``commit``, most general first."""
    match = _VERSION.fullmatch(version)
    if not match:
        raise InputError(
            f"invalid version {shown(version)}: expected v<major>.<minor>.<patch>, "
            "optionally with a pre-release suffix (v1.2.3, v1.2.3-rc.1)"
        )
    if not _COMMIT.fullmatch(commit):
        raise InputError(f"invalid commit {shown(commit)}: expected 7 to 64 hexadecimal digits")
    major, minor = match["major"], match["minor"]
    tags = [version, f"{version}_{commit.lower()}"]
    if not match["pre"]:
        tags = [f"v{major}", f"v{major}.{minor}", *tags]
    for tag in tags:
        if not is_valid_tag(tag):
            raise InputError(f"{shown(tag)} is not a valid image tag (at most 128 characters)")
    return tags
