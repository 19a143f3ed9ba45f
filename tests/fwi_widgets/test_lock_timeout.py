"""fwi_widgets.project.lock: waiting for a holder that is on its way out (``timeout``).

What a reloaded dashboard page needs: its new kernel opens the project while the old
kernel is still being shut down.
"""
from __future__ import annotations

import math
import subprocess
import sys
import textwrap
import time

import pytest

from fwi_widgets import namespace as sn
from fwi_widgets.project.lock import ProjectLock, ProjectLockedError

from .test_lock import LOAD, REPO, _env

# A child that takes the lock, says so, and exits (letting go) after argv[2] seconds.
BRIEF_HOLDER = LOAD + """
    import time
    lock = ProjectLock(sys.argv[1]).acquire()
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def _hold(root, seconds: float) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(BRIEF_HOLDER), str(root), str(seconds)],
                             env=_env(), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = child.stdout.readline()
    assert line.strip() == "holding", child.stderr.read()
    return child


def _reap(child: subprocess.Popen) -> None:
    if child.poll() is None:
        child.kill()
    child.wait(timeout=30)
    child.stdout.close()
    child.stderr.close()


def test_acquire_waits_for_a_holder_that_lets_go(tmp_path):
    child = _hold(tmp_path, 1.0)
    try:
        with pytest.raises(ProjectLockedError):
            ProjectLock(tmp_path).acquire()  # no timeout: refused at once, as before
        started = time.monotonic()
        lock = ProjectLock(tmp_path).acquire(timeout=60.0)
        waited = time.monotonic() - started
        assert lock.held and child.poll() is not None, waited
        lock.release()
    finally:
        _reap(child)


def test_acquire_gives_up_after_the_timeout(tmp_path):
    child = _hold(tmp_path, 120.0)
    try:
        started = time.monotonic()
        with pytest.raises(ProjectLockedError) as info:
            ProjectLock(tmp_path).acquire(timeout=0.5)
        assert time.monotonic() - started >= 0.5
        assert info.value.pid == child.pid
    finally:
        _reap(child)


@pytest.mark.parametrize("timeout", [-1.0, math.nan, True, "5"])
def test_a_bad_timeout_is_refused(tmp_path, timeout):
    with pytest.raises(ValueError, match=r"The 'timeout' parameter must be a number of seconds >= 0, but .* was given"):
        ProjectLock(tmp_path).acquire(timeout=timeout)


def test_a_project_opens_once_the_other_process_lets_go(tmp_path):
    sn.Project.from_domain(path=tmp_path, domain=sn.BoxDomain(x_min=0.0, x_max=1.0, z_min=-1.0)).close()
    with pytest.raises(ValueError, match="The 'lock_timeout_in_seconds' parameter must be a number >= 0"):
        sn.Project(path=tmp_path, lock_timeout_in_seconds=-1)
    child = _hold(tmp_path, 1.0)
    try:
        p = sn.Project(path=tmp_path, lock_timeout_in_seconds=60.0)
        assert not p.read_only
        p.close()
    finally:
        _reap(child)
