"""Semver ranges for services that follow a range instead of one tag. Pure.

A service labelled ``cdhelper.policy=semver:RANGE`` follows the highest version tag in
RANGE (npm's range syntax: ``^1.4``, ``~1.4.2``, ``>=1.2 <2``, ``1.x``, ``||``), read
with the ``node-semver`` package (a maintained port of npm's own ``semver``). Only tags
that are full versions count: ``[v]MAJOR.MINOR.PATCH[-PRERELEASE]``; the release
convention's moving tags (``v1``, ``v1.5``), its build tags (``v1.2.3_<commit>``) and
``TEST`` are not versions. As in npm, a pre-release satisfies a range only when the range
names a pre-release of the same MAJOR.MINOR.PATCH (``>=1.4.3-rc.0 <1.5``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

POLICY_LABEL = "cdhelper.policy"
SEMVER_POLICY = "semver:"


def _semver() -> Any:
    """node-semver, loaded with the first version read (~10 ms): a plan of services that
    follow no range never imports it."""
    import nodesemver  # type: ignore[import-untyped]  # noqa: PLC0415

    return nodesemver


def version(tag: str) -> Any | None:
    """The version a tag names, or None when it is not a full version."""
    text = tag[1:] if tag.startswith("v") else tag
    if "+" in text or not text[:1].isdigit():
        return None
    try:
        return _semver().make_semver(text, loose=False)
    except (ValueError, TypeError):
        return None


def compare(a: str, b: str) -> int:
    """<0, 0, >0 as version tag ``a`` is lower, equal or higher than ``b`` (both versions)."""
    found = _semver().compare(version(a), version(b), False)
    return int(found)


@dataclass(frozen=True)
class SemverRange:
    text: str
    _range: Any

    @classmethod
    def parse(cls, text: str) -> SemverRange:
        if not text.strip():
            raise ValueError("empty semver range: expected e.g. ^1.4, ~1.4.2 or >=1.2 <2")
        try:
            parsed = _semver().make_range(text, loose=False)
        except (ValueError, TypeError):
            raise ValueError(
                f"invalid semver range {text!r}: expected e.g. ^1.4, ~1.4.2 or >=1.2 <2"
            ) from None
        return cls(text, parsed)

    def admits(self, tag: str) -> bool:
        found = version(tag)
        return found is not None and bool(self._range.test(found))

    def highest(self, tags: Iterable[str]) -> str | None:
        """The highest version tag in the range (``v1.5.0`` before ``1.5.0`` on a tie)."""
        admitted = [tag for tag in tags if self.admits(tag)]
        return max(admitted, key=_sort_key) if admitted else None


def _order(a: str, b: str) -> int:
    return compare(a, b) or (a > b) - (a < b)


_sort_key = functools.cmp_to_key(_order)


def policy(labels: Mapping[str, str]) -> str | None:
    """The service's semver range text, when its policy label names one."""
    value = labels.get(POLICY_LABEL, "").strip()
    return value.removeprefix(SEMVER_POLICY).strip() if value.startswith(SEMVER_POLICY) else None
