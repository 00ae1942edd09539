"""A Debian base image with python3, pip and venv, made here: no image can be pulled.

``mmdebstrap`` (Debian package) builds a minimal Debian root file system from the Debian
mirror as a tarball, which ``docker import`` turns into an image. The tarball is cached
(``~/.cache/cdhelper-tests``, or ``$CDHELPER_TEST_CACHE``), keyed by what goes into it, so
only the first run pays the minute or two it takes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# The suite whose python3 is the Python running the tests: the wheels the tests build for
# the image are this Python's (compiled ones included).
SUITES = {(3, 11): "bookworm", (3, 12): "trixie", (3, 13): "trixie"}
PACKAGES = ("python3", "python3-pip", "python3-venv")
MIRROR = "http://deb.debian.org/debian"


def cache_dir() -> Path:
    if os.environ.get("CDHELPER_TEST_CACHE"):
        return Path(os.environ["CDHELPER_TEST_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cdhelper-tests"


@dataclass(frozen=True)
class BaseImage:
    suite: str
    mirror: str = MIRROR
    packages: tuple[str, ...] = PACKAGES

    @classmethod
    def for_this_python(cls) -> BaseImage:
        version = sys.version_info[:2]
        if version not in SUITES:
            raise RuntimeError(
                f"no Debian suite known whose python3 is {version[0]}.{version[1]}: "
                f"add it to SUITES in {__file__}"
            )
        return cls(SUITES[version], os.environ.get("CDHELPER_TEST_DEBIAN_MIRROR", MIRROR))

    @property
    def key(self) -> str:
        recipe = json.dumps([self.suite, self.mirror, self.packages, _OPTIONS])
        return hashlib.sha256(recipe.encode()).hexdigest()[:12]

    @property
    def tag(self) -> str:
        return f"cdhelper-test-base:{self.suite}-{self.key}"

    def tarball(self, log: Path) -> Path:
        """The cached root file system; built first if missing (a minute or two)."""
        path = cache_dir() / f"debian-{self.suite}-{self.key}.tar"
        if path.exists():
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.tar")
        with log.open("ab") as out:
            done = subprocess.run(
                [
                    "mmdebstrap",
                    "--variant=minbase",
                    "--format=tar",
                    f"--include={','.join(self.packages)}",
                    *_OPTIONS,
                    self.suite,
                    str(partial),
                    self.mirror,
                ],
                # without a mirror argument mmdebstrap would read sources from stdin
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
                timeout=1200,
            )
        if done.returncode != 0:
            shutil.rmtree(partial, ignore_errors=True)
            partial.unlink(missing_ok=True)
            raise RuntimeError(f"mmdebstrap failed: {log.read_text()[-3000:]}")
        partial.rename(path)  # atomic: a run cut short leaves no half tarball in the cache
        return path


# No recommends (python3-pip's would bring a compiler); no documentation, manuals or
# translations: the image needs none of them.
_OPTIONS = (
    '--aptopt=APT::Install-Recommends "false"',
    "--dpkgopt=path-exclude=/usr/share/doc/*",
    "--dpkgopt=path-exclude=/usr/share/man/*",
    "--dpkgopt=path-exclude=/usr/share/locale/*",
)
