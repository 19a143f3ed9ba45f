"""Shared pieces of the benchmarks: reference figures, isolated runs, memory, tables.

Every benchmark configuration runs in a fresh interpreter (:func:`run_isolated`) so
that its thread count is fixed before Numba starts its thread pool and its peak
resident memory (``ru_maxrss``) belongs to that configuration alone.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "SPECFEM2D_REFERENCE",
    "Stopwatch",
    "code_version",
    "current_rss_mib",
    "emit_result",
    "machine_info",
    "peak_rss_mib",
    "format_table",
    "run_isolated",
    "system_busy_seconds",
    "wait_for_quiet",
    "write_json",
]

#: SPECFEM2D 8.1 (Fortran, serial, float32, NGLL = 5) on our machine kind, from
#: shared/design/NUMERICS.md: 100 x 100 elements (160,801 unique GLL points), 2000 steps,
#: Stacey absorbing on three sides, one point force. Keys: case -> figures.
SPECFEM2D_REFERENCE: dict[str, dict[str, float]] = {
    "elastic": {"ms_per_step": 5.12, "gll_updates_per_s": 31.4e6, "element_updates_per_s": 1.95e6, "peak_rss_mib": 30.0},
    "acoustic": {"ms_per_step": 2.47, "gll_updates_per_s": 65.1e6, "element_updates_per_s": 4.05e6, "peak_rss_mib": 27.0},
    "elastic_kernel_run": {"ms_per_step": 15.1, "gll_updates_per_s": 10.7e6, "element_updates_per_s": 0.66e6, "peak_rss_mib": 74.0},
}

# The marker that prefixes the one JSON line a child run prints; everything else the
# child writes to stdout (warnings from libraries, say) is ignored by the parent.
_RESULT_MARKER = "BENCH-RESULT "

_MIB = 1024.0 * 1024.0


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # macOS reports bytes, Linux KiB: normalise so the numbers stay comparable.
    return kib / _MIB if sys.platform == "darwin" else kib / 1024.0


def current_rss_mib() -> float:
    """Resident set size right now, in MiB (from /proc; NaN where it is unavailable)."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / _MIB
    except (OSError, ValueError, IndexError):
        return float("nan")


def machine_info() -> dict:
    """What the numbers were measured on: CPU model, cores, Python and library versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    for name in ("numpy", "numba", "scipy"):
        try:
            info[name] = __import__(name).__version__
        except ImportError:
            info[name] = None
    return info


def system_busy_seconds() -> float:
    """CPU seconds all processes of the machine have spent busy since boot (from
    /proc/stat; NaN where unavailable). Its increase minus this process's own CPU time
    is the load other processes put on the machine while a benchmark ran."""
    try:
        with open("/proc/stat") as fh:
            fields = [int(v) for v in fh.readline().split()[1:]]
        # user nice system idle iowait irq softirq steal ...: idle and iowait are not busy;
        # steal (a hypervisor running other guests on our cores) counts as lost to others.
        busy = sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0)
        return busy / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def wait_for_quiet(limit_cores: float, max_wait: float, interval: float = 1.0) -> float:
    """Wait until other processes keep fewer than ``limit_cores`` cores busy (averaged
    over ``interval`` seconds, twice in a row), or until ``max_wait`` seconds passed.
    Returns the last measured load in cores. This process sleeps meanwhile, so the busy
    time /proc/stat reports is all someone else's."""
    deadline = time.monotonic() + max(0.0, max_wait)
    quiet = 0
    while True:
        before = system_busy_seconds()
        time.sleep(interval)
        load = (system_busy_seconds() - before) / interval
        quiet = quiet + 1 if load < limit_cores else 0
        if quiet >= 2 or time.monotonic() >= deadline or load != load:  # load != load: NaN, no /proc
            return load


