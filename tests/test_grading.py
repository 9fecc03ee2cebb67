"""Unit tests of the grading package, in-process: parsing, judging, scoring, reports, CLI."""

from __future__ import annotations

import io
import json
import os
import runpy
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest
from course_paths import exercise_sets
from grading.submissions import SOURCE, STUDENT, notebook_text, solution_cells

from coursepkg.grading import batch, cli, compare, release, runner, sandbox
from coursepkg.grading.spec import SpecError, load_exercise, strip_solution_markers

SOBEL_X = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]])


# --- spec -----------------------------------------------------------------------------------------


def test_chapter_one_exercise_is_parsed():
    exercise = load_exercise(SOURCE)
    assert [q.name for q in exercise.questions] == ["q1", "q2", "q3", "q4", "q5", "q6"]
    assert exercise.max_points == 9
    assert all(q.all_or_nothing for q in exercise.questions)
    counts = {
        q.name: (sum(not c.hidden for c in q.cases), sum(c.hidden for c in q.cases))
        for q in exercise.questions
    }
    assert counts == {
        "q1": (2, 4),
        "q2": (3, 4),
        "q3": (2, 3),
        "q4": (2, 3),
        "q5": (1, 0),
        "q6": (2, 4),
    }
    assert exercise.cases[0].describe() == "output_size(7, 3)"
    first_conv = next(c for c in exercise.cases if c.name == "conv2d" and c.hidden)
    assert first_conv.describe() == (
        "conv2d(array (2, 3, 9, 9), array (5, 3, 3, 3), array (5,), stride=2, padding=1)"
    )
    assert exercise.cases[-1].describe() == "dense_params(9, 2)"
    code = "\n".join(exercise.solution_cells)
    assert "SOLUTION" not in code and "IGNORE" not in code and "call(" not in code
    assert "def conv2d" in code and "grader = otter.Notebook" in code


def test_strip_solution_markers_keeps_solutions_and_drops_prompts():
    source = (
        "def f(x):\n    # BEGIN SOLUTION\n    y = x + 1\n    # END SOLUTION\n"
        '    """ # BEGIN PROMPT\n    y = ...\n    """ # END PROMPT\n'
        "    return y  # SOLUTION\nz = 2  # SOLUTION NO PROMPT"
    )
    assert strip_solution_markers(source) == "def f(x):\n    y = x + 1\n    return y\nz = 2"


def _source(tmp_path: Path, *cells: tuple[str, str]) -> Path:
    nb = nbformat.v4.new_notebook()
    make = {"raw": nbformat.v4.new_raw_cell, "code": nbformat.v4.new_code_cell}
    nb.cells = [make[kind](text) for kind, text in cells]
    path = tmp_path / "99_test.ipynb"
    nbformat.write(nb, path)
    return path


def _question(test_cell: str, config: str = "name: q1\npoints: 2") -> list[tuple[str, str]]:
    return [
        ("raw", f"# BEGIN QUESTION\n{config}"),
        ("raw", "# BEGIN SOLUTION"),
        ("code", "def f(x):\n    return x  # SOLUTION"),
        ("raw", "# END SOLUTION"),
        ("raw", "# BEGIN TESTS"),
        ("code", test_cell),
        ("raw", "# END TESTS"),
        ("raw", "# END QUESTION"),
    ]


