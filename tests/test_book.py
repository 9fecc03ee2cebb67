"""Build the site exactly as `make book` does and read the HTML a visitor would get."""

from html.parser import HTMLParser
from pathlib import Path

import pytest
from course_paths import chapter_notebooks, toc_entries

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


def test_build_has_no_warnings_and_an_index(built_site):
    assert (built_site / "index.html").exists()
    assert (built_site / "_static" / "mathjax" / "tex-chtml.js").exists(), "MathJax is not local"


@pytest.mark.parametrize("entry", toc_entries())
def test_every_toc_page_exists_without_error_output(built_site, entry):
    page = Page(built_site / f"{entry}.html")
    text = " ".join(page.text)
    assert "Traceback (most recent call last)" not in text
    assert not {"traceback", "stderr"} & set(page.classes), "error output on the page"


@pytest.mark.parametrize("entry", chapter_notebooks())
def test_chapter_pages_show_their_figures(built_site, entry):
    page = Page(built_site / f"{entry}.html")
    figures = [src for src in page.images if "_images/" in src]
    assert len(figures) >= 3, f"{entry} shows {len(figures)} figures"
    for src in figures:
        image = (built_site / entry).parent / src
        assert image.stat().st_size > 1000, f"{src} is empty"


def test_references_page_lists_the_articles_sources(built_site):
    text = " ".join(Page(built_site / "book" / "references.html").text)
    for title in ("Gradient-based learning", "ImageNet classification", "Very deep", "residual"):
        assert title in text
