"""Where things are in the repository, for the tests."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def toc_entries() -> list[str]:
    """Pages of the book in reading order, as paths without suffix ("book/intro", ...)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]


def chapter_notebooks() -> list[str]:
    """The pages of the book that are notebooks."""
    return [entry for entry in toc_entries() if (ROOT / f"{entry}.ipynb").exists()]


def exercise_sets() -> list[str]:
    """Names of the exercise sets ("01_convolution", ...), one per source notebook."""
    return sorted(p.stem for p in (ROOT / "exercises" / "source").glob("*.ipynb"))
