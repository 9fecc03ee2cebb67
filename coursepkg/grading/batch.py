"""Grade a folder of submitted notebooks: one sandboxed run each, judged outside the sandbox.

For every ``.ipynb`` in the folder: read it once (read-only) and hash it, copy its code cells into
a fresh work folder, run them with :mod:`coursepkg.grading.runner` under
:func:`coursepkg.grading.sandbox.run_submission`, read back the raw answers, and judge them in
this process against the reference solution's answers on the same inputs. The reference answers
are computed here at the start, from the source notebook's solution code, and never leave this
process. At the end every submission is hashed again.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import signal
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from . import compare, sandbox
from .spec import Array, Case, Exercise, Normal

MAX_NOTEBOOK_BYTES = 20 * 2**20
MAX_MESSAGE = 300
DEFAULT_LIMITS = sandbox.Limits()


@dataclass
class Row:
    """One line of the grade report."""

    file: str
    sha256: str
    points: dict[str, float]
    total: float
    max: float
    status: str
    message: str = ""


@dataclass(frozen=True)
class Context:
    """What every run of one batch shares."""

    grader_dir: Path  # runner, cases and inputs (read-only to runs)
    scratch: Path  # where work folders and logs go
    limits: sandbox.Limits
    isolate: bool  # run in bubblewrap
    private: tuple[Path, ...] = ()  # folders that must stay invisible to runs


@dataclass
class Verdict:
    """What became of each case of one run: the reason for every failure, keyed by case id."""

    failures: dict[str, str] = field(default_factory=dict)


class GradingError(RuntimeError):
    """Grading cannot start or cannot be trusted (the message says why); no report is written."""


# --- preparing what every run sees ----------------------------------------------------------------


def prepare_grader_dir(exercise: Exercise, folder: Path) -> Path:
    """Write the runner, ``cases.json`` and the input arrays: all a run may read, no answers."""
    inputs = folder / "inputs"
    inputs.mkdir(parents=True)
    shutil.copy(sandbox.RUNNER, folder / "runner.py")

    def encode(item, label: str) -> dict:
        if isinstance(item, (Normal, Array)):
            np.save(inputs / f"{label}.npy", item.materialize(), allow_pickle=False)
            return {"npy": f"{label}.npy"}
        return {"json": item.materialize()}

    cases = []
    for case in exercise.cases:
        args = [encode(a, f"{case.id}.arg{i}") for i, a in enumerate(case.args)]
        kwargs = {k: encode(v, f"{case.id}.{k}") for k, v in case.kwargs}
        cases.append({"id": case.id, "kind": case.kind, "name": case.name})
        cases[-1].update(args=args, kwargs=kwargs)
    (folder / "cases.json").write_text(json.dumps(cases, indent=1))
    for path in folder.rglob("*"):  # read-only to the runner even without bubblewrap
        path.chmod(0o555 if path.is_dir() else 0o444)
    folder.chmod(0o555)
    return folder


def reference_answers(exercise: Exercise, context: Context) -> dict[str, np.ndarray]:
    """Run the source's solution code on the grader's inputs; every case must give an answer."""
    outcome, out = _run_cells(exercise.solution_cells, "reference", context)
    answers, missing = {}, {}
    for case in exercise.cases:
        try:
            answers[case.id] = _answer(out, case)
        except compare.AnswerError as exc:
            missing[case.id] = str(exc)
    if missing or outcome.returncode != 0:
        log = (out.parent.parent / "log.txt").read_text(errors="replace")[-1500:]
        raise GradingError(f"the reference solution fails: {missing or outcome}\n{log}")
    return answers


# --- one submission -------------------------------------------------------------------------------


def notebook_code_cells(data: bytes) -> list[str]:
    """The code cells of a notebook file, or ``ValueError`` saying why it is not a notebook."""
    if not data.strip():
        raise ValueError("empty file")
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise ValueError(f"larger than {MAX_NOTEBOOK_BYTES // 2**20} MB")
    try:
        notebook = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"invalid JSON ({exc})") from exc
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise ValueError("no list of cells")
    cells = []
    for cell in notebook["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(line, str) for line in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise ValueError("a code cell's source is not text")
        cells.append(source)
    return cells


def grade_one(
    path: Path,
    data: bytes,
    exercise: Exercise,
    expected: dict[str, np.ndarray],
    context: Context,
) -> Row:
    """Grade the notebook ``data`` (the bytes of ``path``) in its own sandboxed run."""
    sha = hashlib.sha256(data).hexdigest()
    empty = {q.name: 0.0 for q in exercise.questions}
    try:
        cells = notebook_code_cells(data)
    except ValueError as exc:
        status = "empty file" if str(exc) == "empty file" else "not a notebook"
        return Row(path.name, sha, empty, 0.0, exercise.max_points, status, str(exc))
    outcome, out = _run_cells(cells, path.name, context, data)
    verdict = Verdict()
    for case in exercise.cases:
        try:
            passed, reason = compare.judge(case.judge, _answer(out, case), expected[case.id])
        except compare.AnswerError as exc:
            passed, reason = False, str(exc)
        if not passed:
            verdict.failures[case.id] = reason
    points = score(exercise, verdict)
    status, detail = classify(outcome, out, context.limits)
    message = summarize(exercise, verdict, detail)
    return Row(path.name, sha, points, sum(points.values()), exercise.max_points, status, message)


def score(exercise: Exercise, verdict: Verdict) -> dict[str, float]:
    """Points per question: all or nothing, or in proportion to the cases passed."""
    points = {}
    for question in exercise.questions:
        passed = sum(case.id not in verdict.failures for case in question.cases)
        if question.all_or_nothing:
            points[question.name] = question.points if passed == len(question.cases) else 0.0
        else:
            points[question.name] = question.points * passed / len(question.cases)
    return points


def classify(outcome: sandbox.Outcome, out: Path, limits: sandbox.Limits) -> tuple[str, str]:
    """The run's status and a short reason, from how it ended and what the runner noted.

    Only the exit code, the signal and our wall clock are trustworthy; the runner's notes may be
    forged, so they choose a status word and a message, never points.
    """
    cell_errors = [f"cell {e['cell']}: {e['error']}" for e in _cell_errors(out)]

    def first(word: str = "") -> str:
        return next((error for error in cell_errors if word in error), "")

    sig = outcome.signal
    if outcome.timed_out:
        return "timeout", f"stopped after {limits.wall_s:g} s of wall-clock time"
    # SIGKILL comes from the CPU hard limit or from the kernel running out of memory; CPU time
    # cannot exceed wall time for single-threaded code, so a quick death means memory.
    if sig == signal.SIGXCPU or (sig == signal.SIGKILL and outcome.seconds >= limits.cpu_s):
        return "timeout", f"used its {limits.cpu_s} s of CPU time"
    if sig == signal.SIGXFSZ or first("File too large"):
        return "output", f"wrote more than {limits.output_mb} MB; {first('File too large')}"
    if sig == signal.SIGKILL or first("MemoryError"):
        return "memory", f"needed more than {limits.memory_mb} MB; {first('MemoryError')}"
    if sig is not None:
        return "crashed", f"killed by {signal.Signals(sig).name}"
    if not (out / "done").is_file():
        return "crashed", f"exited (code {outcome.returncode}) before its answers were read"
    return "ok", first()


def summarize(exercise: Exercise, verdict: Verdict, detail: str) -> str:
    """One short line: the run's detail, then the first failed case of each question."""
    parts = [detail] if detail else []
    for question in exercise.questions:
        failed = [c for c in question.cases if c.id in verdict.failures]
        if failed:
            parts.append(f"{question.name}: {_short(failed[0], verdict)}")
    message = "; ".join(parts)
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 3] + "..."


