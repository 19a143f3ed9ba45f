"""Fixtures for the real-browser tests: a Voila server and a JupyterLab server on the
dashboard notebook, and a headless Chromium page (Debian's chromium, driven by
Playwright's sync API).

Nothing here is skipped: without the browser, Voila or Playwright the tests fail and
say to run ``.ci/browser-setup.sh``. Servers are started with ``subprocess.Popen`` in
their own process group and stopped through that process, never by name.
"""
from __future__ import annotations

import json
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "dashboard.ipynb"
#: Where screenshots go (git-ignored); look at them, a test can pass on a blank page.
OUTPUT = ROOT / "test-output" / "browser"
CHROMIUM = Path(os.environ.get("FWI_CHROMIUM", "/usr/bin/chromium"))
SETUP_HINT = "Run `.ci/browser-setup.sh .venv` (as root) to install chromium, voila and playwright."
# Flags that keep Debian's chromium headless, sandbox-free (CI runs as root) and off the network.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCAL_PREFIXES = ("http://127.0.0.1", "ws://127.0.0.1")
# Voila answers in about 2 s; a cold interpreter on a busy 2-core machine can take longer.
SERVER_START_TIMEOUT_S = 60.0


def _require(module: str) -> None:
    try:
        __import__(module)
    except ImportError as exc:
        pytest.fail(f"The browser tests need the Python package {module!r} ({exc}). {SETUP_HINT}", pytrace=False)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Path of the chromium executable; fails (never skips) when it is missing."""
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"No chromium executable at {CHROMIUM}. {SETUP_HINT}", pytrace=False)
    _require("playwright")
    return str(CHROMIUM)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _wait_until_serving(process: subprocess.Popen, url: str, name: str, log_tail) -> None:
    """Return once ``url`` answers 200; fail with the server's log if it exits or takes too long."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while not _answers(url):
        if process.poll() is not None:
            pytest.fail(f"{name} exited with code {process.returncode}:\n{log_tail()}", pytrace=False)
        if time.monotonic() > deadline:
            pytest.fail(f"{name} did not answer within {SERVER_START_TIMEOUT_S} s:\n{log_tail()}", pytrace=False)
        time.sleep(0.2)


def dashboard_env(project_dir: Path) -> dict:
    """The environment for a server whose kernels run the dashboard notebook on ``project_dir``."""
    env = dict(os.environ, FWI_DASHBOARD_PROJECT_DIR=str(project_dir), FWI_DASHBOARD_SITE="local")
    # The kernel must be this environment's Python, whatever PATH the caller had.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM Voila (it shuts its kernels down), then SIGKILL its process group: the
    kernel's job processes were started in it."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait(timeout=15)


@contextlib.contextmanager
def voila_notebook(notebook: Path, env_overrides: dict, tmp_path: Path):
    """Serve ``notebook`` with Voila (its kernels get ``env_overrides`` and this Python);
    yields (page URL, log_tail); stops Voila and its kernels' job processes afterwards."""
    _require("voila")
    port = _free_port()
    env = dict(os.environ, **env_overrides)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    log = tmp_path / "voila.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "voila", str(notebook), "--no-browser", f"--port={port}",
                                    "--Voila.ip=127.0.0.1"], cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)

    def log_tail() -> str:
        return log.read_text(errors="replace")[-4000:]

    try:
        _wait_until_serving(process, f"http://127.0.0.1:{port}/voila/static/voila.js", "Voila", log_tail)
        yield f"http://127.0.0.1:{port}/", log_tail
    finally:
        _stop(process)


def wait_for_render(page, url: str, selectors: list[str], timeout_ms: float, screenshot: Path, log_tail) -> None:
    """Open ``url`` and wait for the first element of each selector; on failure save a
    screenshot and fail with the server's log."""
    page.goto(url, timeout=timeout_ms)
    try:
        for selector in selectors:
            page.locator(selector).first.wait_for(state="visible", timeout=timeout_ms)
    except Exception as exc:
        page.screenshot(path=str(screenshot))
        raise AssertionError(f"{url} did not render: {exc}\n{log_tail()}") from None


class VoilaServer:
    """A running Voila: ``url`` of the notebook page, ``log`` its output, ``project_dir``."""

    def __init__(self, url: str, log: Path, project_dir: Path):
        self.url, self.log, self.project_dir = url, log, project_dir

    def log_tail(self, n_chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-n_chars:] if self.log.exists() else "(no log)"


