"""The layers of ARCHITECTURE.md: the engine never imports traitlets or widget packages."""
import subprocess
import sys

FORBIDDEN = ("traitlets", "ipywidgets", "bqplot", "ipyleaflet", "fwi_widgets")


def test_engine_imports_without_traitlets_or_widgets():
    code = (
        "import sys, engine, engine.misfit, engine.optimize;"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"engine pulled in: {out.stdout.strip()}"
