"""Tiny runnable images built in memory: busybox-static plus a marker file.

No Docker Hub and no ``docker build``: the layers are tar files made here, pushed to the
test registry with plain HTTP, and pulled by the test dockerd like any other image.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

BUSYBOX = Path("/bin/busybox")
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_V1 = "application/vnd.docker.container.image.v1+json"
LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Blob:
    data: bytes
    media_type: str

    @property
    def digest(self) -> str:
        return sha256(self.data)

    def descriptor(self) -> dict[str, object]:
        return {"mediaType": self.media_type, "size": len(self.data), "digest": self.digest}


@dataclass(frozen=True)
class Image:
    """A manifest (or index) and every blob it needs."""

    manifest: bytes
    media_type: str
    blobs: tuple[Blob, ...]
    children: tuple[Image, ...] = ()

    @property
    def digest(self) -> str:
        return sha256(self.manifest)


def _tar(entries: list[tuple[str, bytes | None, str | None, int]]) -> bytes:
    """Deterministic tar: (name, content, symlink target, mode)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, content, link, mode in entries:
            info = tarfile.TarInfo(name)
            info.mode, info.mtime, info.uid, info.gid = mode, 0, 0, 0
            if link is not None:
                info.type, info.linkname = tarfile.SYMTYPE, link
                tar.addfile(info)
            elif content is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


@cache
def _busybox_layer() -> tuple[Blob, str]:
    raw = _tar(
        [
            ("bin", None, None, 0o755),
            ("bin/busybox", BUSYBOX.read_bytes(), None, 0o755),
            ("bin/sh", None, "busybox", 0o777),
            ("bin/sleep", None, "busybox", 0o777),
            ("bin/false", None, "busybox", 0o777),
            ("tmp", None, None, 0o1777),
        ]
    )
    return Blob(gzip.compress(raw, mtime=0), LAYER_GZIP), sha256(raw)


SECOND = 1_000_000_000  # image config durations are in nanoseconds


def image(
    marker: str,
    *,
    cmd: tuple[str, ...] = ("/bin/sleep", "3600"),
    arch: str = "amd64",
    created: str | None = None,
    healthcheck: tuple[str, ...] | None = None,
) -> Image:
    """A runnable linux image whose digest depends on ``marker`` (and config ``created``).

    ``healthcheck``: a ``CMD`` the image's health check runs every second (one retry).
    """
    base, base_diff = _busybox_layer()
    raw = _tar([("marker", marker.encode(), None, 0o644)])
    top = Blob(gzip.compress(raw, mtime=0), LAYER_GZIP)
    config: dict[str, Any] = {
        "architecture": arch,
        "os": "linux",
        "config": {"Cmd": list(cmd), "Env": ["PATH=/bin"], **_health(healthcheck)},
        "rootfs": {"type": "layers", "diff_ids": [base_diff, sha256(raw)]},
        "history": [{"created_by": "cdhelper tests"}, {"created_by": f"marker {marker}"}],
        **({"created": created} if created else {}),
    }
    config_blob = Blob(json.dumps(config, sort_keys=True).encode(), CONFIG_V1)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_V2,
        "config": config_blob.descriptor(),
        "layers": [base.descriptor(), top.descriptor()],
    }
    return Image(json.dumps(manifest, indent=3).encode(), MANIFEST_V2, (config_blob, base, top))


def exits_at_once(marker: str, code: int = 3) -> Image:
    """An image whose command exits at once with ``code``: Swarm restarts it over and over."""
    return image(marker, cmd=("/bin/sh", "-c", f"exit {code}"))


def unhealthy(marker: str) -> Image:
    """An image that keeps running but whose health check always fails."""
    return image(marker, healthcheck=("/bin/false",))


def _health(test: tuple[str, ...] | None) -> dict[str, object]:
    if test is None:
        return {}
    return {
        "Healthcheck": {
            "Test": ["CMD", *test],
            "Interval": SECOND,
            "Timeout": SECOND,
            "Retries": 1,
            "StartPeriod": 0,
        }
    }


def index(marker: str, arches: tuple[str, ...] = ("amd64", "arm64")) -> Image:
    """An OCI index over one image per architecture."""
    children = tuple(image(f"{marker}-{arch}", arch=arch) for arch in arches)
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": child.media_type,
                "size": len(child.manifest),
                "digest": child.digest,
                "platform": {"architecture": arch, "os": "linux"},
            }
            for child, arch in zip(children, arches, strict=True)
        ],
    }
    return Image(json.dumps(document).encode(), OCI_INDEX, (), children)
