"""The batch grader discriminates, and a hostile submission costs only its own points.

One real batch, graded with bubblewrap and two jobs, holds the solution, the untouched student
notebook, one wrong solution per mistake and one submission per attack (tests/grading/
submissions.py builds them all from the exercise's notebooks). A smaller batch checks the
fallback without bubblewrap. Short limits keep the batch to well under a minute.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from pathlib import Path

import pytest
from course_paths import ROOT
from grading.submissions import (
    FULL_MARKS,
    NOT_NOTEBOOKS,
    ORPHAN_MARKER,
    POINTS,
    SOURCE,
    WRONG,
    hostile,
    write_batch,
)

from coursepkg.grading import batch, sandbox
from coursepkg.grading.spec import load_exercise

pytestmark = pytest.mark.slow

LIMITS = sandbox.Limits(wall_s=10, cpu_s=6, memory_mb=3072, output_mb=4)
NAMES = (
    ["solution.ipynb", "stub.ipynb"]
    + [f"wrong_{name}.ipynb" for name in WRONG]
    + [f"hostile_{name}.ipynb" for name in hostile(ROOT, 0)]
    + [f"broken_{name}.ipynb" for name in NOT_NOTEBOOKS]
)


class Listener:
    """A TCP server on the loopback that records every connection a submission makes to it."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(2)
                self.connections.append(connection.recv(100))


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _grade(folder: Path, isolate: bool) -> dict[str, batch.Row]:
    rows = batch.grade_folder(load_exercise(SOURCE), folder, LIMITS, 2, isolate, progress=False)
    assert [row.file for row in rows] == sorted(row.file for row in rows)
    return {row.file: row for row in rows}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """(rows by file name, expectations, digests before, digests after, listener)."""
    if not sandbox.bwrap_works():
        pytest.fail("bubblewrap (bwrap) is required to test the sandbox; see README")
    listener = Listener()
    folder = tmp_path_factory.mktemp("submissions")
    expected = write_batch(folder, listener.port)
    (folder / "notes.txt").write_text("not a notebook suffix: must be ignored")
    before = _digests(folder)
    rows = _grade(folder, isolate=True)
    listener.server.close()
    return rows, expected, before, _digests(folder), listener


def test_one_row_per_notebook_sorted(graded):
    rows, expected, *_ = graded
    assert sorted(rows) == sorted(expected) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_each_submission_gets_its_verdict(graded, name):
    rows, expected, *_ = graded
    row, want = rows[name], expected[name]
    assert (row.status, row.total) == (want["status"], want["total"]), row.message
    assert row.max == FULL_MARKS
    assert row.total == sum(row.points.values())


@pytest.mark.parametrize("name", list(WRONG))
def test_a_wrong_solution_loses_exactly_its_question(graded, name):
    rows, expected, *_ = graded
    row = rows[f"wrong_{name}.ipynb"]
    question = expected[row.file]["question"]
    assert row.points == {**POINTS, question: 0.0}
    assert row.message.startswith(f"{question}: ")


def test_stub_and_broken_files_say_why(graded):
    rows, *_ = graded
    assert (
        "q1: output_size(7, 3): TypeError: expected numbers, got NoneType"
        in rows["stub.ipynb"].message
    )
    assert rows["broken_truncated_json.ipynb"].message.startswith("invalid JSON")
    assert rows["broken_json_list.ipynb"].message == "no list of cells"
    assert rows["hostile_infinite_loop.ipynb"].message.startswith(("stopped after", "used its"))
    assert "MemoryError" in rows["hostile_allocate_50gb.ipynb"].message
    assert "SIGSEGV" in rows["hostile_deep_recursion.ipynb"].message
    assert "SystemExit" in rows["hostile_sys_exit_mid_notebook.ipynb"].message


def test_sha256_is_of_the_submitted_file(graded):
    rows, _, before, *_ = graded
    assert all(rows[name].sha256 == before[name] for name in rows)


def test_submissions_folder_is_untouched(graded):
    _, _, before, after, _ = graded
    assert after == before


def test_forged_answer_files_are_refused(graded):
    rows, *_ = graded
    message = rows["hostile_fake_results.ipynb"].message
    assert "q2: " in message and "q1: " in message


def test_no_network_connection_got_out(graded):
    *_, listener = graded
    assert listener.connections == []


def test_no_child_process_outlives_its_submission(graded):
    assert graded  # the batch has finished
    leftovers = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if ORPHAN_MARKER.encode() in cmdline:
            leftovers.append(pid)
    assert leftovers == []


def test_without_bubblewrap_limits_still_hold(tmp_path):
    """The fallback keeps time, memory and output limits (file isolation needs bubblewrap)."""
    everything = write_batch(tmp_path / "all", port=9)
    folder = tmp_path / "fallback"
    folder.mkdir()
    keep = ["solution", "stub", "wrong_q4_bias_missing", "hostile_infinite_loop"]
    keep += ["hostile_allocate_50gb", "hostile_print_1gb", "hostile_os_exit_mid_notebook"]
    keep += ["hostile_patch_numpy", "broken_not_json"]
    for name in keep:
        (folder / f"{name}.ipynb").write_bytes((tmp_path / "all" / f"{name}.ipynb").read_bytes())
    rows = _grade(folder, isolate=False)
    for name, row in rows.items():
        want = everything[name]
        assert (row.status, row.total) == (want["status"], want["total"]), (name, row.message)
