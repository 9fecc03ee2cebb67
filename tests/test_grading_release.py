"""`make exercises` output: what students get leaks nothing, and it is what a release makes today.

One fresh release (otter assign included) into a temporary folder; the tests compare it with the
committed ``exercises/student/`` and look inside the student notebook and the autograder zip.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile

import nbclient
import nbformat
import pytest
from course_paths import exercise_sets
from grading.submissions import SOURCE, STUDENT, source_path, student_path, wrong_cells

from coursepkg.grading import release
from coursepkg.grading.spec import load_exercise

pytestmark = pytest.mark.slow
STUDENT_DIR = STUDENT.parent
EXERCISES = exercise_sets()


@pytest.fixture(scope="module", params=EXERCISES)
def fresh(request, tmp_path_factory):
    """(exercise, student notebook path, autograder zip path) of a release made now."""
    out = tmp_path_factory.mktemp(request.param)
    return request.param, *release.release(source_path(request.param), out / "s", out / "b")


def test_committed_student_notebooks_are_a_fresh_release(fresh):
    name, notebook, _ = fresh
    assert student_path(name).read_bytes() == notebook.read_bytes(), "run make exercises"


def test_student_folder_holds_a_notebook_per_source_and_nothing_else():
    files = [p for p in STUDENT_DIR.rglob("*") if p.is_file()]
    assert sorted(p.name for p in files) == [f"{name}.ipynb" for name in EXERCISES]
    assert not [p for p in STUDENT_DIR.rglob("*") if p.is_dir()]


@pytest.mark.parametrize("name", EXERCISES)
def test_no_solution_line_reaches_students(name):
    source = nbformat.read(source_path(name), as_version=4)
    student_text = student_path(name).read_text()
    solution, prose = [], []
    for cell in source.cells:
        inside = False
        for line in cell.source.splitlines():
            if "# BEGIN SOLUTION" in line or "# END SOLUTION" in line:
                inside = "BEGIN" in line
            elif inside or line.rstrip().endswith("# SOLUTION"):
                solution.append(line.replace("# SOLUTION", "").strip())
            else:
                prose.append(line)
    distinctive = [s for s in solution if len(s) > 12 and s not in "\n".join(prose)]
    assert len(distinctive) >= 10
    leaked = [line for line in distinctive if line in student_text]
    assert leaked == []


@pytest.mark.parametrize("name", EXERCISES)
def test_no_hidden_test_or_hidden_answer_reaches_students(name):
    exercise = load_exercise(source_path(name))
    student_text = student_path(name).read_text()
    expected = release.compute_reference(exercise)
    hidden = [case for case in exercise.cases if case.hidden]
    assert len(hidden) >= 15
    for case in hidden:
        assert f"test_{case.id.replace('.', '_')}(" not in student_text
        floats = [repr(v) for v in expected[case.id].ravel().tolist() if isinstance(v, float)]
        assert not [f for f in floats if len(f) > 8 and f in student_text], case.id
    public = [case for case in exercise.cases if not case.hidden]
    assert all(f"test_{case.id.replace('.', '_')}(" in student_text for case in public[:1])
    assert "IGNORE" not in student_text and "coursepkg.grading" not in student_text


def test_autograder_zip_holds_public_and_hidden_tests(fresh):
    name, _, archive = fresh
    exercise = load_exercise(source_path(name))
    with zipfile.ZipFile(archive) as zipped:
        names = set(zipped.namelist())
        assert {info.date_time for info in zipped.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        for question in exercise.questions:
            text = zipped.read(f"tests/{question.name}.py").decode()
            cases = [c for c in exercise.cases if c.question == question.name]
            assert "hidden=False" in text
            assert ("hidden=True" in text) == any(c.hidden for c in cases), question.name
    assert not [n for n in names if n.endswith(".pyc")]


def _filled(wrong: str) -> nbformat.NotebookNode:
    """The student notebook with the answers of ``wrong_cells(wrong)`` pasted into its cells."""
    nb = nbformat.read(STUDENT, as_version=4)
    answers = wrong_cells(wrong)
    for cell in nb.cells:
        head = cell.source.split("(")[0].split("=")[0].strip()
        match = [a for a in answers if head and a.startswith(head) and cell.cell_type == "code"]
        if match:
            cell.source = match[0]
    return nb


def test_student_check_and_autograder_zip_judge_like_the_batch_grader(tmp_path):
    """grader.check works offline in the student notebook, and otter's zip grades the same way."""
    _, archive = release.release(SOURCE, tmp_path / "student", tmp_path / "build")
    nb = _filled("q1_stride_ignored")  # public q1 tests pass; a hidden one fails
    nbformat.write(nb, tmp_path / STUDENT.name)  # grader.check reads its tests from this file
    nbclient.NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    checks = {
        cell.source: "".join(o.get("data", {}).get("text/plain", "") for o in cell.outputs)
        for cell in nb.cells
        if cell.cell_type == "code" and cell.source.startswith("grader.check")
    }
    assert len(checks) == 6
    assert all("All test cases passed" in text for text in checks.values()), checks
    submission = tmp_path / "submission.ipynb"
    nbformat.write(nb, submission)
    shutil.copy(archive, tmp_path / "autograder.zip")
    run = [sys.executable, "-m", "otter", "run", "-a", "autograder.zip", "submission.ipynb"]
    done = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    scores = {
        line.split()[1]: float(line.split()[2])
        for line in done.stdout.splitlines()
        if re.match(r"^\d+\s+q\d\s", line)
    }
    assert scores == {"q1": 0.0, "q2": 2.0, "q3": 1.0, "q4": 3.0, "q5": 1.0, "q6": 1.0}
