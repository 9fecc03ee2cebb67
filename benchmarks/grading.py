"""Time `make grade` on 20 Chapter 1 submissions with two jobs; fail above 60 seconds.

The submissions are 14 copies of the reference solution and 6 untouched student notebooks,
written to a temporary folder and graded by the real command line (sandbox included), so the
figure covers process start-up, the reference run, 20 sandboxed runs and the reports.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from coursepkg.grading.spec import load_exercise

ROOT = Path(__file__).resolve().parents[1]
EXERCISE = "01_convolution"
BUDGET_S = 60.0
SOLUTIONS, STUBS = 14, 6


def write_submissions(folder: Path) -> None:
    solution = nbformat.v4.new_notebook()
    cells = load_exercise(ROOT / "exercises" / "source" / f"{EXERCISE}.ipynb").solution_cells
    solution.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    stub = (ROOT / "exercises" / "student" / f"{EXERCISE}.ipynb").read_text()
    for i in range(SOLUTIONS):
        nbformat.write(solution, folder / f"student_{i:02d}.ipynb")
    for i in range(SOLUTIONS, SOLUTIONS + STUBS):
        (folder / f"student_{i:02d}.ipynb").write_text(stub)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "submissions"
        folder.mkdir()
        write_submissions(folder)
        out = Path(tmp) / "grades.csv"
        command = [sys.executable, "-m", "coursepkg.grading", "grade", EXERCISE, str(folder)]
        command += ["--out", str(out), "--jobs", "2", "--quiet"]
        start = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if done.returncode != 0:
            print(done.stdout + done.stderr, file=sys.stderr)
            return 1
        totals = [line.split(",")[8] for line in out.read_text().splitlines()[1:]]
    expected = ["9"] * SOLUTIONS + ["0"] * STUBS
    print(f"graded {len(totals)} submissions of {EXERCISE} with --jobs 2 in {seconds:.1f} s")
    if totals != expected:
        print(f"unexpected totals: {totals}", file=sys.stderr)
        return 1
    if seconds > BUDGET_S:
        print(f"slower than the {BUDGET_S:.0f} s budget", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
