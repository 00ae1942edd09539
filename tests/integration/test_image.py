"""The Dockerfile builds and its image runs, on the private dockerd.

No base image can be pulled here: the base is a Debian root file system made with
``mmdebstrap`` (cached, see ``baseimage.py``), passed as the ``BASE`` build argument. The
build is offline (``--network none``): the wheels are made here first, with this machine's
pip configuration, and handed to pip in the build through its own ``PIP_*`` variables.
The build stage runs the unit tests, so a passing build also proves the image's tests pass.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from cdhelper import __version__

from baseimage import BaseImage
from servers import Dockerd, _docker_cli, wait_until

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
TAG = "cdhelper:image-test"
# what .dockerignore keeps out, and what a working tree may hold besides
_NOT_CONTEXT = shutil.ignore_patterns(
    *(".git", ".tox", ".venv*", "__pycache__", "*.egg-info", "build", "dist", "site"),
    *(".*_cache", ".hypothesis", ".coverage", ".cdhelper-demo", "wheels"),
)


@pytest.fixture(scope="module")
def builder(dockerd: Dockerd) -> Dockerd:
    if shutil.which("mmdebstrap") is None:
        message = "mmdebstrap (Debian package) is missing: it makes the image's base"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (see tests/integration/install-servers.sh)")
        pytest.skip(message)
    return dockerd


def docker(daemon: Dockerd, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_docker_cli(), "-H", daemon.host, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        # the daemon's classic builder: its output is plain text, and it needs no buildx
        env={**os.environ, "DOCKER_BUILDKIT": "0"},
    )


@pytest.fixture(scope="module")
def base(builder: Dockerd, tmp_path_factory: pytest.TempPathFactory) -> str:
    recipe = BaseImage.for_this_python()
    tarball = recipe.tarball(tmp_path_factory.mktemp("base") / "mmdebstrap.log")
    done = docker(builder, "import", str(tarball), recipe.tag)
    assert done.returncode == 0, done.stderr
    return recipe.tag


@pytest.fixture(scope="module")
def image(builder: Dockerd, base: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    context = tmp_path_factory.mktemp("context") / "cdhelper"
    shutil.copytree(ROOT, context, ignore=_NOT_CONTEXT)
    # every wheel the build needs (the build requirements too), made with this machine's
    # pip configuration; the build then installs from them alone, offline
    wheels = context / "wheels"
    made = subprocess.run(
        [
            sys.executable,
            *("-m", "pip", "wheel", "--quiet", "--wheel-dir", str(wheels)),
            f"{context}[test]",
            *_build_requirements(),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert made.returncode == 0, made.stderr[-3000:]
    for own in wheels.glob("cdhelper-*.whl"):
        own.unlink()  # the build makes cdhelper's wheel from the context's source
    for leftover in ("build", "cdhelper.egg-info"):
        shutil.rmtree(context / leftover, ignore_errors=True)
    started = time.monotonic()
    built = docker(
        builder,
        *("build", "--network", "none", "--tag", TAG),
        *("--build-arg", f"BASE={base}"),
        *("--build-arg", "PIP_NO_INDEX=1", "--build-arg", "PIP_FIND_LINKS=/src/wheels"),
        str(context),
        timeout=900,
    )
    assert built.returncode == 0, built.stdout[-6000:] + built.stderr[-3000:]
    # the test stage ran the unit tests
    assert " passed" in built.stdout
    assert " failed" not in built.stdout
    print(f"image built in {time.monotonic() - started:.0f} s")
    yield TAG
    docker(builder, "rmi", "--force", TAG)


def _build_requirements() -> list[str]:
    text = (ROOT / "pyproject.toml").read_text()
    section = text.split("[build-system]", 1)[1].split("\n[", 1)[0]
    line = next(row for row in section.splitlines() if row.startswith("requires"))
    requirements: list[str] = json.loads(line.split("=", 1)[1])
    return requirements


def run(daemon: Dockerd, image: str, *args: str, options: tuple[str, ...] = ()) -> Any:
    return docker(daemon, "run", "--rm", "--network", "none", *options, image, *args)


def test_the_image_runs_cdhelper_as_a_user_who_is_not_root(builder: Dockerd, image: str) -> None:
    version = run(builder, image, "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout == f"cdhelper, version {__version__}\n"
    [config] = json.loads(docker(builder, "image", "inspect", image).stdout)
    assert config["Config"]["Entrypoint"] == ["cdhelper"]
    assert config["Config"]["User"] == "cdhelper"
    ids = run(builder, image, options=("--entrypoint", "id"))
    # deploy/stack.yml's volume relies on this user and its home
    assert ids.stdout == "uid=10001(cdhelper) gid=10001(cdhelper) groups=10001(cdhelper)\n"
    helped = run(builder, image)  # no arguments: the help
    assert helped.returncode == 0
    assert helped.stdout.startswith("Usage: cdhelper [OPTIONS] COMMAND [ARGS]...")


def test_the_image_plans_on_the_bundled_examples(builder: Dockerd, image: str) -> None:
    planned = run(
        builder,
        image,
        *("plan", "--event", "/examples/webhook-dockerhub-push.json"),
        *("--inventory", "/examples/inventory-swarmpit.json"),
        options=("--volume", f"{EXAMPLES}:/examples:ro"),
    )
    assert planned.returncode == 0, planned.stderr
    plan = yaml.safe_load(planned.stdout)
    assert plan["format"] == "cdhelper-plan"
    assert [a["service"]["name"] for a in plan["actions"]] == ["int_cd-helper"]
    assert planned.stderr == "1 to redeploy, 0 skipped\n"


def test_the_image_reads_the_docker_socket_it_is_given(builder: Dockerd, image: str) -> None:
    """The documented use: the socket mounted, its group added (it differs per host)."""
    # a service needs no image that exists to be listed
    builder.docker(
        *("service", "create", "--detach", "--no-resolve-image"),
        *("--name", "image-socket-test", "127.0.0.1:9/nowhere:v1"),
    )
    group = str(builder.socket.stat().st_gid)
    mounted = ("--volume", f"{builder.socket}:/var/run/docker.sock")
    args = ("inventory", "--docker-host", "unix:///var/run/docker.sock")
    refused = run(builder, image, *args, options=mounted)
    assert refused.returncode == 1  # not root, not in the socket's group
    assert "Permission denied" in refused.stderr
    assert "Traceback" not in refused.stderr
    listed = run(builder, image, *args, options=(*mounted, "--group-add", group))
    assert listed.returncode == 0, listed.stderr
    builder.docker("service", "rm", "image-socket-test")
    services = json.loads(listed.stdout)["services"]
    assert [s["image"] for s in services if s["name"] == "image-socket-test"] == [
        "127.0.0.1:9/nowhere:v1"
    ]


def test_the_image_serves_the_inbox_as_deploy_stack_yml_runs_it(
    builder: Dockerd, image: str, tmp_path: Path
) -> None:
    stack = yaml.safe_load((ROOT / "deploy" / "stack.yml").read_text())
    inbox = stack["services"]["inbox"]
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "cdhelper.yaml").write_text(
        yaml.safe_dump(
            {
                "listen": "127.0.0.1:9",  # the command's --listen wins, as in the stack
                "state": "/home/cdhelper/state",
                "coalesce_seconds": 1,
                "max_batch_seconds": 5,
                "sources": [{"name": "hub", "type": "dockerhub", "token_env": "HUB_TOKEN"}],
                "environments": [
                    {
                        "name": "int",
                        "services": {"file": "/examples/inventory-swarmpit.json"},
                        "dispatch": {"type": "plans", "dir": "/home/cdhelper/plans"},
                    }
                ],
            }
        )
    )
    config_dir.chmod(0o755)
    (config_dir / "cdhelper.yaml").chmod(0o644)
    [mounted] = inbox["configs"]
    [volume] = inbox["volumes"]
    name = f"cdhelper-inbox-{os.getpid()}"
    started = docker(
        builder,
        *("run", "--detach", "--name", name, "--network", "none"),
        *("--env", "HUB_TOKEN=image-test-hook-token"),
        *("--volume", f"{config_dir / 'cdhelper.yaml'}:{mounted['target']}:ro"),
        *("--volume", f"{EXAMPLES}:/examples:ro"),
        *("--volume", f"cdhelper-image-test-state:{volume['target']}"),
        image,
        *inbox["command"],
    )
    assert started.returncode == 0, started.stderr
    try:
        # the stack's own health check, run in the container as Swarm would
        health = inbox["healthcheck"]["test"][1:]
        wait_until(lambda: docker(builder, "exec", name, *health).returncode == 0, 30, "the inbox")
        post = (
            "import sys, urllib.request; r = urllib.request.urlopen(urllib.request.Request("
            "'http://127.0.0.1:8080/hooks/hub/image-test-hook-token', data=sys.stdin.buffer.read(),"
            " method='POST'), timeout=5); print(r.status, r.read().decode())"
        )
        payload = (EXAMPLES / "webhook-dockerhub-push.json").read_bytes()
        answered = subprocess.run(
            [_docker_cli(), "-H", builder.host, "exec", "-i", name, "python", "-c", post],
            input=payload,
            capture_output=True,
            timeout=30,
            check=False,
        )
        assert answered.stdout.decode().startswith('202 {"delivery":1,"events":1}'), answered

        def plans() -> list[str]:
            return docker(builder, "exec", name, "ls", "/home/cdhelper/plans").stdout.split()

        [plan_name] = wait_until(plans, 30, "the inbox's plan")
        shown = docker(builder, "exec", name, "cat", f"/home/cdhelper/plans/{plan_name}")
        assert [a["service"]["name"] for a in yaml.safe_load(shown.stdout)["actions"]] == [
            "int_cd-helper"
        ]
    finally:
        logs = docker(builder, "logs", name)
        docker(builder, "rm", "--force", name)
        docker(builder, "volume", "rm", "cdhelper-image-test-state")
    assert "Traceback" not in logs.stderr
