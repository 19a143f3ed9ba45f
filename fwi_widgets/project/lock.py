"""One writer process per project: an OS file lock on ``<root>/.lock``.

The lock is ``fcntl.flock(LOCK_EX | LOCK_NB)`` on ``<root>/.lock``, kept open as
long as the lock is held. The operating system drops it when the process ends,
however it ends (``SIGKILL`` and a dead kernel included), so there is never a
stale lock to delete by hand. The holder writes its pid, host name and start
time into the file, only so that a refused process can say who holds it.

Within one process the lock is re-entrant: ``flock`` locks belong to an open
file, so a second ``open`` + ``flock`` in the same process would refuse itself.
A process-wide registry, keyed by the real path of the project directory and
reference counted, shares one open file among all :class:`ProjectLock` objects
of that project, so opening a project again (a notebook cell run twice) just
works. The registry is guarded by a lock, so threads may acquire and release
freely.

After ``os.fork`` the child closes its inherited copy of the lock file and
forgets the registry: the lock stays with the parent, and a forked worker that
tries to take it is refused like any other process. (Process pools should use
``spawn`` or ``forkserver`` anyway, for Numba's sake.) POSIX only. On network
file systems ``flock`` works where the server supports locks (NFSv4, Linux
clients emulate it with POSIX locks).

Examples
--------
>>> import tempfile
>>> root = tempfile.mkdtemp()
>>> with ProjectLock(root) as lock:
...     lock.held
True
>>> lock.held
False
"""
from __future__ import annotations

import datetime
import errno
import fcntl
import json
import os
import socket
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Union

__all__ = ["LOCK_FILE_NAME", "ProjectLock", "ProjectLockedError"]

PathLike = Union[str, os.PathLike]

#: Name of the lock file inside a project directory.
LOCK_FILE_NAME = ".lock"

# How long a refused process waits for the holder to finish writing who it is
# (the holder writes right after taking the lock, so this is a few microseconds).
_HOLDER_INFO_WAIT_S = 0.5
# How often a waiting acquire (``timeout`` > 0) tries the lock again.
_RETRY_INTERVAL_S = 0.1


class ProjectLockedError(RuntimeError):
    """Another process holds the project's write lock.

    Attributes
    ----------
    root : pathlib.Path
        The project directory.
    pid : int or None
        Process id of the holder, if it could be read.
    host : str or None
        Host name of the holder.
    since : str or None
        When the holder took the lock (ISO 8601, UTC).
    """

    def __init__(self, root: Path, pid: int | None, host: str | None, since: str | None):
        self.root, self.pid, self.host, self.since = root, pid, host, since
        if pid is None:
            who = "(its pid could not be read)"
        else:
            who = f"(pid {pid} on host {host} since {since})"
        super().__init__(
            f"The project at {root} is open for writing in another process {who}. Close it there "
            "(or stop that kernel) first; the lock is released by itself when that process ends, "
            "so there is no lock file to delete."
        )

    def __reduce__(self):  # so that it survives the trip back from a worker process
        return (type(self), (self.root, self.pid, self.host, self.since))


@dataclass
class _Shared:
    """The one open lock file of a project in this process."""

    fd: int
    count: int = 0


@dataclass
class _Ticket:
    """What one ProjectLock holds; kept apart from it so a finalizer can release it."""

    key: str
    count: int = 0
    pid: int = 0


class _Registry:
    def __init__(self) -> None:
        self.mutex = threading.Lock()
        self.shared: dict[str, _Shared] = {}


_registry = _Registry()


def _forget_after_fork() -> None:
    """In a forked child: drop the inherited lock files, leaving the locks with the parent."""
    global _registry
    old, _registry = _registry, _Registry()  # the old mutex may have been held at fork time
    for shared in old.shared.values():
        try:
            os.close(shared.fd)  # closes the child's reference only; the parent keeps its lock
        except OSError:
            pass


os.register_at_fork(after_in_child=_forget_after_fork)


def _read_holder(lock_file: Path) -> dict:
    deadline = time.monotonic() + _HOLDER_INFO_WAIT_S
    while True:
        try:
            info = json.loads(lock_file.read_text())
            return {"pid": int(info["pid"]), "host": str(info["host"]), "since": str(info["since"])}
        except (OSError, ValueError, KeyError, TypeError):
            if time.monotonic() > deadline:
                return {"pid": None, "host": None, "since": None}
            time.sleep(0.01)


