"""Build the site exactly as `make book` does and read the HTML a visitor would get."""

import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")


pytestmark = pytest.mark.slow


class Page(HTMLParser):
    """The parts of a built page the tests look at: image sources, links and visible text."""

    def __init__(self, path: Path):
        super().__init__()
        self.images: list[str] = []
        self.links: list[str] = []
        self.classes: list[str] = []
        self.text: list[str] = []
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.classes += (attrs.get("class") or "").split()
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])

    def handle_data(self, data):
        self.text.append(data)


def _chapters() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    cmd = [str(JUPYTER_BOOK), "build", str(ROOT), "--path-output", str(out)]
    result = subprocess.run(
        [*cmd, "--warningiserror", "--keep-going"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out / "_build" / "html"


def test_build_has_no_warnings(site):
    assert (site / "index.html").exists()


@pytest.mark.parametrize("entry", _chapters())
def test_every_toc_page_exists_without_error_output(site, entry):
    page = Page(site / f"{entry}.html")
    text = " ".join(page.text)
    assert "Traceback (most recent call last)" not in text
    assert not {"traceback", "stderr"} & set(page.classes), "error output on the page"


@pytest.mark.parametrize("entry", [e for e in _chapters() if (ROOT / f"{e}.ipynb").exists()])
def test_chapter_pages_show_their_figures(site, entry):
    page = Page(site / f"{entry}.html")
    figures = [src for src in page.images if "_images/" in src]
    assert len(figures) >= 3, f"{entry} shows {len(figures)} figures"
    for src in figures:
        image = (site / entry).parent / src
        assert image.stat().st_size > 1000, f"{src} is empty"


def test_references_page_lists_the_articles_sources(site):
    text = " ".join(Page(site / "book" / "references.html").text)
    for title in ("Gradient-based learning", "ImageNet classification", "Very deep", "residual"):
        assert title in text
