"""Read an otter-assign source notebook into questions, test cases and the reference solution.

This module is the single source of truth for an exercise's tests. In the source notebook every
test cell holds *declarations*, not assertions, for example::

    call("correlate2d", normal(5, 6, seed=1), array([[1, 0], [0, -1]]), mode="same")
    value("vertical_edge_kernel", judge="vertical_edges")

meaning "call the student's ``correlate2d`` on these inputs" and "read the student's variable".
The expected answer is whatever the reference solution (the source's solution code) gives on the
same inputs. From these declarations the release step writes otter's public and hidden tests, and
the batch grader derives its cases, so the three never drift apart.

A test cell whose first line is a comment containing "hidden" (otter's convention) declares
hidden cases. A code cell whose first line is ``# IGNORE`` is dropped from every output (the
source uses one to import this vocabulary, which keeps linters and a top-to-bottom run happy).
"""

from __future__ import annotations

import ast
import operator
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import yaml

# Otter's block markers live in raw cells; the first line names the block.
_BLOCK = re.compile(r"#\s*(BEGIN|END)\s+(QUESTION|SOLUTION|TESTS|PROMPT)\b", re.IGNORECASE)
_ASSIGNMENT_CONFIG = re.compile(r"#\s*ASSIGNMENT\s+CONFIG\b", re.IGNORECASE)
_IGNORE = re.compile(r"#\s*IGNORE\b", re.IGNORECASE)
_HIDDEN = re.compile(r"\bhidden\b", re.IGNORECASE)

# Limits that keep a declaration small enough to embed in a generated test.
_MAX_INPUT_SIZE = 10_000


@dataclass(frozen=True)
class Normal:
    """A float64 array of standard normal samples, drawn from ``numpy.random.default_rng(seed)``."""

    shape: tuple[int, ...]
    seed: int

    def materialize(self) -> np.ndarray:
        return np.random.default_rng(self.seed).standard_normal(self.shape)


@dataclass(frozen=True)
class Literal:
    """A value written out in the declaration: a number, a string, a tuple or a nested list."""

    value: Any

    def materialize(self) -> Any:
        return self.value


@dataclass(frozen=True)
class Array:
    """An array written out in the declaration, e.g. ``array([[1, 0], [0, -1]])``."""

    rows: tuple

    def materialize(self) -> np.ndarray:
        return np.array(_lists(self.rows))


@dataclass(frozen=True)
class Case:
    """One thing the grader asks a submission for, and how the answer is judged.

    kind is "call" (call the function ``name`` with ``args``/``kwargs``) or "value" (read the
    variable ``name``). ``judge`` names a function in ``coursepkg.grading.compare``.
    """

    id: str
    question: str
    kind: str
    name: str
    hidden: bool
    args: tuple = ()
    kwargs: tuple = ()  # (key, input) pairs, kept as a tuple so the case stays hashable
    judge: str = "same_values"

    def describe(self) -> str:
        """A short description, e.g. ``correlate2d(array (5, 6), array (2, 2), mode='same')``."""
        if self.kind == "value":
            return self.name
        parts = [_describe(a) for a in self.args]
        parts += [f"{k}={_describe(v)}" for k, v in self.kwargs]
        return f"{self.name}({', '.join(parts)})"


@dataclass
class Question:
    """An otter question: its name, points, and the cases of its test cells in order."""

    name: str
    points: float
    all_or_nothing: bool = True
    cases: list[Case] = field(default_factory=list)


@dataclass
class Exercise:
    """Everything the release step and the grader need from one source notebook."""

    name: str
    path: Path
    questions: list[Question]
    solution_cells: list[str]  # the reference solution: code cells with solution markers removed
    test_cells: dict[int, list[Case]]  # cell index -> the cases its declarations make

    @property
    def cases(self) -> list[Case]:
        return [case for question in self.questions for case in question.cases]

    @property
    def max_points(self) -> float:
        return sum(q.points for q in self.questions)


class SpecError(ValueError):
    """The source notebook is not a valid exercise; the message says where and why."""


