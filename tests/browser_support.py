"""What the browser tests share: where Chromium is, how to start it, how to watch a page load.

The tests drive Debian's `chromium` through playwright (playwright's own browser download needs
internet). Where it is missing they are skipped with the command that enables them.
"""

import shutil
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Flags for Chromium headless as root on a machine without internet: no sandbox (root), no
# GPU, and none of the background connections that would show up as failed requests.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium not found; install it (Debian/Ubuntu: apt-get install chromium) "
    "to run the browser tests",
)


@dataclass
class Visit:
    """What happened while a page loaded: status, console errors, failed and foreign requests."""

    status: int
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)


def visit(page, url: str) -> Visit:
    """Open ``url`` in ``page`` and record everything that went wrong until the network is idle."""
    origin = urlsplit(url).netloc
    errors, failed, foreign = [], [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("requestfailed", lambda r: failed.append(f"{r.url} ({r.failure})"))
    page.on(
        "request",
        lambda r: None if urlsplit(r.url).netloc in (origin, "") else foreign.append(r.url),
    )
    response = page.goto(url)
    page.wait_for_load_state("networkidle")
    return Visit(response.status, errors, failed, foreign)
