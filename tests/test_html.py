"""Notebook → HTML page: French, no code, nothing from the network, deterministic (no browser)."""

from __future__ import annotations

import base64
import copy
import re
from pathlib import Path

import nbformat
import pytest

import mutualisation
from mutualisation.export import page as html_module
from mutualisation.export.page import TEMPLATES_DIR, export_html, export_html_file
from tests.browser import SAMPLE_CODE, SAMPLE_SVG, sample_notebook

TITLE = "Bilan 2019 — mutualisation"

# Attributes through which a browser fetches something by itself: script/img/iframe/source
# src, <link href> (stylesheets, icons, preloads), CSS url(...) and @import.
FETCHING = [
    re.compile(r"""<(?:script|img|iframe|source|audio|video|embed|input|track)\b[^>]*"""
               r"""\bsrc\s*=\s*["']?\s*(?:https?:)?//""", re.I),
    re.compile(r"""<link\b[^>]*\bhref\s*=\s*["']?\s*(?:https?:)?//""", re.I),
    re.compile(r"""<object\b[^>]*\bdata\s*=\s*["']?\s*(?:https?:)?//""", re.I),
    re.compile(r"""url\(\s*["']?\s*(?:https?:)?//""", re.I),
    re.compile(r"""@import\s+(?:url\()?\s*["']?\s*(?:https?:)?//""", re.I),
]


@pytest.fixture(scope="module")
def page() -> str:
    return export_html(sample_notebook(), TITLE)


def test_page_is_french_and_titled(page: str) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="fr">' in page
    assert f"<title>{TITLE}</title>" in page
    assert "Les communes membres ont partagé « leurs » achats" in page
    assert "No description has been provided" not in page


def test_title_is_escaped_and_notebook_untouched() -> None:
    nb = sample_notebook()
    before = copy.deepcopy(nb)
    page = export_html(nb, "Bilan <2019> & co")
    assert "<title>Bilan &lt;2019&gt; &amp; co</title>" in page
    assert nb == before


def test_no_code_and_no_prompts(page: str) -> None:
    for line in SAMPLE_CODE.splitlines():
        assert line not in page
    assert "mutualisation_code_secret" not in page
    # (the class names stay in the stylesheet; no element uses them)
    assert 'class="jp-InputPrompt' not in page
    assert 'class="jp-OutputPrompt' not in page
    assert not re.search(r"(?:In|Out)(?:&nbsp;|\s)*\[\d*\]:", page)
    assert 'class="jp-CodeMirrorEditor' not in page
    assert 'class="jp-Cell-inputWrapper' not in page.split('id="cell-id=graphique"')[1]


def test_outputs_are_kept_as_they_are(page: str) -> None:
    assert '<p class="resume">Taux de participation : 42,5 %</p>' in page


def test_nothing_is_fetched_from_the_network(page: str) -> None:
    for pattern in FETCHING:
        assert not pattern.search(page), pattern.search(page)
    assert '<script src="http' not in page
    assert "https://cdn" not in page
    assert "unpkg.com" not in page and "cdnjs" not in page
    assert "<script" not in page  # the page needs no JavaScript at all
    # A link in the text is fine: nothing loads it until a reader clicks.
    assert 'href="https://example.org/schema"' in page


def test_svg_is_embedded(page: str) -> None:
    encoded = base64.b64encode(SAMPLE_SVG.encode("utf-8")).decode("ascii")
    assert f'src="data:image/svg+xml;base64,{encoded}"' in page or SAMPLE_SVG in page


def test_print_stylesheet(page: str) -> None:
    assert "size: A4" in page
    assert "break-inside: avoid" in page
    assert "max-width: 900px" in page


def test_export_is_deterministic() -> None:
    first = export_html(sample_notebook(), TITLE)
    second = export_html(sample_notebook(), TITLE)
    assert first == second
    assert export_html(nbformat.reads(nbformat.writes(sample_notebook()), as_version=4),
                       TITLE) == first


def test_exporter_is_built_once() -> None:
    export_html(sample_notebook(), TITLE)
    exporter = html_module._get_exporter()
    export_html(sample_notebook(), TITLE)
    assert html_module._get_exporter() is exporter


def test_template_ships_with_the_package() -> None:
    folder = TEMPLATES_DIR / "bilan"
    assert (folder / "conf.json").is_file()
    assert (folder / "index.html.j2").is_file()
    # Inside the package, so that a wheel ships it (package data of pyproject.toml).
    assert TEMPLATES_DIR.parent == Path(mutualisation.__file__).resolve().parent


def test_export_html_file(tmp_path: Path) -> None:
    nb_path = tmp_path / "bilan.ipynb"
    nbformat.write(sample_notebook(), str(nb_path))
    html_path = export_html_file(nb_path, tmp_path / "sortie" / "bilan.html", TITLE)
    assert html_path == tmp_path / "sortie" / "bilan.html"
    assert html_path.read_text(encoding="utf-8") == export_html(sample_notebook(), TITLE)
