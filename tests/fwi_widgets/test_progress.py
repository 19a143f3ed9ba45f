"""``p.inversions.iterate`` draws a tqdm bar per task (finished jobs out of the task's
jobs) in plain Python, and none with ``progress=False`` or from the widgets' state."""
import pytest
import tqdm.auto
from tqdm import tqdm as std_tqdm

from fwi_widgets.state import InversionState

from ._part4 import PROBLEM


class _Recorder(std_tqdm):
    """A console bar that remembers every count it showed (one list per bar)."""

    bars: list = []

    def __init__(self, *args, **kwargs):
        self.shown, self.was_closed = [], False
        super().__init__(*args, **kwargs)
        self.shown.append(self.n)
        _Recorder.bars.append(self)

    def refresh(self, *args, **kwargs):
        self.shown.append(self.n)
        return super().refresh(*args, **kwargs)

    def close(self):
        self.was_closed = True
        return super().close()


@pytest.fixture
def bars(monkeypatch):
    """The bars ``iterate`` makes (``tqdm.auto.tqdm`` is looked up when a bar opens)."""
    monkeypatch.setattr(_Recorder, "bars", [])
    monkeypatch.setattr(tqdm.auto, "tqdm", _Recorder)
    return _Recorder.bars


def test_iterate_shows_the_jobs_of_each_task(local_project, bars, capsys):
    p = local_project
    p.inversions.add_iteration(inverse_problem_configuration=PROBLEM)
    assert p.inversions.iterate(inverse_problem_configuration=PROBLEM, timeout_in_seconds=300,
                                ping_interval_in_seconds=0.05)
    descs = [b.desc for b in bars]
    # Accepted at once: gradient, smoothing and step, trial misfit; a rejection adds another round.
    assert descs[:3] == ["iteration #0 misfit_and_gradient", "iteration #0 preconditioner_0", "iteration #0 misfit_0"]
    assert [b.total for b in bars[:3]] == [3, 1, 3]
    for b in bars:
        assert b.was_closed and b.n == b.total, (b.desc, b.shown)
        assert b.shown == sorted(b.shown) and b.shown[0] < b.total, (b.desc, b.shown)  # counted up from below
    err = capsys.readouterr().err
    assert "iteration #0 misfit_and_gradient" in err and "3/3" in err and "1/1" in err


def test_a_timeout_closes_the_bar_with_its_count(local_project, bars):
    p = local_project
    p.inversions.add_iteration(inverse_problem_configuration=PROBLEM)
    assert not p.inversions.iterate(inverse_problem_configuration=PROBLEM, timeout_in_seconds=1e-6)
    assert [(b.desc, b.total, b.was_closed) for b in bars] == [("iteration #0 misfit_and_gradient", 3, True)]
    assert bars[0].n < 3
    # Let the background jobs finish before the project closes (no bar this time).
    assert p.inversions.iterate(inverse_problem_configuration=PROBLEM, timeout_in_seconds=300,
                                ping_interval_in_seconds=0.05, progress=False)
    assert len(bars) == 1


def test_no_bar_when_switched_off_or_from_the_widgets(project, bars, capsys):
    p = project
    p.inversions.add_iteration(inverse_problem_configuration=PROBLEM)
    assert p.inversions.iterate(inverse_problem_configuration=PROBLEM, ping_interval_in_seconds=0.05, progress=False)
    state = InversionState(p, PROBLEM)
    worker = state.iterate_in_background(timeout_in_seconds=300, ping_interval_in_seconds=0.05)
    worker.join(300)
    assert not worker.is_alive() and state.error == "" and state.current_iteration == 2
    assert bars == [] and "job/s" not in capsys.readouterr().err
