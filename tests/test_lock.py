from __future__ import annotations

import fcntl
import tempfile
import threading
from pathlib import Path

import pytest

from cdhelper import deadline as deadlines
from cdhelper import lock
from cdhelper.errors import ConfigError, DeadlineError
from cdhelper.inventory import Target

SWARMPIT = Target("swarmpit", "http://127.0.0.1:8888")


@pytest.fixture(autouse=True)
def _runtime_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))


def test_one_lock_per_target_and_per_swarm_cluster(tmp_path: Path) -> None:
    path = lock.lock_path(SWARMPIT)
    assert Path(path).parent == tmp_path and Path(path).name.startswith("cdhelper-apply-")
    assert lock.lock_path(Target("swarmpit", "http://127.0.0.1:9999")) != path
    a = Target("docker", "tcp://10.0.0.1:2376", "cluster-1")
    b = Target("docker", "unix:///var/run/docker.sock", "cluster-1")
    assert lock.lock_path(a) == lock.lock_path(b)  # two addresses of one cluster
    assert lock.lock_path(a) != lock.lock_path(Target("docker", a.url, "cluster-2"))


def test_without_xdg_runtime_dir_the_lock_is_in_the_temporary_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    assert lock.lock_path(SWARMPIT).startswith(f"{tempfile.gettempdir()}/cdhelper-apply-")


def test_a_second_apply_waits_for_the_first() -> None:
    notes: list[str] = []
    order: list[str] = []
    first_holds = threading.Event()

    def first() -> None:
        with lock.hold(SWARMPIT):
            first_holds.set()
            threading.Event().wait(0.5)
            order.append("first done")

    thread = threading.Thread(target=first)
    thread.start()
    first_holds.wait(5)
    with deadlines.limit(10), lock.hold(SWARMPIT, on_wait=notes.append):
        order.append("second runs")
    thread.join()
    assert order == ["first done", "second runs"]
    assert notes == [
        f"waiting for another cdhelper apply to swarmpit at {SWARMPIT.url} to finish "
        f"(lock {lock.lock_path(SWARMPIT)})"
    ]


def test_a_lock_held_past_the_deadline_fails() -> None:
    with open(lock.lock_path(SWARMPIT), "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with (
            deadlines.limit(1),
            pytest.raises(DeadlineError, match="another cdhelper apply holds the lock"),
            lock.hold(SWARMPIT),
        ):
            pytest.fail("must not get the lock")


def test_a_symlinked_lock_file_is_refused(tmp_path: Path) -> None:
    Path(lock.lock_path(SWARMPIT)).symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ConfigError, match="cannot open the apply lock"), lock.hold(SWARMPIT):
        pytest.fail("must not get the lock")