@pytest.fixture
def voila_server(tmp_path) -> VoilaServer:
    """Voila serving ``notebooks/dashboard.ipynb`` with the project in ``tmp_path``."""
    _require("voila")
    port = _free_port()
    project_dir = tmp_path / "project"
    log = tmp_path / "voila.log"
    env = dashboard_env(project_dir)
    command = [sys.executable, "-m", "voila", str(NOTEBOOK), "--no-browser", f"--port={port}",
               "--Voila.ip=127.0.0.1"]
    # No --preheat_kernel: the pool would start a second kernel on the same project,
    # which the project lock (rightly) refuses.
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    server = VoilaServer(f"http://127.0.0.1:{port}/", log, project_dir)
    try:
        _wait_until_serving(process, f"{server.url}voila/static/voila.js", "Voila", server.log_tail)
        yield server
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def browser(chromium_path):
    """One headless Chromium for the session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class BrowserPage:
    """A Playwright page plus the uncaught JavaScript errors it raised (``errors``)."""

    def __init__(self, page):
        self.page = page
        self.errors: list[str] = []
        self.blocked: list[str] = []

    def assert_no_errors(self) -> None:
        assert not self.errors, "Uncaught errors in the page:\n" + "\n".join(self.errors)


@pytest.fixture
def browser_page(browser) -> BrowserPage:
    """A fresh page that may only reach 127.0.0.1 (hermetic) and records ``pageerror``s."""
    # Tall enough that the dashboard and the map fit one screenshot: Voila's page
    # scrolls inside its own container, so full-page screenshots stop at the viewport.
    context = browser.new_context(viewport={"width": 1280, "height": 2200})
    page = context.new_page()
    result = BrowserPage(page)
    page.on("pageerror", lambda error: result.errors.append(str(error)))

    def route(route_) -> None:
        if route_.request.url.startswith(LOCAL_PREFIXES):
            route_.continue_()
        else:  # e.g. the template's web-font stylesheet on a CDN
            result.blocked.append(route_.request.url)
            route_.abort()

    page.route("**/*", route)
    yield result
    context.close()


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    return OUTPUT


# What the Lab fixture writes as ``overrides.json``: no news or update pop-up over the
# notebook in screenshots, and every cell rendered (not only those in view).
LAB_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
}


class LabServer:
    """A running JupyterLab: ``url`` its root, ``notebook_url`` the dashboard notebook's page,
    ``log`` its output, ``project_dir``."""

    def __init__(self, url: str, notebook_url: str, log: Path, project_dir: Path):
        self.url, self.notebook_url, self.log, self.project_dir = url, notebook_url, log, project_dir

    log_tail = VoilaServer.log_tail


@pytest.fixture
def lab_server(tmp_path) -> LabServer:
    """JupyterLab on a copy of ``notebooks/dashboard.ipynb`` (Lab may save what it opens:
    never the repository's), with the project in ``tmp_path``. Settings, workspaces and
    ``overrides.json`` live in ``tmp_path`` too, so nothing outside it is read or written."""
    _require("jupyterlab")
    port = _free_port()
    root, settings = tmp_path / "lab-root", tmp_path / "lab-app-settings"
    root.mkdir()
    settings.mkdir()
    shutil.copy(NOTEBOOK, root / NOTEBOOK.name)
    (settings / "overrides.json").write_text(json.dumps(LAB_OVERRIDES, indent=1))
    log = tmp_path / "lab.log"
    env = dashboard_env(tmp_path / "project")
    env.update(JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "lab-user-settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "lab-workspaces"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter-runtime"))
    # --allow-root: CI runs as root. No token or password: the server listens on 127.0.0.1 only.
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
               "--IdentityProvider.token=", "--ServerApp.password=", "--allow-root",
               "--LabApp.expose_app_in_browser=True", "--LabApp.extension_manager=readonly",
               f"--ServerApp.root_dir={root}", f"--LabApp.app_settings_dir={settings}"]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    server = LabServer(url, f"{url}lab/tree/{NOTEBOOK.name}", log, tmp_path / "project")
    try:
        _wait_until_serving(process, f"{url}lab", "JupyterLab", server.log_tail)
        yield server
    finally:
        _stop(process)


def open_dashboard(browser_page: BrowserPage, server: VoilaServer, output_dir: Path, timeout_ms: float,
                   failed_screenshot: str = "render-failed.png") -> None:
    """Load the dashboard page and wait until its Resume button and map are drawn.

    On failure: a screenshot named ``failed_screenshot`` and an AssertionError with the
    server's log.
    """
    page = browser_page.page
    page.goto(server.url, timeout=timeout_ms)
    try:
        page.locator(".resume-button").wait_for(state="visible", timeout=timeout_ms)
        page.locator(".domain-map path.leaflet-interactive").first.wait_for(timeout=timeout_ms)
    except Exception as exc:
        page.screenshot(path=str(output_dir / failed_screenshot))
        raise AssertionError(f"The dashboard did not render: {exc}\nServer log:\n{server.log_tail()}") from None
    page.wait_for_timeout(500)  # let bqplot and leaflet finish their first draw


# Display defects a screenshot shows, measured in the page (client pixels): a bqplot
# title cut at its figure's edge, an axis label over its tick labels, a map legend label
# not beside its swatch, the domain outline closer than ``outline_margin`` to the map's
# edge. Elements not laid out (zero size) are skipped.
_LAYOUT_PROBLEMS_JS = """outlineMargin => {
  const problems = [];
  const box = e => e.getBoundingClientRect();
  const drawn = r => r.width > 0 && r.height > 0;
  const overlap = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  for (const figure of document.querySelectorAll('.bqplot.figure')) {
    const svg = figure.querySelector('svg');
    const title = figure.querySelector('.mainheading');
    if (!svg || !title) continue;
    const s = box(svg), t = box(title), name = title.textContent;
    if (drawn(t) && (t.left < s.left - 0.5 || t.right > s.right + 0.5))
      problems.push(`title '${name}' [${t.left}, ${t.right}] outside its figure [${s.left}, ${s.right}]`);
    for (const axis of figure.querySelectorAll('g.axis')) {
      const label = axis.querySelector('text.axislabel');
      if (!label || !drawn(box(label))) continue;
      const l = box(label);
      if (l.left < s.left - 0.5 || l.right > s.right + 0.5 || l.top < s.top - 0.5 || l.bottom > s.bottom + 0.5)
        problems.push(`axis label '${label.textContent}' of '${name}' outside its figure`);
      for (const tick of axis.querySelectorAll('.tick text')) {
        if (drawn(box(tick)) && overlap(l, box(tick)))
          problems.push(`axis label '${label.textContent}' of '${name}' over tick label '${tick.textContent}'`);
      }
    }
  }
  for (const row of document.querySelectorAll('.map-legend .legend-row')) {
    const swatch = box(row.querySelector('.legend-swatch')), label = box(row.querySelector('.legend-label'));
    const text = row.innerText.trim();
    if (Math.abs((swatch.top + swatch.bottom) / 2 - (label.top + label.bottom) / 2) > 2 || label.left < swatch.right)
      problems.push(`legend label '${text}' not beside its swatch`);
  }
  for (const map of document.querySelectorAll('.domain-map')) {
    const m = box(map);
    if (!map.querySelector('.map-legend .legend-row')) problems.push('no legend rows (.map-legend .legend-row) on the map');
    for (const outline of map.querySelectorAll('path.leaflet-interactive[stroke="#c0392b"]')) {
      const o = box(outline);
      const margin = Math.min(o.left - m.left, m.right - o.right, o.top - m.top, m.bottom - o.bottom);
      if (margin < outlineMargin)
        problems.push(`domain outline ${margin.toFixed(1)} px from the map's edge (${m.width} x ${m.height} px)`);
    }
  }
  return problems;
}"""
#: Least distance (px) of the domain outline's drawn box from the map's edge: the map
#: opens with every outline vertex 40 px inside (fit_view); the stroke is 2 px wide.
OUTLINE_MARGIN_PX = 35


def assert_layout(page) -> None:
    """Fail if a title, axis label, legend row or the domain outline is drawn as the
    screenshots once showed them (cut off, overlapping, misaligned, past the edge)."""
    problems = page.evaluate(_LAYOUT_PROBLEMS_JS, OUTLINE_MARGIN_PX)
    assert not problems, "Layout defects in the page:\n" + "\n".join(problems)
