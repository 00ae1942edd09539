"""The normalised push event every webhook source yields, and nothing else.

A payload is a *hint* about what was pushed: cdhelper routes on it, and never trusts it for
more than the image, the tag and (where the registry signed off on it) the digest. Reading
payloads is the job of :mod:`cdhelper.sources`, one module per registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cdhelper.reference import ImageRef
from cdhelper.values import format_time, parse_time

# Media types of a multi-platform index: its digest is the one Swarm pins for the tag.
INDEX_MEDIA_TYPES = frozenset(
    {
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.index.v1+json",
    }
)
# Manifest and index media types: a push of one of these with a tag moves the tag.
MANIFEST_MEDIA_TYPES = INDEX_MEDIA_TYPES | {
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
}


@dataclass(frozen=True)
class PushEvent:
    """One tag pushed: the normalised image (with its tag), and the digest when known.

    ``source`` names the webhook source (``dockerhub``, ``ghcr``, ...). ``media_type`` is
    what the payload says the digest is (an index or one platform's manifest), when it says.
    """

    source: str
    image: ImageRef
    digest: str | None
    timestamp: datetime | None
    event_id: str | None
    media_type: str | None = field(default=None, compare=False)

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_MEDIA_TYPES

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "image": self.image.tagged,
            "digest": self.digest,
            "timestamp": format_time(self.timestamp),
            "id": self.event_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PushEvent:
        """Rebuild an event recorded in a plan (already schema-validated)."""
        return cls(
            source=data["source"],
            image=ImageRef.parse(data["image"]),
            digest=data["digest"],
            timestamp=parse_time(data["timestamp"]) if data["timestamp"] else None,
            event_id=data["id"],
        )
