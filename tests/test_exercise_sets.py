"""Every exercise set grades its own reference solution, stub and wrong solutions correctly.

Each set lists its wrong solutions in ``tests/grading/wrong_<exercise>.py`` as ``WRONG = {name:
(question, first words of the solution cell, old text, new text)}``: the reference solution with
one edit. Every question of a set has at least one, so no question can be passed by anything.
Chapter 1's set, with the hostile submissions, is graded in test_grading_batch.py.
"""

from __future__ import annotations

import importlib

import pytest
from course_paths import ROOT, exercise_sets
from grading.submissions import notebook_text, solution_cells, source_path, student_path
from grading.submissions import wrong_cells as edited_cells

from coursepkg.grading import batch, sandbox
from coursepkg.grading.spec import load_exercise

pytestmark = pytest.mark.slow

SETS = {
    path.stem.removeprefix("wrong_"): importlib.import_module(f"grading.{path.stem}").WRONG
    for path in sorted((ROOT / "tests" / "grading").glob("wrong_*.py"))
}
LIMITS = sandbox.Limits(wall_s=60, cpu_s=40, memory_mb=3072, output_mb=4)


def test_every_exercise_set_has_wrong_solutions():
    assert sorted([*SETS, "01_convolution"]) == exercise_sets()


@pytest.fixture(scope="module", params=sorted(SETS))
def graded(request, tmp_path_factory):
    """(exercise, its spec, rows by file name) for one exercise set."""
    name, wrong = request.param, SETS[request.param]
    source = source_path(name)
    folder = tmp_path_factory.mktemp(name)
    (folder / "solution.ipynb").write_text(notebook_text(solution_cells(source)))
    (folder / "stub.ipynb").write_bytes(student_path(name).read_bytes())
    for mistake in wrong:
        cells = edited_cells(mistake, wrong, source)
        (folder / f"wrong_{mistake}.ipynb").write_text(notebook_text(cells))
    exercise = load_exercise(source)
    rows = batch.grade_folder(exercise, folder, LIMITS, 2, sandbox.bwrap_works(), progress=False)
    return name, exercise, {row.file: row for row in rows}


def test_the_reference_solution_gets_full_marks(graded):
    _, exercise, rows = graded
    row = rows["solution.ipynb"]
    assert (row.status, row.total, row.max) == ("ok", exercise.max_points, exercise.max_points), (
        row.message
    )


def test_the_untouched_student_notebook_scores_nothing(graded):
    _, _, rows = graded
    assert (rows["stub.ipynb"].status, rows["stub.ipynb"].total) == ("ok", 0.0)


def test_each_wrong_solution_loses_exactly_its_question(graded):
    name, exercise, rows = graded
    points = {q.name: q.points for q in exercise.questions}
    for mistake, (question, *_) in SETS[name].items():
        row = rows[f"wrong_{mistake}.ipynb"]
        assert row.status == "ok", (mistake, row.message)
        assert row.points == {**points, question: 0.0}, (mistake, row.message)


def test_every_question_has_a_wrong_solution(graded):
    name, exercise, _ = graded
    covered = {question for question, *_ in SETS[name].values()}
    assert covered == {q.name for q in exercise.questions}
