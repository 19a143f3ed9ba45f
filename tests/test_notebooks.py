"""The notebooks run end to end (at reduced size), as a class would run them."""
import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


# continental_inversion.ipynb runs in tests/fwi_widgets/test_continental3d.py, on the example
# those tests build once.
@pytest.mark.parametrize("name", ["engine_demo.ipynb", "workshop_inversion.ipynb"])
def test_notebook_runs(name, tmp_path, monkeypatch):
    # The kernel inherits these: a small workshop in a temporary folder, in-process jobs.
    monkeypatch.setenv("WORKSHOP_SIZE", "small")
    monkeypatch.setenv("PROJECT_DIR", str(tmp_path / "project"))
    monkeypatch.setenv("SITE_NAME", "inline")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    if name == "workshop_inversion.ipynb":
        assert "Launched adjoint simulations for 3 events" in outputs
        assert "Adding new iteration #4." in outputs
        assert "iteration 4: correlation" in outputs
        # The live views render as widgets (what a class sees beside the Part 4 cells).
        for view in ("inversion", "domain", "model", "gradients", "waveforms"):
            cell = next(c for c in nb.cells if f"p.viz.nb.{view}(" in c.source)
            assert any(WIDGET_VIEW in o.get("data", {}) for o in cell.outputs), (view, cell.outputs)


def test_the_start_page_links_both_tutorials_and_the_dashboards():
    """``make run`` opens notebooks/start_here.ipynb: every link in it is a notebook here."""
    import re

    page = nbformat.read(NOTEBOOKS / "start_here.ipynb", as_version=4)
    links = re.findall(r"\]\(([^)]+\.ipynb)\)", "".join(c.source for c in page.cells))
    assert {"workshop_inversion.ipynb", "continental_inversion.ipynb", "dashboard.ipynb",
            "dashboard_continental.ipynb"} <= set(links), links
    assert all((NOTEBOOKS / link).is_file() for link in links), links
    assert "start_here.ipynb" in (NOTEBOOKS.parent / "Makefile").read_text()
