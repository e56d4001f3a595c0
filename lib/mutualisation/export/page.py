"""Notebook → self-contained French HTML page (no code, nothing loaded from the network).

The page is rendered by nbconvert's ``HTMLExporter`` with the package's own template
``templates/bilan`` (it extends JupyterLab's ``lab`` template and empties the blocks that
load require.js, MathJax, mermaid and the widgets from a CDN). SVG and PNG outputs are
embedded as ``data:`` URIs, so the page reads offline.

Text and HTML already present in the notebook outputs are copied as they are: the notebook
is responsible for escaping the data it prints (nbconvert does not sanitize).
"""

from __future__ import annotations

import copy
import threading
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from mutualisation.config import TEMPLATES_DIR
from mutualisation.export.figure import figure_html
from mutualisation.present.fonts import CSS_STACK, font_face_css

__all__ = ["TEMPLATE_NAME", "export_html", "export_html_file"]

#: Folder holding the nbconvert templates shipped with the package.
#: Name of the report template (a folder of ``TEMPLATES_DIR``).
TEMPLATE_NAME = "bilan"

# nbconvert adds this English alt text to every <img> without one; the page is French.
_NBCONVERT_DEFAULT_ALT = 'alt="No description has been provided for this image"'
_FRENCH_DEFAULT_ALT = 'alt="Graphique"'

#: Tag of a notebook cell that shows only when it has something to show (the section of an
#: optional table): without output it leaves no trace in the page, which stays the same as
#: before the cell existed.
OPTIONAL_TAG = "optionnel"

# One exporter per process: building it and the first export cost ~0.3 s, later exports
# ~15 ms. HTMLExporter registers filters on itself during an export, hence the lock.
_exporter: HTMLExporter | None = None
_lock = threading.Lock()


def _make_exporter() -> HTMLExporter:
    exporter = HTMLExporter(
        template_name=TEMPLATE_NAME,
        extra_template_basedirs=[str(TEMPLATES_DIR)],
        language_code="fr",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        embed_images=True,
    )
    exporter.register_filter("accessible_figure", figure_html)
    return exporter


def _page_resources() -> dict[str, str]:
    """What the template adds to every page: the shipped font, embedded."""
    return {"polices_css": font_face_css(), "polices_famille": CSS_STACK}


def _get_exporter() -> HTMLExporter:
    global _exporter
    if _exporter is None:
        _exporter = _make_exporter()
    return _exporter


def export_html(nb: nbformat.NotebookNode, title: str) -> str:
    """Render ``nb`` as a self-contained French HTML page titled ``title``.

    Code cells' sources and all prompts are left out; markdown cells and outputs stay.
    The same notebook and title always give the same string. ``nb`` is not modified.
    """
    # The lab template takes the <title> from nb.metadata.title: set it on a shallow copy
    # (the exporter deep-copies the notebook itself before preprocessing).
    nb = copy.copy(nb)
    nb.metadata = copy.copy(nb.get("metadata", nbformat.NotebookNode()))
    nb.metadata["title"] = title
    nb.cells = [cell for cell in nb.get("cells", []) if cell.get("outputs")
                or OPTIONAL_TAG not in cell.get("metadata", {}).get("tags", [])]
    with _lock:
        body, _resources = _get_exporter().from_notebook_node(nb, resources=_page_resources())
    return body.replace(_NBCONVERT_DEFAULT_ALT, _FRENCH_DEFAULT_ALT)


def export_html_file(nb_path: str | Path, html_path: str | Path, title: str) -> Path:
    """Read the notebook at ``nb_path`` and write its page to ``html_path`` (UTF-8)."""
    nb = nbformat.read(str(nb_path), as_version=4)
    html_path = Path(html_path)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(export_html(nb, title), encoding="utf-8")
    return html_path