def _short(case: Case, verdict: Verdict) -> str:
    what = case.describe()
    what = what if len(what) <= 60 else what[:57] + "..."
    return f"{what}: {verdict.failures[case.id]}"


def _run_cells(
    cells: list[str], name: str, context: Context, data: bytes | None = None
) -> tuple[sandbox.Outcome, Path]:
    """Copy the cells (and the notebook, so relative reads behave) into a new work folder; run."""
    home = Path(tempfile.mkdtemp(dir=context.scratch))
    work = home / "work"
    work.mkdir()
    (work / "cells.json").write_text(json.dumps(cells))
    if data is not None:
        (work / name).write_bytes(data)
    log = home / "log.txt"  # outside the work folder, so the run cannot replace it by a link
    outcome = sandbox.run_submission(
        context.grader_dir, work, log, context.limits, context.isolate, list(context.private)
    )
    return outcome, work / "out"


def _answer(out: Path, case: Case) -> np.ndarray:
    answer = out / f"{case.id}.npy"
    if os.path.lexists(answer):
        return compare.read_answer(answer)
    reason = out / f"{case.id}.err"
    if os.path.lexists(reason):
        raise compare.AnswerError(compare.read_capped(reason, 300).decode(errors="replace"))
    raise compare.AnswerError("no answer")


