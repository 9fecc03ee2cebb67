"""Command line: ``python -m coursepkg.grading release`` and ``... grade EXERCISE FOLDER``."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from . import batch, release, sandbox
from .spec import SpecError, load_exercise

SOURCE_DIR = Path("exercises/source")
STUDENT_DIR = Path("exercises/student")
BUILD_DIR = Path("_build/exercises")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m coursepkg.grading",
        description="Release otter exercises and grade folders of submitted notebooks.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    rel = commands.add_parser(
        "release",
        help="write exercises/student/*.ipynb and the autograder zips",
        description="Generate every student notebook and otter autograder zip from the sources.",
    )
    rel.add_argument("--source", type=Path, default=SOURCE_DIR, help="sources (%(default)s)")
    rel.add_argument("--student", type=Path, default=STUDENT_DIR, help="output (%(default)s)")
    rel.add_argument("--build", type=Path, default=BUILD_DIR, help="zips go here (%(default)s)")
    rel.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the committed student notebooks differ from a fresh release",
    )

    grade = commands.add_parser(
        "grade",
        help="grade a folder of submitted notebooks into a CSV and a JSON report",
        description=(
            "Grade every .ipynb in SUBMISSIONS. Each runs in its own sandboxed process "
            "(bubblewrap) with the limits below; its answers are judged outside it."
        ),
    )
    grade.add_argument("exercise", help="exercise name, e.g. 01_convolution, or a source .ipynb")
    grade.add_argument("submissions", type=Path, help="folder of submitted .ipynb files")
    grade.add_argument(
        "--out",
        type=Path,
        default=Path("grades.csv"),
        help="CSV (%(default)s); the JSON is written beside it with the same stem",
    )
    grade.add_argument("--jobs", type=int, default=1, help="submissions graded at once")
    grade.add_argument("--source", type=Path, default=SOURCE_DIR, help="sources (%(default)s)")
    limits = sandbox.Limits()
    grade.add_argument("--wall", type=float, default=limits.wall_s, help="seconds per notebook")
    grade.add_argument("--cpu", type=int, default=limits.cpu_s, help="CPU seconds per notebook")
    grade.add_argument("--memory", type=int, default=limits.memory_mb, help="MB per notebook")
    grade.add_argument("--output", type=int, default=limits.output_mb, help="MB of output")
    grade.add_argument("--no-sandbox", action="store_true", help="skip bubblewrap (unsafe)")
    grade.add_argument("--quiet", action="store_true", help="no progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "release":
            return _release(args)
        return _grade(args)
    except (SpecError, batch.GradingError, FileNotFoundError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _release(args: argparse.Namespace) -> int:
    if not args.check:
        for path in release.release_all(args.source, args.student, args.build):
            print(f"wrote {path}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        fresh = release.release_all(args.source, Path(tmp) / "student", Path(tmp) / "build")
        stale = [p.name for p in fresh if not _same(p, args.student / p.name)]
    if stale:
        print(f"out of date in {args.student}: {', '.join(stale)}; run make exercises")
        return 1
    print(f"{args.student} is up to date")
    return 0


def _grade(args: argparse.Namespace) -> int:
    source = Path(args.exercise)
    if source.suffix != ".ipynb":
        source = args.source / f"{args.exercise}.ipynb"
    if not source.is_file():
        known = sorted(p.stem for p in args.source.glob("*.ipynb"))
        raise FileNotFoundError(f"unknown exercise {args.exercise!r}; known: {', '.join(known)}")
    if not args.submissions.is_dir():
        raise FileNotFoundError(f"submissions folder {str(args.submissions)!r} does not exist")
    if args.jobs < 1 or args.wall <= 0 or min(args.cpu, args.memory, args.output) < 1:
        raise RuntimeError("--jobs, --wall, --cpu, --memory and --output must be positive")
    isolate = not args.no_sandbox and sandbox.bwrap_works()
    if not isolate:
        print(sandbox.isolation_warning(), file=sys.stderr)
    limits = sandbox.Limits(args.wall, args.cpu, args.memory, args.output)
    exercise = load_exercise(source)
    rows = batch.grade_folder(
        exercise, args.submissions, limits, args.jobs, isolate, not args.quiet
    )
    json_path = batch.write_reports(rows, exercise, args.out)
    print(f"graded {len(rows)} notebook(s): {args.out} and {json_path}")
    return 0


def _same(fresh: Path, committed: Path) -> bool:
    return committed.is_file() and committed.read_bytes() == fresh.read_bytes()