def _take(root: Path) -> int:
    """Open and lock ``root/.lock``; return its descriptor, or raise ProjectLockedError."""
    lock_file = root / LOCK_FILE_NAME
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        os.close(fd)
        if error.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise ProjectLockedError(root, **_read_holder(lock_file)) from None
        raise OSError(
            error.errno, f"Could not lock the project at {root} ({error.strerror}); its file system "
            "may not support file locks. Move the project to a local disk or a file system with locks.",
        ) from None
    except BaseException:
        os.close(fd)
        raise
    holder = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    os.ftruncate(fd, 0)
    os.pwrite(fd, (json.dumps(holder) + "\n").encode("utf-8"), 0)
    return fd


def _release(ticket: _Ticket, everything: bool) -> None:
    registry = _registry
    with registry.mutex:
        if ticket.count == 0 or ticket.pid != os.getpid():
            return  # not held, or held by the parent before a fork
        times = ticket.count if everything else 1
        ticket.count -= times
        shared = registry.shared.get(ticket.key)
        if shared is None:
            return
        shared.count -= times
        if shared.count <= 0:
            del registry.shared[ticket.key]
            try:
                os.ftruncate(shared.fd, 0)  # the holder's details would only mislead from now on
            except OSError:
                pass
            os.close(shared.fd)  # releases the flock


class ProjectLock:
    """The write lock of the project at ``root``: one process at a time.

    Parameters
    ----------
    root : str or os.PathLike
        The project directory (must exist when the lock is acquired).

    Notes
    -----
    Constructing the object takes nothing; :meth:`acquire` (or ``with``) takes
    the lock. Acquisitions nest, like ``threading.RLock``: each one needs its
    :meth:`release`; a release of a lock not held does nothing. Whatever an
    object still holds is released when it is garbage collected.
    """

    def __init__(self, root: PathLike):
        if not isinstance(root, (str, os.PathLike)):
            raise TypeError(f"The 'root' parameter must be a str or os.PathLike, but {root!r} was given.")
        self._root = Path(os.path.abspath(os.fspath(root)))
        self._ticket = _Ticket(key=os.path.realpath(self._root))
        self._finalizer = weakref.finalize(self, _release, self._ticket, True)
        self._finalizer.atexit = False  # at exit the operating system releases the lock anyway

    @property
    def root(self) -> Path:
        """The project directory."""
        return self._root

    @property
    def held(self) -> bool:
        """Whether this object holds the lock (in this process)."""
        return self._ticket.count > 0 and self._ticket.pid == os.getpid()

    def acquire(self, timeout: float = 0.0) -> "ProjectLock":
        """Take the lock, or raise :class:`ProjectLockedError` if another process holds it.

        Parameters
        ----------
        timeout : float
            How long to wait for another holder to let go (s). 0 refuses at once; a
            positive value suits a holder that is known to be on its way out (the
            kernel of a reloaded dashboard page, which its server is shutting down).

        Returns
        -------
        ProjectLock
            ``self``, so that ``lock = ProjectLock(root).acquire()`` reads well.
        """
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout >= 0:
            raise ValueError(f"The 'timeout' parameter must be a number of seconds >= 0, but {timeout!r} was given.")
        if not self._root.is_dir():
            raise ValueError(f"The 'root' parameter must be an existing project directory, but '{self._root}' was given.")
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self._acquire_now()
            except ProjectLockedError:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise
                # Poll without the registry mutex, so other threads' locks are not held up.
                time.sleep(min(_RETRY_INTERVAL_S, left))

    def _acquire_now(self) -> "ProjectLock":
        registry = _registry
        with registry.mutex:
            ticket = self._ticket
            if ticket.pid != os.getpid():  # a fresh object, or one inherited through fork
                ticket.count, ticket.pid = 0, os.getpid()
            shared = registry.shared.get(ticket.key)
            if shared is None:
                shared = registry.shared[ticket.key] = _Shared(fd=_take(self._root))
            shared.count += 1
            ticket.count += 1
        return self

    def release(self) -> None:
        """Give back one acquisition; the file lock goes when the last one in this process does."""
        _release(self._ticket, everything=False)

    def __enter__(self) -> "ProjectLock":
        return self.acquire()

    def __exit__(self, *exc_info) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<ProjectLock {self._root} {'held' if self.held else 'not held'}>"