def code_version(root: str | Path, package: str) -> dict:
    """Which code was measured: the git commit of ``root`` (None outside a repository),
    whether the working tree differs from it, and a SHA-1 of the package's ``*.py``
    sources, which identifies uncommitted versions too."""
    root = Path(root)
    digest = hashlib.sha1()
    for path in sorted((root / package).rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    status = git("status", "--porcelain", "--", package)
    return {
        "git_commit": git("rev-parse", "HEAD"),
        "uncommitted_changes": None if status is None else bool(status),
        f"{package}_sources_sha1": digest.hexdigest(),
    }


class Stopwatch:
    """A ``StepTask`` for ``engine.simulate`` that timestamps chosen steps.

    The solver runs its tasks once before the first step (step 0, after all set-up of
    the loop) and after every step, so the span between the marks at step 0 and step
    ``n_steps`` is the time loop alone. Intermediate marks (``n_marks`` equal chunks)
    show whether the cost per step drifts during the run.
    """

    def __init__(self, n_steps: int, n_marks: int = 10):
        stride = max(1, n_steps // n_marks)
        self.marks = set(range(0, n_steps + 1, stride)) | {0, n_steps}
        self.times: dict[int, float] = {}
        self.cpu: dict[int, float] = {}
        self.busy: dict[int, float] = {}

    def should_run(self, step: int) -> bool:
        return step in self.marks

    def run(self, step: int, u, v) -> None:
        self.times[step] = time.perf_counter()
        self.cpu[step] = time.process_time()
        self.busy[step] = system_busy_seconds()

    def span(self, first: int, last: int) -> tuple[float, float, float]:
        """(wall seconds, CPU seconds of this process's threads, busy CPU seconds of the
        whole machine) between two marked steps."""
        return (
            self.times[last] - self.times[first],
            self.cpu[last] - self.cpu[first],
            self.busy[last] - self.busy[first],
        )

    def chunk_ms_per_step(self) -> list[float]:
        """Milliseconds per step in each chunk between consecutive marks."""
        steps = sorted(self.times)
        return [
            1e3 * (self.times[b] - self.times[a]) / (b - a) for a, b in zip(steps[:-1], steps[1:])
        ]


def run_isolated(script: str | Path, args: Sequence[str], threads: int, timeout: float | None = None) -> dict:
    """Run ``python script args`` in a fresh interpreter with ``threads`` Numba threads.

    ``NUMBA_NUM_THREADS`` is set in the child's environment so that the thread pool is
    created with that size (the child also calls ``numba.set_num_threads``). Returns the
    dict the child printed after :data:`_RESULT_MARKER`, or ``{"error": ...}`` with the
    tail of its stderr if it failed.
    """
    env = dict(os.environ, NUMBA_NUM_THREADS=str(int(threads)))
    try:
        proc = subprocess.run(
            [sys.executable, str(script), *args], capture_output=True, text=True, env=env, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s", "stderr_tail": ""}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(_RESULT_MARKER):
            return json.loads(line[len(_RESULT_MARKER):])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-15:]
    return {"error": f"exit status {proc.returncode}", "stderr_tail": "\n".join(tail)}


def emit_result(result: dict) -> None:
    """Print the child's result as the one marked JSON line the parent looks for."""
    print(_RESULT_MARKER + json.dumps(result), flush=True)


def format_table(rows: Sequence[dict], columns: Sequence[tuple[str, str, str]]) -> str:
    """A fixed-width text table. ``columns``: (key, header, format spec); a missing or
    None value prints as "-"."""
    cells = [[header for _, header, _ in columns]]
    for row in rows:
        line = []
        for key, _, spec in columns:
            value = row.get(key)
            line.append("-" if value is None else format(value, spec))
        cells.append(line)
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    out = []
    for k, r in enumerate(cells):
        out.append("  ".join(c.rjust(w) for c, w in zip(r, widths)))
        if k == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def write_json(path: str | Path, payload: dict) -> Path:
    """Write ``payload`` to ``path`` (creating folders), atomically via a temporary file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2) + "\n")
    os.replace(tmp, path)
    return path