def test_declarations_accept_arithmetic_arrays_and_keywords(tmp_path):
    cell = "# hidden\ncall('f', 2 ** 3 - 1, array([[1, 2]]), normal(2, 3, seed=4), mode=(1, 2))"
    exercise = load_exercise(
        _source(tmp_path, *_question(cell, "name: q1\npoints: 2\nall_or_nothing: false"))
    )
    (case,) = exercise.cases
    assert case.hidden and case.id == "q1.1" and not exercise.questions[0].all_or_nothing
    assert case.args[0].materialize() == 7
    assert case.args[1].materialize().tolist() == [[1, 2]]
    assert case.args[2].materialize().shape == (2, 3)
    assert case.kwargs == (("mode", case.kwargs[0][1]),) and case.kwargs[0][1].value == (1, 2)


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        (_question("launch('f')"), "unknown declaration"),
        (_question("x = call('f')"), "only call"),
        (_question("call('f'"), "cell 5"),
        (_question("call('f', 'a' * 2)"), "arithmetic on numbers"),
        (_question("call('f', normal(0, 3, seed=1))"), "positive int sizes"),
        (_question("array([1])"), "expected call"),
        (_question("call('f')", "points: 1"), "needs a YAML config with a name"),
        (_question("call('f')", "name: q1\npoints: -1"), "points must be a positive number"),
        (_question("call('f')")[:-1], "never closed"),
        ([("raw", "# END TESTS")], "without a matching BEGIN"),
        (_question("# only a comment"), "has no test cases"),
    ],
)
def test_bad_sources_are_refused_with_the_reason(tmp_path, cells, message):
    with pytest.raises(SpecError, match=message):
        load_exercise(_source(tmp_path, *cells))


# --- judges and answer files ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("got", "passed", "reason"),
    [
        (np.eye(2), True, "ok"),
        (np.eye(2) + 1e-12, True, "ok"),
        (np.eye(3), False, "expected shape (2, 2), got (3, 3)"),
        (np.eye(2) * 2, False, "wrong values (largest error 1)"),
        (np.array(["a"]), False, "expected numbers, got <U1 data"),
    ],
)
def test_same_values(got, passed, reason):
    assert compare.same_values(got, np.eye(2)) == (passed, reason)


@pytest.mark.parametrize(
    ("kernel", "passed", "reason"),
    [
        (SOBEL_X, True, "ok"),
        (np.array([[-1.0, 1.0]]), True, "ok"),
        (SOBEL_X.T, False, "no response to a vertical edge"),
        (SOBEL_X + SOBEL_X.T, False, "responds to horizontal edges too"),
        (SOBEL_X * 100 + 0.01, False, "responds to a flat image"),
        (np.zeros((3, 3)), False, "no response"),
        (np.ones((2, 3, 3)), False, "small 2-D kernel"),
        (np.array([[np.nan, 1.0]]), False, "inf or nan"),
    ],
)
def test_vertical_edges_judges_behaviour_not_one_kernel(kernel, passed, reason):
    ok, why = compare.vertical_edges(kernel, SOBEL_X)
    assert ok is passed and reason in why


def test_judge_turns_exceptions_into_failures(monkeypatch):
    monkeypatch.setitem(compare.JUDGES, "broken", lambda got, expected: 1 / 0)
    passed, reason = compare.judge("broken", np.ones(1), np.ones(1))
    assert not passed and "ZeroDivisionError" in reason


def _npy(array, **kwargs) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, **kwargs)
    return buffer.getvalue()


def test_read_answer_accepts_numbers_only(tmp_path):
    good = tmp_path / "good.npy"
    good.write_bytes(_npy(np.arange(3.0)))
    assert compare.read_answer(good).tolist() == [0.0, 1.0, 2.0]
    bad = {
        "pickle.npy": (_npy(np.array([{}], dtype=object), allow_pickle=True), "unreadable"),
        "text.npy": (_npy(np.array(["a"])), "not an array of numbers"),
        "garbage.npy": (b"\x93NUMPY garbage", "unreadable"),
        "big.npy": (_npy(np.zeros(100)), "larger than 64 bytes"),
    }
    for name, (data, message) in bad.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(compare.AnswerError, match=message):
            compare.read_answer(tmp_path / name, limit=64 if name == "big.npy" else 2**20)


def test_read_capped_refuses_links_pipes_and_missing_files(tmp_path):
    (tmp_path / "link").symlink_to(tmp_path / "target")
    (tmp_path / "target").write_text("x")
    os.mkfifo(tmp_path / "pipe")
    for name, message in [
        ("link", "cannot open"),
        ("pipe", "not a regular file"),
        ("no", "cannot"),
    ]:
        with pytest.raises(compare.AnswerError, match=message):
            compare.read_capped(tmp_path / name, 100)
    assert compare.read_capped(tmp_path / "target", 100) == b"x"


