"""The static site as a reader meets it: every page in a real browser, offline."""

from pathlib import Path
from urllib.parse import urljoin

import pytest
from browser_support import needs_chromium, visit
from course_paths import ROOT, chapter_notebooks, toc_entries

pytestmark = [needs_chromium, pytest.mark.slow]
SCREENSHOTS = ROOT / "_build" / "screenshots"
# Search terms and the page that must come up for each (add one per chapter as it lands).
SEARCHES = {
    "cross-correlation": "book/01_convolution",
    "im2col": "book/01_convolution",
    "invariance": "book/02_pooling",
    "GELU": "book/03_activations",
    "confusion": "book/04_training_a_cnn",
    "residual": "book/05_famous_architectures",
    "Grad-CAM": "book/07_interpretability",
}


@pytest.mark.parametrize("entry", toc_entries())
def test_page_loads_cleanly_offline(page, site_url, entry):
    seen = visit(page, f"{site_url}/{entry}.html")
    assert seen.status == 200
    assert seen.console_errors == []
    assert seen.failed_requests == []
    assert seen.foreign_requests == [], "the site must work without internet"
    broken = page.eval_on_selector_all(
        "img", "imgs => imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
    )
    assert broken == []
    text = page.inner_text("main")
    assert "Traceback (most recent call last)" not in text
    assert "$$" not in text, "raw LaTeX left on the page"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = entry.replace("/", "__")
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
    page.screenshot(path=SCREENSHOTS / f"{name}__first_screen.png")  # what a reader sees first


@pytest.mark.parametrize("entry", toc_entries())
def test_math_is_typeset(page, site_url, entry):
    visit(page, f"{site_url}/{entry}.html")
    formulas = page.locator("main .math").count()
    page.wait_for_function(
        "n => document.querySelectorAll('main mjx-container').length >= n", arg=formulas
    )


def _local_path(site_url: str, href: str, base: str) -> str:
    return urljoin(base, href).removeprefix(site_url + "/").split("#")[0].removesuffix(".html")


def test_sidebar_reaches_every_chapter(page, site_url):
    url = f"{site_url}/{toc_entries()[0]}.html"
    visit(page, url)
    hrefs = page.eval_on_selector_all(".bd-docs-nav a", "links => links.map(a => a.href)")
    reached = {_local_path(site_url, href, url) for href in hrefs}
    assert set(toc_entries()[1:]) <= reached


def _follow(page, site_url: str, selector: str) -> list[str]:
    """Click ``selector`` on every page until a page has none; return the pages visited."""
    visited = [_local_path(site_url, page.url, page.url)]
    while page.locator(selector).count():
        with page.expect_navigation(wait_until="load"):  # read the next page, not this one
            page.click(selector)
        visited.append(_local_path(site_url, page.url, page.url))
    return visited


def test_next_and_previous_links_chain_through_the_book(page, site_url):
    visit(page, f"{site_url}/{toc_entries()[0]}.html")
    forward = _follow(page, site_url, "a.right-next")
    assert forward == toc_entries()
    assert _follow(page, site_url, "a.left-prev") == forward[::-1]


@pytest.mark.parametrize(("term", "expected"), SEARCHES.items())
def test_search_finds_the_right_chapter(page, site_url, term, expected):
    visit(page, f"{site_url}/search.html?q={term}")
    page.wait_for_selector("#search-results li a", timeout=15_000)
    hrefs = page.eval_on_selector_all("#search-results li a", "as => as.map(a => a.href)")
    found = {_local_path(site_url, href, page.url) for href in hrefs}
    assert expected in found


@pytest.mark.parametrize("entry", chapter_notebooks())
def test_launch_and_download_buttons_point_at_the_notebook(page, site_url, entry):
    visit(page, f"{site_url}/{entry}.html")
    hrefs = page.eval_on_selector_all("a", "as => as.map(a => a.href)")
    for service in ("mybinder.org", "colab.research.google.com"):
        launch = [h for h in hrefs if service in h]
        assert launch and all(f"{entry}.ipynb" in h for h in launch), service
    (download,) = {h for h in hrefs if h.endswith(f"_sources/{entry}.ipynb")}
    assert page.request.get(download).ok


@pytest.mark.parametrize("entry", chapter_notebooks())
def test_exercise_links_resolve(page, site_url, entry):
    """The chapter links its own exercise notebook (same number), and the download is that file."""
    visit(page, f"{site_url}/{entry}.html")
    hrefs = page.eval_on_selector_all("main a", "as => as.map(a => a.href)")
    number = Path(entry).name[:2]
    (student,) = (ROOT / "exercises" / "student").glob(f"{number}_*.ipynb")
    links = [h for h in hrefs if "_downloads" in h and h.endswith(f"/{student.name}")]
    assert links, f"{entry} does not link {student.name}"
    for href in links:
        reply = page.request.get(href)
        assert reply.ok, href
        assert reply.body() == student.read_bytes(), f"{href} is not {student}"


# Alpha of the four corners of an <img>, drawn on a canvas (the images are same-origin).
_CORNER_ALPHAS = """img => {
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const context = canvas.getContext("2d");
    context.drawImage(img, 0, 0);
    const w = img.naturalWidth - 1, h = img.naturalHeight - 1;
    const alpha = ([x, y]) => context.getImageData(x, y, 1, 1).data[3];
    return [[0, 0], [w, 0], [0, h], [w, h]].map(alpha);
}"""


@pytest.mark.parametrize("entry", chapter_notebooks())
def test_figures_stay_readable_in_the_dark_theme(browser, site_url, entry):
    """A reader whose system is in dark mode gets the dark theme; every figure keeps an opaque
    background, so dark axes and labels are not drawn on the dark page."""
    context = browser.new_context(color_scheme="dark", viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        visit(page, f"{site_url}/{entry}.html")
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        figures = page.locator("main .cell_output img")
        assert figures.count() >= 3
        for index in range(figures.count()):
            figure = figures.nth(index)
            figure.scroll_into_view_if_needed()
            figure.evaluate("img => img.decode()")
            alphas = figure.evaluate(_CORNER_ALPHAS)
            assert alphas == [255] * 4, f"figure {index} of {entry} is transparent: {alphas}"
        page.screenshot(path=SCREENSHOTS / f"{entry.replace('/', '__')}__dark.png")
    finally:
        context.close()
