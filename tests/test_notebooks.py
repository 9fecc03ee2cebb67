"""Each committed chapter notebook was run top to bottom, cleanly, in a python3 kernel.

nbval (run by `make test`) re-executes the notebooks and compares outputs; these cheaper checks
catch a notebook that was committed half-run, out of order, or with an error in it.
"""

import nbformat
import pytest
from course_paths import ROOT, toc_entries

NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


def test_there_are_chapter_notebooks():
    assert NOTEBOOKS, "book/ holds no notebooks"


def test_every_notebook_is_in_the_toc_and_every_toc_entry_exists():
    toc = set(toc_entries())
    assert {f"book/{nb.stem}" for nb in NOTEBOOKS} <= toc
    for entry in toc:
        assert any((ROOT / f"{entry}{ext}").exists() for ext in (".md", ".ipynb")), entry


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_was_executed_top_to_bottom(path):
    nb = nbformat.read(path, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code, "a chapter without code cells"
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))
    assert nb.metadata.kernelspec.name == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_no_error_output(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        # progress bars write to stderr; they may only appear where the output is not compared
        quiet_ok = "nbval-ignore-output" in cell.metadata.get("tags", [])
        for output in cell.get("outputs", []):
            assert output.output_type != "error", output.get("ename")
            if output.get("name") == "stderr" and not quiet_ok:
                raise AssertionError("stderr output: " + "".join(output.get("text", ""))[:300])


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_check_cells(path):
    """The course's rhythm: claims are asserted by cells, not only stated in prose."""
    nb = nbformat.read(path, as_version=4)
    asserts = sum(cell.source.count("assert ") for cell in nb.cells if cell.cell_type == "code")
    assert asserts >= 5


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_figure_has_prose_beside_it(path):
    """A figure is introduced or followed by text that says what to look at: a markdown cell
    directly before or after the cell that draws it."""
    cells = nbformat.read(path, as_version=4).cells
    for index, cell in enumerate(cells):
        images = [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
        if not images:
            continue
        neighbours = cells[max(index - 1, 0) : index] + cells[index + 1 : index + 2]
        assert any(n.cell_type == "markdown" and n.source.strip() for n in neighbours), (
            f"the figure of cell {index} has no text beside it:\n{cell.source[:200]}"
        )