def _cell_errors(out: Path) -> list[dict]:
    try:
        errors = json.loads(compare.read_capped(out / "cells.json", 64_000))
    except (compare.AnswerError, ValueError):
        return []
    if not isinstance(errors, list):
        return []
    return [e for e in errors if isinstance(e, dict) and "cell" in e and "error" in e]


# --- the batch ------------------------------------------------------------------------------------


def grade_folder(
    exercise: Exercise,
    folder: Path,
    limits: sandbox.Limits = DEFAULT_LIMITS,
    jobs: int = 1,
    isolate: bool = True,
    progress: bool = True,
) -> list[Row]:
    """Grade every ``.ipynb`` in ``folder``; rows sorted by file name."""
    paths = sorted(p for p in folder.iterdir() if p.suffix == ".ipynb" and not p.is_dir())
    submitted = {p: _read_only(p) for p in paths}
    private = (exercise.path.parent.resolve(), folder.resolve())
    with tempfile.TemporaryDirectory(prefix="coursepkg-grading-") as tmp:
        scratch = Path(tmp)
        grader_dir = prepare_grader_dir(exercise, scratch / "grader")
        context = Context(grader_dir, scratch, limits, isolate, private)
        expected = reference_answers(exercise, context)
        rows: dict[Path, Row] = {}
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {
                pool.submit(grade_one, p, data, exercise, expected, context): p
                for p, data in submitted.items()
            }
            bar = tqdm(total=len(futures), desc="grading", unit="nb", disable=not progress)
            for future in as_completed(futures):
                rows[futures[future]] = future.result()
                bar.update()
            bar.close()
        make_writable(scratch)
    for path, data in submitted.items():  # proof that no run touched the submissions
        if _read_only(path) != data:
            raise GradingError(f"{path} changed while it was being graded")
    return [rows[p] for p in paths]


def _read_only(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def make_writable(folder: Path) -> None:
    """Undo the read-only modes so the temporary folder can be removed."""
    for root, dirs, _ in os.walk(folder):
        for name in dirs:
            os.chmod(Path(root) / name, 0o755)
    os.chmod(folder, 0o755)


# --- reports --------------------------------------------------------------------------------------


def to_csv(rows: list[Row], exercise: Exercise) -> str:
    """The CSV report: file, sha256, one column per question, total, max, status, message."""
    names = [q.name for q in exercise.questions]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["file", "sha256", *names, "total", "max", "status", "message"])
    for row in rows:
        points = [_number(row.points[n]) for n in names]
        writer.writerow(
            [
                row.file,
                row.sha256,
                *points,
                _number(row.total),
                _number(row.max),
                row.status,
                row.message,
            ]
        )
    return buffer.getvalue()


def to_json(rows: list[Row], exercise: Exercise) -> str:
    """The same content as JSON, with the maximum points of each question."""
    report = {
        "exercise": exercise.name,
        "questions": {q.name: q.points for q in exercise.questions},
        "max": exercise.max_points,
        "submissions": [asdict(row) for row in rows],
    }
    return json.dumps(report, indent=1) + "\n"


def write_reports(rows: list[Row], exercise: Exercise, csv_path: Path) -> Path:
    """Write the CSV and, beside it with the same stem, the JSON; each replaced atomically."""
    json_path = csv_path.with_suffix(".json")
    for path, text in ((csv_path, to_csv(rows, exercise)), (json_path, to_json(rows, exercise))):
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text(text)
        os.replace(partial, path)
    return json_path


def _number(value: float) -> str:
    return f"{round(value, 4):g}"
