"""Small things of issue 11: the waveform view's first station, the Dask site's status
queries and its error for a script without a ``__main__`` guard."""
import io
import logging
import subprocess
import sys
import textwrap
from unittest import mock

import numpy as np
import pytest

from fwi_widgets.execution import dask_site as dask_site_module
from fwi_widgets.execution.dask_site import DaskSite

from ._part4 import PROBLEM

SCRIPT_TIMEOUT_S = 120


# ------------------------------------------------------------------ waveform view


def test_waveform_view_starts_with_the_first_station_of_the_first_event(project):
    project.inversions.add_iteration(inverse_problem_configuration=PROBLEM)
    assert project.inversions.iterate(inverse_problem_configuration=PROBLEM, ping_interval_in_seconds=0.05)
    state = project.viz.state(PROBLEM)
    assert state.selected_station is None
    view = project.viz.nb.waveforms(PROBLEM)
    first = project.events.stations()[0].name
    # Drawn at creation, no click needed; nothing is selected for the map until a user
    # picks a station (the Dropdown's unpicked entry names the station shown).
    assert view.default_station == first and state.selected_station is None
    assert view.station_dropdown.value is None and first in view.station_dropdown.options[0][0]
    assert project.viz.selection.selected_station is None
    assert view.event_dropdown.value == state.events[0]
    assert view.traces is not None and view.iteration == 0
    n_t = view.traces.time.size
    for key in ("observed", "synthetic", "adjoint_source"):
        assert np.asarray(view.marks[key].y).shape == (n_t,), key
    assert np.abs(view.marks["observed"].y).max() > 0 and np.abs(view.marks["synthetic"].y).max() > 0
    assert all(axis.visible for figure in (view.trace_figure, view.adjoint_figure) for axis in figure.axes)
    assert first in view.message.value


def test_waveform_view_keeps_a_station_picked_before_it(project):
    last = project.events.stations()[-1].name
    project.viz.state(PROBLEM).selected_station = last
    view = project.viz.nb.waveforms(PROBLEM)
    assert view.station_dropdown.value == last
    assert view.message.value.startswith(f"No synthetics") or last in view.message.value


# ------------------------------------------------------------------ dask: status


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def test_running_status_does_not_make_the_scheduler_log_a_key_error():
    """Asking which jobs run, for a key the scheduler does not hold (a just-submitted
    task, a race): no traceback from the scheduler's logger, no exception."""
    site = DaskSite(name="dask-status", n_workers=1, processes=False)
    capture = _Capture()
    logger = logging.getLogger("distributed")
    logger.addHandler(capture)
    try:
        site.client  # noqa: B018 - start the (in-process) cluster
        assert site._executing_keys(["not-a-key-of-the-scheduler"]) == set()
    finally:
        logger.removeHandler(capture)
        site.close()
    errors = [r for r in capture.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


def test_running_status_survives_a_failing_call_stack():
    site = DaskSite(name="dask-mock")
    site._client = mock.Mock()
    site._client.call_stack.side_effect = KeyError("job-1")
    stderr = io.StringIO()
    with mock.patch.object(sys, "stderr", stderr):
        assert site._executing_keys(["job-1"]) == set()
    assert stderr.getvalue() == ""
    # The site asks for all executing tasks (never a key list the scheduler may lack) and picks its own.
    site._client.call_stack.side_effect = None
    site._client.call_stack.return_value = {"tcp://w1": {"job-1": ["frame"], "other": ["frame"]}}
    assert site._executing_keys(["job-1", "job-2"]) == {"job-1"}
    assert all(call.kwargs.get("keys") is None and not call.args for call in site._client.call_stack.call_args_list)
    site._client = None
    site.close()


# ------------------------------------------------------------------ dask: no __main__ guard


def test_a_script_without_a_main_guard_is_told_what_to_do(tmp_path):
    script = tmp_path / "no_guard.py"
    script.write_text(textwrap.dedent("""
        from fwi_widgets.execution.dask_site import DaskSite

        site = DaskSite(n_workers=1)
        site.client
        site.close()
    """))
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path,
                         timeout=SCRIPT_TIMEOUT_S)
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError: Starting the Dask site's local cluster failed"), out.stderr[-3000:]
    assert 'under `if __name__ == "__main__":`' in last and "site 'local'" in last


def test_cluster_start_failures_are_wrapped():
    with mock.patch("distributed.LocalCluster", side_effect=RuntimeError("Nanny failed to start.")):
        site = DaskSite(name="dask-fails")
        with pytest.raises(RuntimeError, match="local cluster failed: Nanny failed to start. A plain script") as err:
            site.client  # noqa: B018
        assert isinstance(err.value.__cause__, RuntimeError)
        site.close()
    # Bad options are the caller's mistake, not a start failure: they pass through.
    with mock.patch("distributed.LocalCluster", side_effect=TypeError("unexpected keyword 'nope'")):
        site = DaskSite(name="dask-typo")
        with pytest.raises(TypeError, match="nope"):
            site.client  # noqa: B018
        site.close()


def test_a_worker_importing_the_script_refuses_to_start_a_cluster():
    with mock.patch.object(dask_site_module, "_in_spawned_bootstrap", return_value=True):
        site = DaskSite(name="dask-child")
        with pytest.raises(RuntimeError, match="while a worker process imports the main script"):
            site.client  # noqa: B018
        site.close()
