"""Make the site work offline: MathJax served from the site itself, no live-code scripts.

Sphinx loads MathJax from a CDN by default, and a reader offline then sees raw LaTeX. The
``django-static-mathjax`` package ships MathJax 3's browser build (no Django needed); this
extension points Sphinx at a copy of it under ``_static/mathjax`` and copies it there.

Jupyter Book also adds sphinx-thebe's scripts to every page (twice, which raises a JavaScript
error) although the course offers no live code cells; they are dropped.
"""

import shutil
from pathlib import Path

import mathjax

MATHJAX_ES5 = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
# The combined TeX-to-HTML component plus what it loads on demand (fonts, TeX extensions, the
# menu's accessibility module); the speech engine and the SVG builds are not needed (4 MB of 24).
NEEDED = ("tex-chtml.js", "output/chtml", "input/tex", "a11y", "ui")


def _use_local_copy(app, config):
    config.mathjax_path = "mathjax/tex-chtml.js"


def _copy_mathjax(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    for name in NEEDED:
        source = MATHJAX_ES5 / name
        if source.is_dir():
            shutil.copytree(source, target / name, dirs_exist_ok=True)
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def _drop_thebe(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files", [])
    context["script_files"] = [js for js in scripts if "thebe" not in _script_text(js)]


def _script_text(js) -> str:
    return f"{js.filename} {getattr(js, 'attributes', {}).get('body', '')}".lower()


def setup(app):
    app.connect("config-inited", _use_local_copy)
    app.connect("html-page-context", _drop_thebe)
    app.connect("build-finished", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
