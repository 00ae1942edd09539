"""Which Swarm nodes a service may run on, and which of their platforms an image lacks. Pure.

A service may run on every node that is not drained and that its placement allows: its
constraints (``node.platform.os==linux``, ``node.platform.arch!=arm64``, ``node.role``,
``node.hostname``, ``node.id``, ``node.labels.K``, ``engine.labels.K``, as Swarm reads them)
and the platforms its spec lists (``Placement.Platforms``, which ``docker service create``
fills from the image it first deployed). A constraint on something else cannot be judged
here and is taken as met, so the check errs towards reporting a platform as needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from cdhelper.values import Node, Platform


def eligible(
    nodes: Iterable[Node], constraints: Sequence[str], allowed: Sequence[Platform]
) -> list[Node]:
    """The nodes a service with these constraints and platforms may be scheduled on."""
    return [
        node
        for node in nodes
        if node.availability != "drain"
        and all(_meets(node, c) for c in constraints)
        and (not allowed or any(node.platform.runs(p) for p in allowed))
    ]


def missing(nodes: Iterable[Node], image: Sequence[Platform]) -> list[Platform]:
    """The platforms of ``nodes`` that no manifest of the image can run on, sorted."""
    return sorted({n.platform for n in nodes if not any(n.platform.runs(p) for p in image)})


def node_platform(os: str, architecture: str) -> Platform:
    """A node's platform in image terms: the Engine reports ``uname -m`` (``x86_64``,
    ``aarch64``, ``armv7l``), images name Go's (``amd64``, ``arm64``, ``arm`` + ``v7``)."""
    arch, variant = _ARCH.get(architecture.lower(), (architecture.lower(), None))
    return Platform(os.lower(), arch, variant)


_ARCH: dict[str, tuple[str, str | None]] = {
    "x86_64": ("amd64", None),
    "amd64": ("amd64", None),
    "aarch64": ("arm64", None),
    "arm64": ("arm64", None),
    "armv7l": ("arm", "v7"),
    "armv6l": ("arm", "v6"),
    "i386": ("386", None),
    "i686": ("386", None),
}
_JUDGED = ("node.id", "node.hostname", "node.role", "node.platform.os", "node.platform.arch")


def _meets(node: Node, constraint: str) -> bool:
    for op in ("==", "!="):
        key, sep, value = constraint.partition(op)
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if key not in _JUDGED and not key.startswith(("node.labels.", "engine.labels.")):
            return True  # not ours to judge: taken as met
        actual = _attribute(node, key)
        if key == "node.platform.arch":
            equal = node.platform.architecture == node_platform("", value).architecture
        else:
            equal = actual is not None and actual.lower() == value.lower()
        return equal if op == "==" else not equal
    return True


def _attribute(node: Node, key: str) -> str | None:
    if key.startswith("node.labels."):
        return node.labels.get(key.removeprefix("node.labels."))
    if key.startswith("engine.labels."):
        return node.engine_labels.get(key.removeprefix("engine.labels."))
    return {
        "node.id": node.id,
        "node.hostname": node.hostname,
        "node.role": node.role,
        "node.platform.os": node.platform.os,
    }.get(key)