# --- runner (in this process, limits and exit left out) -------------------------------------------


def test_runner_helpers():
    assert runner.without_magics("%matplotlib inline\nx = 1\n  !pip install y") == (
        "pass\nx = 1\n  pass"
    )
    notebook = runner.otter_stand_in().Notebook("x.ipynb")
    assert notebook.check("q1") is None and notebook.export() is None


def test_runner_writes_answers_errors_and_cell_failures(tmp_path, monkeypatch):
    exercise = load_exercise(SOURCE)
    grader_dir = batch.prepare_grader_dir(exercise, tmp_path / "grader")
    work = tmp_path / "work"
    work.mkdir()
    cells = [*solution_cells(), "del conv_params\nraise ValueError('boom')", "%time x = 1"]
    cells.append("vertical_edge_kernel = 'a string'")
    (work / "cells.json").write_text(json.dumps(cells))
    monkeypatch.setattr(runner, "limit_resources", lambda *limits: None)
    monkeypatch.delitem(sys.modules, "otter", raising=False)  # restored afterwards

    def leave(code):
        raise SystemExit(code)

    monkeypatch.setattr(runner.os, "_exit", leave)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    with pytest.raises(SystemExit):
        runner.main(str(grader_dir), str(work), 10, 1000, 10)
    out = work / "out"
    assert (out / "done").is_file()
    assert json.loads((out / "cells.json").read_text()) == [
        {"cell": len(cells) - 2, "error": "ValueError: boom"}
    ]
    assert (out / "q5.1.err").read_text() == "TypeError: expected numbers, got str"
    assert compare.read_answer(out / "q1.1.npy") == 5
    assert (out / "q6.1.err").read_text() == "NameError: conv_params is not defined"
    batch.make_writable(tmp_path)


# --- scoring, status and reports ------------------------------------------------------------------


def test_notebook_code_cells():
    text = notebook_text(["x = 1", "y = 2"])
    assert batch.notebook_code_cells(text.encode()) == ["x = 1", "y = 2"]
    listed = {"cells": [{"cell_type": "code", "source": ["a = 1\n", "b = 2"]}, "junk"]}
    assert batch.notebook_code_cells(json.dumps(listed).encode()) == ["a = 1\nb = 2"]
    for data, message in [
        (b"  \n", "empty file"),
        (b"\xff\xfe", "invalid JSON"),
        (b'{"cells": 3}', "no list of cells"),
        (json.dumps({"cells": [{"cell_type": "code", "source": 3}]}).encode(), "not text"),
        (b" " * (batch.MAX_NOTEBOOK_BYTES + 1) + b"x", "larger than"),
    ]:
        with pytest.raises(ValueError, match=message):
            batch.notebook_code_cells(data)


def test_score_all_or_nothing_and_in_proportion():
    exercise = load_exercise(SOURCE)
    exercise.questions[1].all_or_nothing = False
    verdict = batch.Verdict({"q1.3": "wrong", "q2.1": "wrong"})
    points = batch.score(exercise, verdict)
    assert points["q1"] == 0 and points["q2"] == pytest.approx(2 * 6 / 7) and points["q4"] == 3


def _out(tmp_path: Path, errors: list[str], done: bool = True) -> Path:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    cells = [{"cell": i + 1, "error": e} for i, e in enumerate(errors)]
    (out / "cells.json").write_text(json.dumps(cells))
    if done:
        (out / "done").write_text("done")
    return out


