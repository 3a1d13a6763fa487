"""The course in a real JupyterLab: run a lesson in Chromium and move the latent explorer's slider.

Needs Chromium and playwright-core (``tools/install_browser_deps.sh``); without them the test is
reported as skipped, with the reason. Run it with ``pytest -m browser tests/test_browser.py -rs``.
Screenshots and ``result.json`` land in ``runs/browser/``.

The notebook is lesson 01 with its quick parameters (``tools/lessons.py``) when it exists, else a
small fixture (``tests/browser/fixture_explorer.ipynb``); ``GANLIB_BROWSER_NOTEBOOK`` picks another.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools import lessons  # importable: tests/conftest.py puts the repository on sys.path

ROOT = Path(__file__).resolve().parents[1]
BROWSER_DIR = ROOT / "tests" / "browser"
FIXTURE = BROWSER_DIR / "fixture_explorer.ipynb"
LESSON = ROOT / "solutions" / "01_mlp_gan_mnist.ipynb"
SHOTS = ROOT / "runs" / "browser"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
RUN_TIMEOUT_S = int(os.environ.get("GANLIB_BROWSER_TIMEOUT", "600"))

pytestmark = pytest.mark.browser

# JupyterLab user settings for the test: no news/update pop-ups, every cell rendered (no
# virtual scrolling), so the widgets of the last cells exist in the page.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def missing_dependency() -> str | None:
    """Why the browser test cannot run here, or None."""
    fix = "run tools/install_browser_deps.sh"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM} ({fix}, or set CHROMIUM_PATH)"
    if shutil.which("node") is None:
        return "no node on PATH (install Node.js >= 20)"
    if not (BROWSER_DIR / "node_modules" / "playwright-core").is_dir():
        return f"playwright-core is not installed in tests/browser ({fix})"
    if shutil.which("jupyter-lab", path=str(Path(sys.executable).parent)) is None:
        return "jupyterlab is not installed next to this Python (pip install -e '.[dev]')"
    return None


def skip_or_fail(reason: str | None) -> None:
    """Skip when something the browser test needs is missing; fail instead where it must run."""
    if reason and os.environ.get("GANLIB_REQUIRE_BROWSER") == "1":  # CI: a skip would hide it
        pytest.fail(f"GANLIB_REQUIRE_BROWSER=1 but {reason} (bash tools/install_browser_deps.sh)")
    if reason:
        pytest.skip(reason)


def test_a_missing_browser_fails_where_the_test_must_run(monkeypatch):
    monkeypatch.setenv("GANLIB_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="chromium is missing"):
        skip_or_fail("chromium is missing")
    skip_or_fail(None)  # nothing missing: the test runs
    monkeypatch.delenv("GANLIB_REQUIRE_BROWSER")
    with pytest.raises(pytest.skip.Exception, match="chromium is missing"):
        skip_or_fail("chromium is missing")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare_notebook(dest: Path) -> Path:
    """Copy the notebook under test into ``dest``, with quick parameters for a lesson."""
    chosen = os.environ.get("GANLIB_BROWSER_NOTEBOOK")
    source = Path(chosen) if chosen else (LESSON if LESSON.exists() else FIXTURE)
    if not source.exists():
        raise FileNotFoundError(f"GANLIB_BROWSER_NOTEBOOK={chosen} does not exist")
    target = dest / source.name
    try:
        lesson = lessons.find(source.stem)
    except KeyError:  # not a lesson (the fixture, a notebook of your own): run it as it is
        shutil.copy(source, target)
        return target

    import nbformat
    from papermill.iorw import load_notebook_node  # reads like papermill (fills in cell tags)
    from papermill.parameterize import parameterize_notebook

    params, _ = lessons.run_parameters(
        lesson, source, OUT_DIR=f"runs/{lesson.stem}", DATA_SOURCE="offline", DEVICE="cpu"
    )
    notebook = parameterize_notebook(load_notebook_node(str(source)), params)
    nbformat.write(notebook, target)
    return target


def wait_for_server(url: str, server: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"jupyter lab exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(
        f"jupyter lab did not answer within {timeout:.0f} s:\n{log.read_text()[-3000:]}"
    )


def stop(process: subprocess.Popen) -> None:
    """Stop a process started in its own session, with everything it started."""
    if process.poll() is not None:
        return
    for sig, wait in [(signal.SIGTERM, 10), (signal.SIGKILL, 5)]:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[dict]:
    """A throwaway JupyterLab on 127.0.0.1: temp root, settings, token and port."""
    skip_or_fail(missing_dependency())
    root = tmp_path / "root"
    root.mkdir()
    notebook = prepare_notebook(root)
    settings = tmp_path / "settings"
    for name, values in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "TQDM_DISABLE": "1",  # inherited by the kernel
        "MPLBACKEND": "agg",
    }
    port, token = free_port(), secrets.token_hex(16)
    command = [
        str(Path(sys.executable).parent / "jupyter-lab"),
        "--no-browser",
        "--allow-root",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    log = tmp_path / "jupyter.log"
    with log.open("w") as log_file:
        server = subprocess.Popen(
            command, cwd=root, env=env, stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_server(f"{url}/api/status?token={token}", server, log)
        yield {"url": url, "token": token, "notebook": notebook.name, "log": log}
    finally:
        stop(server)


def test_lesson_runs_in_jupyterlab_and_the_explorer_responds(lab):
    if SHOTS.exists():
        shutil.rmtree(SHOTS)
    command = [
        "node", str(BROWSER_DIR / "lab_test.mjs"),
        "--url", lab["url"], "--token", lab["token"], "--notebook", lab["notebook"],
        "--out", str(SHOTS), "--chromium", CHROMIUM, "--run-timeout", str(RUN_TIMEOUT_S),
    ]  # fmt: skip
    started = time.monotonic()
    node = subprocess.Popen(
        command, cwd=BROWSER_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        output, _ = node.communicate(timeout=RUN_TIMEOUT_S + 180)
    except subprocess.TimeoutExpired:
        output = "(node timed out)"
    finally:
        stop(node)  # also the Chromium it started
    elapsed = time.monotonic() - started
    print(output, f"\nbrowser run: {elapsed:.1f} s", sep="")
    result_file = SHOTS / "result.json"
    assert result_file.exists(), f"no result from the browser run:\n{output}"
    result = json.loads(result_file.read_text())
    assert node.returncode == 0 and result["ok"], (
        f"{result.get('error')}\n--- node output ---\n{output}\n"
        f"--- jupyter log (tail) ---\n{lab['log'].read_text()[-2000:]}"
    )
    code_cells = [c for c in result["cells"] if c["type"] == "code"]
    assert code_cells and all(c["executionCount"] is not None for c in code_cells)
    assert result["image"]["before"]["hash"] != result["image"]["after"]["hash"]
    for name in ["02_executed.png", "04_explorer_after.png"]:
        assert (SHOTS / name).stat().st_size > 10_000, f"{name} looks empty"
