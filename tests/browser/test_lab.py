"""JupyterLab as a student meets it: run a chapter through the UI, answer an exercise."""

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
from pathlib import Path

import pytest
from browser_support import needs_chromium
from course_paths import ROOT, chapter_notebooks
from playwright.sync_api import TimeoutError as PlaywrightTimeout

pytestmark = [needs_chromium, pytest.mark.slow]
# The notebook in the active tab: others stay in the page, hidden, once opened.
ACTIVE = ".jp-NotebookPanel:not(.lm-mod-hidden)"
# Lab settings for a test: every cell stays in the page (no windowing), no news pop-ups.
SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": '{"windowingMode": "none"}',
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": (
        '{"fetchNews": "false", "checkForUpdates": false}'
    ),
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_settings(folder: Path) -> None:
    for name, text in SETTINGS.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving a scratch copy of the course (autosave never touches the repo)."""
    work = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "book", work / "book")
    if (ROOT / "exercises" / "student").exists():
        shutil.copytree(ROOT / "exercises" / "student", work / "exercises")
    _write_settings(work / ".settings")
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(work / ".settings")}
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={work}",
    ]
    if os.geteuid() == 0:  # containers and CI machines run as root
        command.append("--allow-root")
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(f"{base}/api/status?token={token}", server)
        yield base, token
    finally:
        _stop(base, token, server)


def _stop(base: str, token: str, server: subprocess.Popen) -> None:
    """Shut the kernels down through the API, then the server; leave nothing running."""
    try:
        with urllib.request.urlopen(f"{base}/api/kernels?token={token}", timeout=5) as reply:
            kernels = json.load(reply)
        for kernel in kernels:
            url = f"{base}/api/kernels/{kernel['id']}?token={token}"
            urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=30)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _wait_until_up(url: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, "JupyterLab exited at start-up"
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"JupyterLab did not answer {url} within {timeout} s")


def _open_notebook(page, lab, path: str):
    base, token = lab
    # a new, empty workspace: no notebook from an earlier test or run is restored beside it
    workspace = secrets.token_hex(4)
    page.goto(f"{base}/lab/workspaces/{workspace}/tree/{path}?reset&token={token}")
    page.wait_for_selector(f"{ACTIVE} .jp-Cell", timeout=60_000)
    page.wait_for_selector(
        f"{ACTIVE} .jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000
    )


_PROMPTS = f"[...document.querySelectorAll('{ACTIVE} .jp-CodeCell .jp-InputPrompt')]"


def _start_run_all(page) -> None:
    """Click Run All Cells in the menu and wait until the first cell is queued or has run.

    On a cold start (a fresh environment, the kernel still loading) the first click can be lost:
    no cell is ever queued. A reader would click it again, and so does this, once.
    """
    started = f"() => {_PROMPTS}.some(p => /\\[(\\*|\\d+)\\]/.test(p.innerText))"
    for attempt in (1, 2):
        _menu(page, "Run", "Run All Cells")
        try:
            page.wait_for_function(started, timeout=30_000)
            return
        except PlaywrightTimeout:
            if attempt == 2:
                raise


def _menu(page, menu: str, item: str) -> None:
    page.click(f".lm-MenuBar-item:has-text('{menu}')")
    page.click(f".lm-Menu-item:has-text('{item}')")


def _run_all(page, timeout_ms: int = 180_000) -> None:
    """Clear the stored outputs, run every cell through the UI, and wait until each code cell
    has a new execution count (so nothing left over from the committed notebook can pass)."""
    _menu(page, "Edit", "Clear Outputs of All Cells")
    page.wait_for_function(f"() => {_PROMPTS}.every(p => !/\\d/.test(p.innerText))")
    assert page.locator(f"{ACTIVE} .jp-RenderedImage img").count() == 0
    _start_run_all(page)
    try:
        page.wait_for_function(
            f"() => {_PROMPTS}.every(p => /\\[\\d+\\]/.test(p.innerText))", timeout=timeout_ms
        )
    except PlaywrightTimeout:
        page.screenshot(path=ROOT / "_build" / "lab-run-all-timeout.png", full_page=True)
        prompts = page.evaluate(f"{_PROMPTS}.map(p => p.innerText)")
        raise AssertionError(f"not every cell ran: {prompts}") from None


def _error_outputs(page) -> list[str]:
    return page.eval_on_selector_all(
        f"{ACTIVE} .jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']",
        "outs => outs.map(o => o.innerText.slice(0, 500))",
    )


@pytest.mark.parametrize("entry", chapter_notebooks()[:1])
def test_a_chapter_runs_top_to_bottom_in_jupyterlab(page, lab, entry):
    _open_notebook(page, lab, f"{entry}.ipynb")
    _run_all(page)
    assert _error_outputs(page) == []
    figures = page.locator(f"{ACTIVE} .jp-RenderedImage img").count()
    assert figures >= 3, "the figures did not appear"


def test_a_student_answers_an_exercise_and_sees_it_pass(page, lab):
    _open_notebook(page, lab, "exercises/01_convolution.ipynb")
    answer = page.locator(f"{ACTIVE} .jp-CodeCell", has_text="def output_size(").first
    answer.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    # insert_text types no keys, so the editor adds no brackets or indentation of its own
    page.keyboard.insert_text(
        "def output_size(n, k, stride=1, padding=0):\n"
        "    return (n + 2 * padding - k) // stride + 1\n"
    )
    # Run everything: the other answers are still stubs, so execution stops at a later cell.
    _start_run_all(page)
    # the check cell itself, not the set-up cell whose comment mentions it
    check = page.locator(f"{ACTIVE} .jp-CodeCell").filter(
        has_text='grader.check("q1")', has_not_text="import otter"
    )
    check.locator(".jp-OutputArea-output").first.wait_for(timeout=120_000)
    output = check.locator(".jp-OutputArea").inner_text()
    assert "q1 passed" in output, output