@pytest.mark.parametrize(
    ("returncode", "timed_out", "seconds", "errors", "done", "status", "detail"),
    [
        (0, False, 1, [], True, "ok", ""),
        (0, False, 1, ["NameError: x"], True, "ok", "cell 1: NameError: x"),
        (-9, True, 10, [], False, "timeout", "stopped after 10 s of wall-clock time"),
        (128 + signal.SIGXCPU, False, 7, [], False, "timeout", "used its 6 s of CPU time"),
        (-9, False, 7, [], False, "timeout", "used its 6 s of CPU time"),
        (-9, False, 1, [], False, "memory", "needed more than 500 MB; "),
        (0, False, 1, ["x", "MemoryError: big"], True, "memory", "cell 2: MemoryError: big"),
        (1, False, 1, ["OSError: [Errno 27] File too large"], True, "output", "more than 2 MB"),
        (139, False, 1, [], False, "crashed", "killed by SIGSEGV"),
        (0, False, 1, [], False, "crashed", "exited (code 0) before its answers were read"),
    ],
)
def test_classify(tmp_path, returncode, timed_out, seconds, errors, done, status, detail):
    limits = sandbox.Limits(wall_s=10, cpu_s=6, memory_mb=500, output_mb=2)
    outcome = sandbox.Outcome(returncode, timed_out, seconds)
    got_status, got_detail = batch.classify(outcome, _out(tmp_path, errors, done), limits)
    assert got_status == status and detail in got_detail


def test_classify_ignores_a_forged_cell_report(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "cells.json").write_text('{"not": "a list"}')
    assert batch.classify(sandbox.Outcome(0, False, 1), out, sandbox.Limits()) == (
        "crashed",
        ("exited (code 0) before its answers were read"),
    )


def test_summarize_is_short():
    exercise = load_exercise(SOURCE)
    verdict = batch.Verdict({c.id: "x" * 80 for c in exercise.cases})
    message = batch.summarize(exercise, verdict, "cell 3: boom")
    assert message.startswith("cell 3: boom; q1: output_size(7, 3): xxx")
    assert len(message) == batch.MAX_MESSAGE and message.endswith("...")


