"""The one module that knows the project's directory layout; everything else asks it.

::

    <root>/project.json                         format version and the domain
    <root>/configurations/<kind>/<name>.json    every registered configuration
    <root>/models/<name>.nc                     grid models
    <root>/data/<data_name>/<event>.mseed       observed waveforms (MiniSEED)
    <root>/inversions/<problem>/<iteration>/record.json   an iteration's record (its stage, tasks, jobs, results)
    <root>/inversions/<problem>/<iteration>/<file>         its arrays (model, gradients, steps)
    <root>/inversions/<problem>/<iteration>/jobs/<job>/... one job's outputs; result.json is written last
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["ProjectPaths", "CONFIGURATION_KINDS"]

CONFIGURATION_KINDS = ("events", "stations", "models", "simulation", "misfit", "inverse_problem")


class ProjectPaths:
    def __init__(self, root):
        self.root = Path(root).resolve()

    @property
    def project_file(self) -> Path:
        return self.root / "project.json"

    def configuration(self, kind: str, name: str) -> Path:
        return self.root / "configurations" / kind / f"{name}.json"

    def configurations(self, kind: str) -> Path:
        return self.root / "configurations" / kind

    def grid_model(self, name: str) -> Path:
        return self.root / "models" / f"{name}.nc"

    def data_folder(self, data_name: str) -> Path:
        """``data/<name>`` for external data (``EXTERNAL_DATA:<name>`` or plain ``<name>``),
        ``data/PROCESSED_DATA:<name>`` and ``data/SYNTHETIC_DATA:<simulation>`` for the others."""
        from ..config.processing import EXTERNAL, parse_data_name

        kind, name = parse_data_name(data_name)
        return self.root / "data" / (name if kind == EXTERNAL else f"{kind}:{name}")

    def observed(self, data_name: str, event: str) -> Path:
        return self.data_folder(data_name) / f"{event}.mseed"

    def inventory(self, data_name: str, event: str) -> Path:
        """The StationXML (with responses) that came with an event's data, if any."""
        return self.data_folder(data_name) / f"{event}.xml"

    def synthetics(self, simulation: str, event: str) -> Path:
        return self.data_folder(f"SYNTHETIC_DATA:{simulation}") / f"{event}.nc"

    def inversion(self, problem: str) -> Path:
        return self.root / "inversions" / problem

    def iteration(self, problem: str, iteration: int) -> Path:
        return self.inversion(problem) / f"{iteration:04d}"

    def record(self, problem: str, iteration: int) -> Path:
        return self.iteration(problem, iteration) / "record.json"

    def iteration_file(self, problem: str, iteration: int, name: str) -> Path:
        return self.iteration(problem, iteration) / name

    def job(self, problem: str, iteration: int, job_id: str) -> Path:
        return self.iteration(problem, iteration) / "jobs" / job_id

    def job_result(self, problem: str, iteration: int, job_id: str) -> Path:
        return self.job(problem, iteration, job_id) / "result.json"

    def iterations(self, problem: str) -> list[int]:
        base = self.inversion(problem)
        if not base.is_dir():
            return []
        return sorted(int(p.name) for p in base.iterdir() if p.name.isdigit() and (p / "record.json").exists())
