"""Fixtures shared by the test modules: the site, built once per test run."""

import subprocess
import sys
from pathlib import Path

import pytest
from course_paths import ROOT


@pytest.fixture(scope="session")
def built_site(tmp_path_factory) -> Path:
    """Build the book as `make book` does (warnings are errors) and return its html folder."""
    out = tmp_path_factory.mktemp("site")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jupyter_book), "build", str(ROOT), "--path-output", str(out)]
    result = subprocess.run(
        [*cmd, "--warningiserror", "--keep-going"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out / "_build" / "html"