def test_reports_hold_the_same_rows(tmp_path):
    exercise = load_exercise(SOURCE)
    points = {q.name: q.points for q in exercise.questions}
    rows = [
        batch.Row("a.ipynb", "ab" * 32, points, 9.0, 9.0, "ok"),
        batch.Row(
            "b.ipynb", "cd" * 32, dict.fromkeys(points, 0.0), 0.0, 9.0, "timeout", 'a "b", c'
        ),
    ]
    json_path = batch.write_reports(rows, exercise, tmp_path / "grades.csv")
    assert json_path == tmp_path / "grades.json"
    lines = (tmp_path / "grades.csv").read_text().splitlines()
    assert lines[0] == "file,sha256,q1,q2,q3,q4,q5,q6,total,max,status,message"
    assert lines[1] == f"a.ipynb,{'ab' * 32},1,2,1,3,1,1,9,9,ok,"
    assert lines[2] == f'b.ipynb,{"cd" * 32},0,0,0,0,0,0,0,9,timeout,"a ""b"", c"'
    report = json.loads(json_path.read_text())
    assert report["max"] == 9 and report["questions"]["q4"] == 3
    assert [r["file"] for r in report["submissions"]] == ["a.ipynb", "b.ipynb"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grades.csv", "grades.json"]


# --- sandbox --------------------------------------------------------------------------------------


def test_outcome_signal():
    assert sandbox.Outcome(-9, False, 1).signal == 9
    assert sandbox.Outcome(139, False, 1).signal == 11
    assert sandbox.Outcome(1, False, 1).signal is None


def test_bwrap_command_shows_only_what_the_runner_needs(tmp_path):
    command = sandbox.bwrap_command(tmp_path / "g", tmp_path / "w", [SOURCE.parent, tmp_path])
    text = " ".join(command)
    for flag in ["--unshare-all", "--die-with-parent", "--new-session", "--clearenv"]:
        assert flag in command
    assert f"--ro-bind {tmp_path / 'g'} /grader" in text
    assert f"--bind {tmp_path / 'w'} /submission" in text
    bound = [command[i + 1] for i, part in enumerate(command) if part in ("--bind", "--ro-bind")]
    root = SOURCE.parents[2]
    assert str(root) not in bound and str(SOURCE.parent) not in bound
    assert sys.prefix in bound or str(Path(sys.prefix).resolve()) in bound


def test_bwrap_command_refuses_to_expose_a_private_folder(tmp_path):
    inside = Path(sys.prefix).resolve() / "lib"
    with pytest.raises(RuntimeError, match="must show"):
        sandbox.bwrap_command(tmp_path, tmp_path, [inside])


def test_bwrap_works_is_false_without_bwrap(monkeypatch):
    sandbox.bwrap_works.cache_clear()
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    try:
        assert sandbox.bwrap_works() is False
    finally:
        sandbox.bwrap_works.cache_clear()
    assert "file isolation is OFF" in sandbox.isolation_warning()


# --- release helpers ------------------------------------------------------------------------------


def test_repack_makes_zips_reproducible(tmp_path):
    for stamp, name in [((2020, 5, 4, 3, 2, 0), "a.zip"), ((2024, 1, 2, 3, 4, 6), "b.zip")]:
        with zipfile.ZipFile(tmp_path / name, "w") as archive:
            for entry in ["z.txt", "a.txt"]:
                archive.writestr(zipfile.ZipInfo(entry, stamp), entry)
        release.repack(tmp_path / name, tmp_path / f"fixed_{name}")
    assert (tmp_path / "fixed_a.zip").read_bytes() == (tmp_path / "fixed_b.zip").read_bytes()
    assert zipfile.ZipFile(tmp_path / "fixed_a.zip").namelist() == ["a.txt", "z.txt"]


@pytest.mark.parametrize("name", exercise_sets())
def test_otter_test_is_self_contained_and_passes_on_the_reference(name):
    exercise = load_exercise(SOURCE.parent / f"{name}.ipynb")
    expected = release.compute_reference(exercise)
    namespace: dict = {}
    for cell in exercise.solution_cells[1:]:  # all but the otter cell
        if "matplotlib" not in cell:
            exec(cell, namespace)
    for cases in exercise.test_cells.values():
        code = release.otter_test(cases, expected)
        body = code.split('""" # END TEST CONFIG\n')[1]
        scope: dict = {}
        exec(body, scope)
        (test,) = [v for k, v in scope.items() if k.startswith("test_")]
        test(*[namespace[name] for name in test.__code__.co_varnames[: test.__code__.co_argcount]])


def test_release_all_needs_sources(tmp_path):
    with pytest.raises(FileNotFoundError, match="no exercise sources"):
        release.release_all(tmp_path, tmp_path / "s", tmp_path / "b")


# --- command line ---------------------------------------------------------------------------------


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["grade", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for option in ["--out", "--jobs", "--wall", "--cpu", "--memory", "--output", "--no-sandbox"]:
        assert option in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["grade", "99_nothing", "."], "unknown exercise '99_nothing'; known: 01_convolution"),
        (["grade", "01_convolution", "no/such/dir"], "submissions folder 'no/such/dir' does not"),
        (["grade", "01_convolution", ".", "--jobs", "0"], "must be positive"),
        (["release", "--source", "no/such/dir"], "no exercise sources"),
    ],
)
def test_bad_command_lines_fail_clearly(capsys, monkeypatch, args, message):
    monkeypatch.chdir(SOURCE.parents[2])
    assert cli.main(args) == 1
    assert message in capsys.readouterr().err


def test_release_check_reports_stale_notebooks(tmp_path, monkeypatch, capsys):
    fresh = tmp_path / "fresh" / STUDENT.name
    fresh.parent.mkdir()
    fresh.write_bytes(STUDENT.read_bytes())
    monkeypatch.setattr(release, "release_all", lambda *args: [fresh])
    committed = tmp_path / "committed"
    committed.mkdir()
    assert cli.main(["release", "--check", "--student", str(committed)]) == 1
    (committed / STUDENT.name).write_bytes(STUDENT.read_bytes())
    assert cli.main(["release", "--check", "--student", str(committed)]) == 0
    assert cli.main(["release", "--student", str(committed)]) == 0
    output = capsys.readouterr().out
    assert "out of date" in output and "is up to date" in output and "wrote" in output