def load_exercise(path: str | Path) -> Exercise:
    """Parse the otter-assign source notebook at ``path``."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    questions: list[Question] = []
    solution_cells: list[str] = []
    test_cells: dict[int, list[Case]] = {}
    blocks: list[str] = []  # stack of open blocks
    question: Question | None = None
    for index, cell in enumerate(nb.cells):
        source = cell.source
        first = source.strip().splitlines()[0] if source.strip() else ""
        if cell.cell_type == "raw":
            marker = _BLOCK.match(first)
            if marker is None:
                continue
            action, block = marker.group(1).upper(), marker.group(2).upper()
            if action == "BEGIN":
                blocks.append(block)
                if block == "QUESTION":
                    question = _question_config(source, index)
                    questions.append(question)
            elif not blocks or blocks.pop() != block:
                raise SpecError(f"cell {index}: END {block} without a matching BEGIN {block}")
            continue
        if cell.cell_type != "code" or _IGNORE.match(first):
            continue
        if "TESTS" in blocks:
            if question is None:  # pragma: no cover - otter refuses this layout too
                raise SpecError(f"cell {index}: test cell outside a question")
            hidden = first.startswith("#") and bool(_HIDDEN.search(first))
            test_cells[index] = []
            for case in _declarations(source, question.name, hidden, index):
                case = _with_id(case, f"{question.name}.{len(question.cases) + 1}")
                question.cases.append(case)
                test_cells[index].append(case)
        elif "PROMPT" not in blocks:
            solution_cells.append(strip_solution_markers(source))
    if blocks:
        raise SpecError(f"{path.name}: block(s) {blocks} never closed")
    for q in questions:
        if not q.cases:
            raise SpecError(f"{path.name}: question {q.name} has no test cases")
    return Exercise(path.stem, path, questions, solution_cells, test_cells)


def strip_solution_markers(source: str) -> str:
    """The solution version of a code cell: markers removed, student-only prompt lines dropped."""
    lines, in_prompt = [], False
    for line in source.splitlines():
        stripped = line.rstrip()
        if stripped.endswith("# BEGIN PROMPT"):
            in_prompt = True
        elif stripped.endswith("# END PROMPT"):
            in_prompt = False
        elif in_prompt or re.fullmatch(r"\s*# (BEGIN|END) SOLUTION( NO PROMPT)?", stripped):
            continue
        else:
            lines.append(re.sub(r"\s*# SOLUTION( NO PROMPT)?$", "", line))
    return "\n".join(lines)


def _question_config(source: str, index: int) -> Question:
    config = yaml.safe_load("\n".join(source.splitlines()[1:])) or {}
    if not isinstance(config, dict) or "name" not in config:
        raise SpecError(f"cell {index}: BEGIN QUESTION needs a YAML config with a name")
    points = config.get("points", 1)
    if not isinstance(points, (int, float)) or points <= 0:
        raise SpecError(f"cell {index}: points must be a positive number, got {points!r}")
    return Question(str(config["name"]), float(points), bool(config.get("all_or_nothing", True)))


# --- the declaration vocabulary ------------------------------------------------------------------


def _declarations(source: str, question: str, hidden: bool, index: int) -> list[Case]:
    """Evaluate a test cell's declarations with only the vocabulary in scope."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise SpecError(f"cell {index}: {exc}") from exc
    cases = []
    for statement in tree.body:
        if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)):
            raise SpecError(f"cell {index}: a test cell holds only call(...) / value(...) lines")
        try:
            case = _evaluate(statement.value)
        except (TypeError, ValueError) as exc:
            raise SpecError(f"cell {index}: {exc}") from exc
        if not isinstance(case, Case):
            raise SpecError(f"cell {index}: expected call(...) or value(...)")
        cases.append(Case(**{**case.__dict__, "question": question, "hidden": hidden}))
    return cases


