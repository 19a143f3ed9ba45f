"""fwi_widgets.project.lock: one writer process per project, re-entrant within a process."""
from __future__ import annotations

import gc
import os
import pickle
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from fwi_widgets.project.lock import LOCK_FILE_NAME, ProjectLock, ProjectLockedError

REPO = Path(__file__).resolve().parents[2]

# Children load lock.py by its file path: it is standalone by design, and importing the
# fwi_widgets package would load the whole application (seconds per child).
LOAD = f"""
    import importlib.util, sys
    spec = importlib.util.spec_from_file_location("lock", {str(REPO / "fwi_widgets" / "project" / "lock.py")!r})
    lock_module = sys.modules["lock"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(lock_module)
    ProjectLock, ProjectLockedError = lock_module.ProjectLock, lock_module.ProjectLockedError
"""

# A child that tries the lock once and reports "free" (and lets go) or "locked <message>".
PROBE = LOAD + """
    try:
        ProjectLock(sys.argv[1]).acquire().release()
        print("free")
    except ProjectLockedError as error:
        print("locked", error)
"""

# A child that takes the lock, says so, and waits to be killed.
HOLDER = LOAD + """
    import time
    lock = ProjectLock(sys.argv[1]).acquire()
    print("holding", flush=True)
    time.sleep(120)
"""


def _env() -> dict:
    return dict(os.environ, PYTHONPATH=str(REPO))


def _probe(root: Path) -> str:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(PROBE), str(root)], env=_env(), cwd=REPO,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.fixture
def holder(tmp_path):
    """A child process that holds the lock of ``tmp_path``; killed at the end in any case."""
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(HOLDER), str(tmp_path)], env=_env(), cwd=REPO,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline()
        assert line.strip() == "holding", child.stderr.read()
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=30)
        child.stdout.close()
        child.stderr.close()


def test_a_second_process_is_refused_with_a_message_naming_the_holder(tmp_path, holder):
    with pytest.raises(ProjectLockedError) as info:
        ProjectLock(tmp_path).acquire()
    message = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert f"The project at {tmp_path} is open for writing in another process" in message
    assert f"pid {holder.pid} on host {socket.gethostname()} since 20" in message
    assert "Close it there (or stop that kernel) first" in message
    assert info.value.pid == holder.pid and info.value.root == tmp_path
    copy = pickle.loads(pickle.dumps(info.value))  # it may travel back from a worker process
    assert str(copy) == message and copy.pid == holder.pid


def test_the_lock_is_free_once_the_holder_is_killed(tmp_path, holder):
    assert _probe(tmp_path).startswith(f"locked The project at {tmp_path}")
    holder.send_signal(signal.SIGKILL)
    assert holder.wait(timeout=30) == -signal.SIGKILL
    # No cleanup of any kind: the operating system released the lock with the process.
    assert (tmp_path / LOCK_FILE_NAME).exists()
    lock = ProjectLock(tmp_path).acquire()
    assert lock.held
    assert f'"pid": {os.getpid()}' in (tmp_path / LOCK_FILE_NAME).read_text()
    lock.release()
    assert not lock.held


def test_same_process_reacquires_and_the_last_release_frees_it(tmp_path):
    first = ProjectLock(tmp_path).acquire()
    # A notebook cell run twice, and another spelling of the same directory.
    second = ProjectLock(str(tmp_path / "." / ".." / tmp_path.name)).acquire()
    (tmp_path.parent / f"{tmp_path.name}-link").symlink_to(tmp_path)
    third = ProjectLock(tmp_path.parent / f"{tmp_path.name}-link").acquire()
    assert first.held and second.held and third.held
    first.release()
    first.release()  # releasing what this object no longer holds does nothing
    second.release()
    assert _probe(tmp_path).startswith("locked"), "still held by `third`"
    third.release()
    assert _probe(tmp_path) == "free"


def test_acquisitions_of_one_object_nest(tmp_path):
    lock = ProjectLock(tmp_path)
    with lock:
        with lock:
            assert lock.held
        assert lock.held and _probe(tmp_path).startswith("locked")
    assert not lock.held and _probe(tmp_path) == "free"


def test_a_forgotten_lock_object_is_released_when_collected(tmp_path):
    ProjectLock(tmp_path).acquire()  # the object is dropped at once
    gc.collect()
    assert _probe(tmp_path) == "free"


def test_threads_acquire_and_release_concurrently(tmp_path):
    errors = []
    barrier = threading.Barrier(8)

    def worker():
        try:
            barrier.wait()
            for _ in range(200):
                lock = ProjectLock(tmp_path).acquire()
                assert lock.held
                lock.release()
        except Exception as error:  # collected and asserted below
            errors.append(error)

    keeper = ProjectLock(tmp_path).acquire()  # so the file lock is shared, then also taken afresh
    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    keeper.release()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _probe(tmp_path) == "free", "every acquisition was matched by a release"


def test_a_forked_child_neither_holds_nor_releases_the_parents_lock(tmp_path):
    lock = ProjectLock(tmp_path).acquire()
    pid = os.fork()
    if pid == 0:  # child: must be refused, and must not release the parent's lock on exit
        code = 3
        try:
            code = 1 if lock.held else 2
            ProjectLock(tmp_path).acquire()
        except ProjectLockedError as error:
            code = 0 if error.pid == os.getppid() else 4
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the child saw the lock as its own"
    assert lock.held and _probe(tmp_path).startswith("locked"), "the child's exit released the parent's lock"
    lock.release()
    assert _probe(tmp_path) == "free"


def test_bad_root_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"The 'root' parameter must be an existing project directory, but '.*missing'"):
        ProjectLock(tmp_path / "missing").acquire()
    with pytest.raises(TypeError, match=r"The 'root' parameter must be a str or os.PathLike, but 3 was given"):
        ProjectLock(3)
    assert not (tmp_path / "missing").exists()
