"""The layers of ARCHITECTURE.md: the engine never imports traitlets, widget packages or
obspy (conversions to obspy formats live in the application)."""
import subprocess
import sys

FORBIDDEN = ("traitlets", "ipywidgets", "bqplot", "ipyleaflet", "fwi_widgets", "obspy")


def test_engine_imports_without_traitlets_or_widgets():
    code = (
        "import sys, engine, engine.misfit, engine.optimize;"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"engine pulled in: {out.stdout.strip()}"


def test_no_engine_module_imports_them_even_lazily():
    """Not at import time, and not inside a function either (a lazy import is an import)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "engine"
    found = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else []
            found += [f"{path.relative_to(root)}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert not found, found