@pytest.mark.slow
def test_grade_command_writes_csv_and_json(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(SOURCE.parents[2])
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "solution.ipynb").write_text(notebook_text(solution_cells()))
    (folder / "stub.ipynb").write_bytes(STUDENT.read_bytes())
    out = tmp_path / "report" / "grades.csv"
    out.parent.mkdir()
    args = ["grade", "01_convolution", str(folder), "--out", str(out), "--jobs", "2", "--quiet"]
    assert cli.main([*args, "--no-sandbox"]) == 0
    assert "file isolation is OFF" in capsys.readouterr().err
    first = out.read_text()
    assert cli.main([*args, "--wall", "30"]) == 0
    assert out.read_text() == first  # deterministic, and the same with bubblewrap
    rows = [line.split(",") for line in first.splitlines()[1:]]
    assert [(r[0], r[8], r[10]) for r in rows] == [
        ("solution.ipynb", "9", "ok"),
        ("stub.ipynb", "0", "ok"),
    ]
    report = json.loads(out.with_suffix(".json").read_text())
    assert [r["total"] for r in report["submissions"]] == [9.0, 0.0]


def test_module_entry_point(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["python -m coursepkg.grading", "--help"])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_module("coursepkg.grading", run_name="__main__")
    assert exit_.value.code == 0 and "release" in capsys.readouterr().out


def test_a_failing_reference_solution_stops_grading(tmp_path):
    source = _source(tmp_path, *_question("call('f', 1)"))
    text = source.read_text().replace("return x  # SOLUTION", "raise ValueError  # SOLUTION")
    source.write_text(text)
    (tmp_path / "in").mkdir()
    with pytest.raises(batch.GradingError, match="reference solution fails"):
        batch.grade_folder(load_exercise(source), tmp_path / "in", isolate=False, progress=False)


def test_a_submission_changed_during_grading_stops_grading(tmp_path, monkeypatch):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.ipynb").write_text("{}")

    def tamper(path, *args):
        path.write_text("changed")
        return batch.Row(path.name, "", {}, 0.0, 9.0, "ok")

    monkeypatch.setattr(batch, "grade_one", tamper)
    with pytest.raises(batch.GradingError, match="changed while it was being graded"):
        batch.grade_folder(load_exercise(SOURCE), folder, isolate=False, progress=False)


def test_release_reports_an_otter_failure(tmp_path, monkeypatch):
    failed = subprocess.CompletedProcess([], 1, "out", "bad notebook")
    monkeypatch.setattr(release.subprocess, "run", lambda *args, **kwargs: failed)
    with pytest.raises(RuntimeError, match="(?s)otter assign failed.*bad notebook"):
        release.release(SOURCE, tmp_path / "s", tmp_path / "b")


# --- classifiers graded on held-out digits (exercise 04) -----------------------------------------


def _digit_labels() -> tuple[np.ndarray, np.ndarray]:
    """The labels of scikit-learn's digits: (training split, held-out split)."""
    from sklearn.datasets import load_digits

    target = load_digits().target
    held_out = np.arange(len(target)) % 4 == 3
    return target[~held_out], target[held_out]


def test_judged_digit_declarations_become_array_inputs(tmp_path):
    cell = (
        "judged(call('f', digits('train', 3)), judge='mostly_same_labels')\n"
        "call('f', digits('held_out'))"
    )
    exercise = load_exercise(_source(tmp_path, *_question(cell)))
    judged_case, plain_case = exercise.cases
    assert (judged_case.judge, plain_case.judge) == ("mostly_same_labels", "same_values")
    assert judged_case.describe() == "f(array (3, 8, 8))"
    assert plain_case.describe() == "f(array (449, 8, 8))"
    from sklearn.datasets import load_digits

    images = load_digits().images
    train = judged_case.args[0].materialize()
    held_out = plain_case.args[0].materialize()
    assert train.dtype == held_out.dtype == np.float64
    np.testing.assert_array_equal(train, images[[0, 1, 2]])
    np.testing.assert_array_equal(held_out, images[3::4])


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("judged(value('x'), judge='same_values')", "judged\\(\\) takes a call"),
        ("judged(call('f'), judge='nearly')", "unknown judge 'nearly'; known: held_out_accuracy"),
        ("call('f', digits('test'))", "split must be 'train' or 'held_out', got 'test'"),
        ("call('f', digits('train', 0))", "count must be a positive int, got 0"),
        ("call('f', digits('train', 2.5))", "count must be a positive int"),
        ("call('f', digits('train', True))", "count must be a positive int, got True"),
    ],
)
def test_bad_digit_declarations_are_refused(tmp_path, cell, message):
    with pytest.raises(SpecError, match=message):
        load_exercise(_source(tmp_path, *_question(cell)))


