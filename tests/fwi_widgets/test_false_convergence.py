"""'Converged' means a converged inversion only (issue 11, item 3).

A configuration or data that make every measurement impossible end the inversion with
an error naming the cause, never with "the inversion has converged"; skipped
measurements are counted by reason, per event, and loud when many; an event without a
valid measurement is a warning. The data checks at add time are in
test_observed_checks.py. All on the small workshop (inline site).
"""
from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest

from fwi_widgets.project import store

from ._part4 import PROBLEM, SELECTED_EVENTS


def _resume_until_error(p, name, tries=4):
    """Resume (inline jobs finish within the first steps) until it raises; return the error."""
    with pytest.raises(RuntimeError) as info:
        for _ in range(tries):
            p.inversions.resume(inverse_problem_configuration=name)
    return info.value


def _log(p, name) -> str:
    return "\n".join(p.inversions.get_iteration(name, 0).record["log"])


def _overwrite_on_disk(p, event, fill):
    """Write observed data straight to disk, past add_observed_data's checks (as a file copied in would)."""
    stream = p.observed_data(event)
    for tr in stream:
        tr.data = np.full(tr.stats.npts, fill, dtype=np.float64)
    store.write_stream(p.paths.observed("observed", event), stream)


def test_cutouts_that_remove_the_whole_gradient_are_an_error_before_any_simulation(project):
    p = project
    cfg = p.inverse_problem_configuration(PROBLEM)
    p += dataclasses.replace(cfg, name="inv_cut", mapping=dataclasses.replace(cfg.mapping, source_cutout_radius_in_meters=2e7))
    p.inversions.add_iteration(inverse_problem_configuration="inv_cut")
    error = _resume_until_error(p, "inv_cut", tries=1)
    message = str(error)
    assert "The cutouts (source 20000 km, receiver 50 km) remove the whole gradient" in message
    assert "reduce source_cutout_radius_in_meters" in message
    assert getattr(error, "cause", None) == "cutout_removes_gradient"
    it = p.inversions.get_iteration("inv_cut", 0)
    assert it.stage == "initialize" and not it.record["tasks"]  # refused before any job ran
    assert "converged" not in _log(p, "inv_cut")
    # Receiver cutouts that together cover the domain: the same error, naming the other radius.
    p += dataclasses.replace(cfg, name="inv_cut_rec",
                             mapping=dataclasses.replace(cfg.mapping, receiver_cutout_radius_in_meters=5e6))
    p.inversions.add_iteration(inverse_problem_configuration="inv_cut_rec")
    assert "reduce receiver_cutout_radius_in_meters" in str(_resume_until_error(p, "inv_cut_rec", tries=1))


def test_all_nan_observed_data_on_disk_are_an_error_at_misfit_time_not_convergence(project):
    p = project
    for event in SELECTED_EVENTS:
        _overwrite_on_disk(p, event, np.nan)
    p.inversions.add_iteration(inverse_problem_configuration=PROBLEM)
    error = _resume_until_error(p, PROBLEM)
    message = str(error)
    assert getattr(error, "cause", None) == "no_valid_measurement" + "s"
    assert "No valid measurement" in message and "observed data contain NaN or inf in the window" in message
    assert "72 measurement(s) of the 3 event(s)" in message  # 24 stations x 1 component x 3 events
    assert "replace the observed data" in message
    log = _log(p, PROBLEM)
    assert "converged" not in log
    assert "measurement(s) skipped" in log and "WARNING:" in log  # per event, loud
    assert p.inversions.get_iteration(PROBLEM, 0).stage == "misfit_and_gradient"


def test_every_measurement_skipped_is_an_error_naming_the_reasons(project):
    p = project
    for event in SELECTED_EVENTS:
        _overwrite_on_disk(p, event, 0.0)  # dead data: add_observed_data refuses them, a copied file does not
    p.inversions.add_iteration(inverse_problem_configuration=PROBLEM)
    message = str(_resume_until_error(p, PROBLEM))
    assert "No valid measurement at the current model" in message
    assert "72 observed data are all zero in the window" in message
    assert "this is not convergence" in message
    assert "converged" not in _log(p, PROBLEM)


def test_an_event_without_valid_measurement_is_a_warning_and_the_others_go_on(project, caplog):
    p = project
    dead = SELECTED_EVENTS[1]
    _overwrite_on_disk(p, dead, np.nan)
    p.inversions.add_iteration(inverse_problem_configuration=PROBLEM)
    with caplog.at_level(logging.INFO, logger="fwi_widgets"):
        for _ in range(3):
            p.inversions.resume(inverse_problem_configuration=PROBLEM)
            if p.inversions.get_iteration(PROBLEM, 0).stage not in ("initialize", "misfit_and_gradient"):
                break
    it = p.inversions.get_iteration(PROBLEM, 0)
    assert it.stage not in ("initialize", "misfit_and_gradient", "completed")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"Event {dead} (the current model): 24 of 24 measurement(s) skipped" in w for w in warnings), warnings
    assert any("1 of 3 event(s) have no valid measurement" in w and dead in w for w in warnings), warnings
    assert it.record["results"]["n_valid_measurements"] > 0


def test_convergence_needs_a_small_gradient_relative_to_the_first_iteration(project):
    """The decision itself: a small gradient of a later iteration converges; a zero one with a
    nonzero misfit does not (it is an error); a zero misfit with a zero gradient converges."""
    from fwi_widgets.workflow.iteration import GRADIENT_TOLERANCE

    p = project
    p.inversions.add_iteration(inverse_problem_configuration=PROBLEM)
    it = p.inversions.get_iteration(PROBLEM, 0)
    n = it.parameter_map().n

    def decide(g, chi, n_valid, later=True):
        it.record.update(stage="check_convergence", g=g, log=[])
        it.record["previous"] = {"step": {"fake": True}} if later else {}
        it.record["results"].update(chi=chi, n_valid_measurements=n_valid, initial_gradient_norm=1.0)
        return it._check_convergence(False), it.stage

    small = np.full(n, 0.5 * GRADIENT_TOLERANCE / np.sqrt(n))
    assert decide(small, 1.0, 10) == ("done", "completed")
    assert decide(small, 1.0, 10, later=False)[1] == "preconditioner"  # the first iteration sets the scale
    assert decide(10 * small, 1.0, 10)[1] == "preconditioner"
    assert decide(np.zeros(n), 0.0, 10) == ("done", "completed")
    with pytest.raises(RuntimeError, match="The gradient is zero although the misfit is 1.0"):
        decide(np.zeros(n), 1.0, 10)
    with pytest.raises(RuntimeError, match="No valid measurement"):
        decide(small, 0.0, 0)