def _evaluate(node: ast.AST) -> Any:
    """Evaluate literals and the vocabulary's calls; refuse everything else."""
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in _VOCABULARY:
            raise ValueError(f"unknown declaration {ast.unparse(node.func)!r}")
        args = [_evaluate(a) for a in node.args]
        kwargs = {k.arg: _evaluate(k.value) for k in node.keywords}
        return _VOCABULARY[node.func.id](*args, **kwargs)
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_evaluate(e) for e in node.elts)
    if isinstance(node, ast.BinOp) and type(node.op) in _ARITHMETIC:  # e.g. 3 * 32 * 32
        left, right = _evaluate(node.left), _evaluate(node.right)
        if not all(isinstance(v, (int, float)) for v in (left, right)):
            raise ValueError(f"arithmetic on numbers only: {ast.unparse(node)!r}")
        return _ARITHMETIC[type(node.op)](left, right)
    return ast.literal_eval(node)


def call(name: str, *args: Any, **kwargs: Any) -> Case:
    """Declare: call the student's function ``name`` with these inputs."""
    keywords = tuple(zip(kwargs, _inputs(kwargs.values()), strict=True))
    return Case("", "", "call", name, False, _inputs(args), keywords)


def value(name: str, judge: str = "same_values") -> Case:
    """Declare: read the student's variable ``name`` and judge it with ``judge``."""
    return Case("", "", "value", name, False, judge=judge)


def normal(*shape: int, seed: int) -> Normal:
    """Declare an input array of standard normal samples with this shape and seed."""
    if not all(isinstance(n, int) and n > 0 for n in shape) or np.prod(shape) > _MAX_INPUT_SIZE:
        raise ValueError(f"normal() needs positive int sizes, at most {_MAX_INPUT_SIZE} values")
    return Normal(tuple(shape), int(seed))


def array(rows: Any) -> Array:
    """Declare a small input array written out by hand."""
    return Array(rows if isinstance(rows, tuple) else (rows,))


def judged(case: Case, judge: str) -> Case:
    """Declare: judge the answer to ``case`` (a ``call(...)``) with ``judge``, not ``same_values``.

    ``call`` cannot take the judge as a keyword, which would be passed to the student's function.
    """
    from .compare import JUDGES

    if not isinstance(case, Case) or case.kind != "call":
        raise ValueError("judged() takes a call(...) and the name of a judge")
    if judge not in JUDGES:
        raise ValueError(f"unknown judge {judge!r}; known: {', '.join(sorted(JUDGES))}")
    return replace(case, judge=judge)


def digits(split: str, count: int | None = None) -> Array:
    """Declare the first ``count`` (default: all) of scikit-learn's 8 x 8 digits of one split.

    The images are ``sklearn.datasets.load_digits().images`` (float grey levels 0 to 16), shape
    (count, 8, 8). ``"held_out"`` is every fourth image (index 3, 7, 11, ...: 449 in all),
    ``"train"`` the other 1348. Only the images become an input; the judge
    ``held_out_accuracy`` looks the labels up itself, outside the submission's process.
    """
    from sklearn.datasets import load_digits

    if split not in ("train", "held_out"):
        raise ValueError(f"digits() split must be 'train' or 'held_out', got {split!r}")
    if count is not None and (
        isinstance(count, bool) or not (isinstance(count, int) and count > 0)
    ):
        raise ValueError(f"digits() count must be a positive int, got {count!r}")
    images = load_digits().images
    held_out = np.arange(len(images)) % 4 == 3
    chosen = images[held_out if split == "held_out" else ~held_out][:count]
    return Array(_tuples(chosen.tolist()))


_ARITHMETIC = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
    ast.Pow: operator.pow,
}
_VOCABULARY = {
    "call": call,
    "value": value,
    "normal": normal,
    "array": array,
    "judged": judged,
    "digits": digits,
}


def _inputs(values) -> tuple:
    return tuple(v if isinstance(v, (Normal, Array)) else Literal(v) for v in values)


def _with_id(case: Case, case_id: str) -> Case:
    return replace(case, id=case_id)


def _tuples(value: Any) -> Any:
    return tuple(_tuples(v) for v in value) if isinstance(value, list) else value


def _lists(value: Any) -> Any:
    return [_lists(v) for v in value] if isinstance(value, (tuple, list)) else value


def _describe(item: Any) -> str:
    if isinstance(item, (Normal, Array)):
        return f"array {item.materialize().shape}"
    return repr(item.value)
