"""Turn each instructor source into a student notebook and an otter autograder zip.

For ``exercises/source/NN_topic.ipynb``:

1. read its questions and declared cases (:mod:`coursepkg.grading.spec`) and compute the
   reference answers by running its solution code on the cases' inputs;
2. write an *expanded* copy in a temporary folder, where each declaration cell becomes an ordinary
   otter test (inputs and expected answers written out, judged by the same function the batch
   grader uses);
3. run ``otter assign`` on that copy, which strips the solutions and hidden tests from the
   student notebook and packs every test into the autograder zip;
4. normalise what otter wrote (cell ids, zip timestamps), so the output depends only on the
   source: the committed student notebooks can be compared with a fresh release.
"""

from __future__ import annotations

import hashlib
import inspect
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import yaml

from . import batch, compare, sandbox
from .spec import Array, Case, Exercise, Normal, load_exercise

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: fixed, so builds repeat


def release(source: Path, student_dir: Path, build_dir: Path) -> tuple[Path, Path]:
    """Write the student notebook and the autograder zip of one source; return both paths."""
    exercise = load_exercise(source)
    expected = compute_reference(exercise)
    student_dir.mkdir(parents=True, exist_ok=True)
    build_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="coursepkg-release-") as tmp:
        expanded = Path(tmp) / source.name
        nbformat.write(expand(exercise, expected), expanded)
        result = Path(tmp) / "otter"
        assign = [sys.executable, "-m", "otter", "assign", "--no-pdfs", str(expanded), str(result)]
        done = subprocess.run(assign, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"otter assign failed on {source}:\n{done.stdout}{done.stderr}")
        student = student_dir / source.name
        student.write_text(normalized_student(result / "student" / source.name))
        zips = sorted((result / "autograder").glob("*.zip"))
        archive = build_dir / f"{exercise.name}-autograder.zip"
        repack(zips[-1], archive)
    return student, archive


def compute_reference(exercise: Exercise) -> dict[str, np.ndarray]:
    """The reference solution's answer to every case (a run of the trusted solution code)."""
    with tempfile.TemporaryDirectory(prefix="coursepkg-reference-") as tmp:
        scratch = Path(tmp)
        grader_dir = batch.prepare_grader_dir(exercise, scratch / "grader")
        context = batch.Context(grader_dir, scratch, sandbox.Limits(), isolate=False)
        try:
            return batch.reference_answers(exercise, context)
        finally:
            batch.make_writable(scratch)


def expand(exercise: Exercise, expected: dict[str, np.ndarray]) -> nbformat.NotebookNode:
    """The source notebook with every declaration cell replaced by a runnable otter test."""
    nb = nbformat.read(exercise.path, as_version=4)
    for index, cell in enumerate(nb.cells):
        if index in exercise.test_cells:
            cell.source = otter_test(exercise.test_cells[index], expected)
            cell.outputs, cell.execution_count = [], None
        elif cell.cell_type == "raw" and cell.source.lstrip().upper().startswith("# ASSIGNMENT"):
            cell.source = _assignment_config(cell.source, exercise.name)
    return nb


def _calls(functions, name: str) -> bool:
    return any(name in function.__code__.co_names for function in functions)


def otter_test(cases: list[Case], expected: dict[str, np.ndarray]) -> str:
    """An otter exception-based test checking ``cases`` (one declaration cell) with the judges.

    The test function takes the student's names as arguments (otter passes them in), builds the
    inputs, calls, and asserts each judge's verdict.
    """
    names = sorted({case.name for case in cases})
    judges = [compare.JUDGES[name] for name in sorted({case.judge for case in cases})]
    helpers = [f for name, f in sorted(compare.HELPERS.items()) if _calls(judges, name)]
    body = ["import numpy as np", ""]
    for function in helpers + judges:
        body += [*inspect.getsource(function).splitlines(), ""]
    for case in cases:
        if case.kind == "call":
            args = [_code(a) for a in case.args] + [f"{k}={_code(v)}" for k, v in case.kwargs]
            body.append(f"got = {case.name}({', '.join(args)})")
        else:
            body.append(f"got = {case.name}")
        body.append(f"passed, reason = {case.judge}(got, {_array_code(expected[case.id])})")
        body.append(f"assert passed, {case.describe() + ': '!r} + reason")
    header = '""" # BEGIN TEST CONFIG\nhidden: {}\n""" # END TEST CONFIG\n'
    function = f"def test_{cases[0].id.replace('.', '_')}({', '.join(names)}):\n"
    return (
        header.format(str(cases[0].hidden).lower())
        + function
        + textwrap.indent("\n".join(body), "    ")
    )


def normalized_student(path: Path) -> str:
    """Otter's student notebook with ids derived from content and no outputs: reproducible."""
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        digest = hashlib.sha256(f"{index}\n{cell.source}".encode()).hexdigest()[:8]
        cell.id = f"cell-{index:02d}-{digest}"
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nbformat.writes(nb) + "\n"


def repack(source: Path, target: Path) -> None:
    """Copy a zip, entries sorted and dated 1980-01-01: equal content gives equal bytes."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for name in sorted(old.namelist()):
            info = zipfile.ZipInfo(name, _ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = old.getinfo(name).external_attr
            new.writestr(info, old.read(name))


def release_all(source_dir: Path, student_dir: Path, build_dir: Path) -> list[Path]:
    """Release every ``*.ipynb`` source; return the student notebooks written."""
    sources = sorted(source_dir.glob("*.ipynb"))
    if not sources:
        raise FileNotFoundError(f"no exercise sources (*.ipynb) in {source_dir}")
    return [release(source, student_dir, build_dir)[0] for source in sources]


def _assignment_config(source: str, name: str) -> str:
    """Force the settings this pipeline relies on, whatever the source says."""
    config = yaml.safe_load("\n".join(source.splitlines()[1:])) or {}
    config.update(name=name, run_tests=False, tests={"files": False, "ok_format": False})
    config.setdefault("generate", True)
    return "# ASSIGNMENT CONFIG\n" + yaml.safe_dump(config, sort_keys=True)


def _code(item) -> str:
    if isinstance(item, (Normal, Array)):
        return _array_code(item.materialize())
    return repr(item.value)


def _array_code(array: np.ndarray) -> str:
    return f"np.array({np.asarray(array).tolist()!r})"