@pytest.mark.parametrize(
    ("got", "passed", "reason"),
    [
        (np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), True, "ok"),
        (np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 0.0]), True, "ok"),
        (np.array([0, 1, 2, 3, 4, 5, 6, 7, 0, 0]), False, "8 of 10 labels agree with the refer"),
        (np.arange(9), False, "expected shape (10,) (one label per image), got (9,)"),
        (np.eye(10), False, "expected shape (10,)"),
        (np.arange(10) + 0.5, False, "expected integer labels"),
        (np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, np.nan]), False, "expected integer labels"),
        (np.array(["a"] * 10), False, "expected numbers, got <U1 data"),
    ],
)
def test_mostly_same_labels(got, passed, reason):
    ok, why = compare.mostly_same_labels(got, np.arange(10))
    assert ok is passed and reason in why


def test_held_out_accuracy_uses_the_true_labels_of_the_held_out_digits():
    _, labels = _digit_labels()
    assert compare.held_out_accuracy(labels, labels) == (True, "ok")
    enough = labels.copy()
    enough[:44] = (enough[:44] + 1) % 10  # 405 of 449 right: 90.2 %
    assert compare.held_out_accuracy(enough, labels) == (True, "ok")
    too_few = enough.copy()
    too_few[44] = (too_few[44] + 1) % 10  # 404 of 449: 89.98 %
    assert compare.held_out_accuracy(too_few, enough) == (
        False,
        "404 of 449 held-out digits right (90.0%), needs 405 (90%); "
        "the reference solution gets 405",
    )
    # The training split's labels in the same order are not the held-out ones.
    train, _ = _digit_labels()
    assert not compare.held_out_accuracy(train[: len(labels)], labels)[0]
    # expected sets the count: the first len(expected) held-out digits.
    assert compare.held_out_accuracy(labels[:40], labels[:40]) == (True, "ok")
    assert not compare.held_out_accuracy(labels[:40], labels[:41])[0]


@pytest.mark.parametrize(
    ("got", "reason"),
    [
        (np.zeros(448, dtype=int), "expected shape (449,) (one label per image), got (448,)"),
        (np.full(449, 0.5), "expected integer labels, e.g. from np.argmax"),
        (np.full(449, np.inf), "expected integer labels, e.g. from np.argmax"),
        (np.array(["a"] * 449), "expected numbers, got <U1 data"),
    ],
)
def test_held_out_accuracy_refuses_answers_that_are_not_one_label_per_digit(got, reason):
    _, labels = _digit_labels()
    assert compare.held_out_accuracy(got, labels) == (False, reason)


def test_exercise_four_trains_on_exactly_the_digits_that_are_not_held_out():
    """The notebook's given loader and digits("train") agree, and hold no held-out image."""
    (loader,) = [
        cell
        for cell in load_exercise(SOURCE.parent / "04_training.ipynb").solution_cells
        if "def load_training_digits" in cell
    ]
    namespace: dict = {"np": np, "print": lambda *args: None}
    exec(loader, namespace)
    images, labels = namespace["train_images"], namespace["train_labels"]
    train_labels, _ = _digit_labels()
    from coursepkg.grading.spec import digits

    np.testing.assert_array_equal(images, digits("train").materialize())
    np.testing.assert_array_equal(labels, train_labels)
    held_out = {image.tobytes() for image in digits("held_out").materialize()}
    assert len(images) == 1348 and len(held_out) > 400
    assert not [image for image in images if image.tobytes() in held_out]
