"""Issue 20: pages a public body may publish (RGAA 4.1 / WCAG 2.1 AA), an archival tagged
PDF (PDF/A-3a), the same bytes whatever fonts the machine has, and a stored report that
plain ``pytest --nbval`` can rerun.

One real 2019 bilan, one commune sheet and the index are written once by the command line
(default data) into a temporary folder; every test reads them back in the client that
matters: Chromium with axe-core, pikepdf, jupyter_client, nbval.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import subprocess
import sys
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import nbformat
import polars as pl
import pytest

from mutualisation.config import DATA_DIR, FONTS_DIR, PROJECT_ROOT
from mutualisation.export.figure import figure_html
from mutualisation.present.charts import theme
from mutualisation.present.fonts import FAMILY
from tests.browser import open_offline

YEAR = 2019
COMMUNE = "59350"
#: axe-core rule tags: WCAG 2.0 and 2.1, levels A and AA, and axe's RGAA 4 mapping.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "RGAAv4"]


def cli(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mutualisation", *map(str, args)],
                          capture_output=True, text=True, check=False, env=env)


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> SimpleNamespace:
    """The 2019 bilan, Lille's sheet and the index, written by the command line."""
    out = tmp_path_factory.mktemp("publie")
    report = cli("report", "--year", YEAR, "--out", out)
    assert report.returncode == 0, report.stderr
    fiches = cli("fiches", "--year", YEAR, "--communes", COMMUNE, "--out", out)
    assert fiches.returncode == 0, fiches.stderr
    folder = out / str(YEAR)
    return SimpleNamespace(out=out, folder=folder, bilan=folder / "bilan.html",
                           fiche=folder / "fiches" / COMMUNE / "fiche.html",
                           index=out / "index.html", pdf=folder / "bilan.pdf")


# ------------------------------------------------------------------------------------------
# Colours (axe does not look at chart marks)
# ------------------------------------------------------------------------------------------

def _luminance(colour: str) -> float:
    channels = [int(colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str = "#FFFFFF") -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_formula_on_known_pairs() -> None:
    assert contrast("#000000") == pytest.approx(21.0)
    assert contrast("#777777") == pytest.approx(4.48, abs=0.01)  # the classic near miss


def test_every_chart_colour_has_3_to_1_against_white_and_text_4_5_to_1() -> None:
    marks = (*theme.PALETTE, *theme.EXTRA_DOMAIN_COLOURS, *theme.SERIES_COLOURS.values(),
             theme.GREY)
    assert {c: round(contrast(c), 2) for c in marks if contrast(c) < 3} == {}
    for text in (theme.TEXT_GREY, theme.TEXT_COLOUR):
        assert contrast(text) >= 4.5, text


# ------------------------------------------------------------------------------------------
# The figure markup
# ------------------------------------------------------------------------------------------

SVG = ('<svg xmlns="http://www.w3.org/2000/svg" class="marks" width="10" height="10">'
       '<defs><clipPath id="clip0"><rect/></clipPath></defs>'
       '<g role="graphics-object" aria-roledescription="group mark container" '
       'clip-path="url(#clip0)"><text>1</text></g></svg>')


def test_figure_html_names_describes_and_tabulates_a_chart() -> None:
    html = figure_html(SVG, {
        "fichier": "parts_communes", "titre": "Parts <des> communes",
        "description": "En 2019, 86 communes sur 90…",
        "donnees": {"colonnes": ["Année", "Part"], "lignes": [["2019", "96 %"]]},
    })
    assert html.startswith('<figure class="graphique" id="graphique-parts_communes">')
    assert ('<svg xmlns="http://www.w3.org/2000/svg" class="marks" width="10" height="10" '
            'role="img" aria-labelledby="graphique-parts_communes-titre" '
            'aria-describedby="graphique-parts_communes-description">'
            '<title id="graphique-parts_communes-titre">Parts &lt;des&gt; communes</title>'
            ) in html
    # Ids and their references prefixed; Vega's inner roles gone.
    assert 'id="graphique-parts_communes-clip0"' in html
    assert 'url(#graphique-parts_communes-clip0)' in html
    assert "graphics-object" not in html and "aria-roledescription" not in html
    assert ('<p class="description" id="graphique-parts_communes-description">'
            'En 2019, 86 communes sur 90…</p>') in html
    assert ("<summary>Voir les données</summary><table><caption>Données du graphique "
            "« Parts &lt;des&gt; communes »</caption><thead><tr><th scope=\"col\">Année</th>"
            "<th scope=\"col\">Part</th></tr></thead><tbody><tr><td>2019</td><td>96 %</td>"
            "</tr></tbody></table>") in html


def test_figure_html_leaves_an_unnamed_output_to_nbconvert() -> None:
    assert figure_html(SVG, None) == ""
    assert figure_html(SVG, {"titre": "x"}) == ""


# ------------------------------------------------------------------------------------------
# The pages: the project's own checks, then axe-core in Chromium
# ------------------------------------------------------------------------------------------

class _Page(HTMLParser):
    """Ids, headings, and the named images (role=img) of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.headings: list[int] = []
        self.images: list[dict[str, str]] = []
        self.texts: dict[str, str] = {}
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = {key: value or "" for key, value in attrs}
        if "id" in attributes:
            self.ids.append(attributes["id"])
            self._open.append(attributes["id"])
            self.texts[attributes["id"]] = ""
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if attributes.get("role") == "img" or tag == "img":
            self.images.append(attributes)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("title", "p") and self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for ident in self._open:
            self.texts[ident] += data


def _parsed(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


@pytest.mark.parametrize("kind", ["bilan", "fiche"])
def test_every_chart_has_a_distinct_name_and_a_description(published, kind) -> None:
    page = _parsed(getattr(published, kind))
    # The bilan of the default data: 9 charts, plus legal forms, population covered and the
    # two charts of moyens.
    assert len(page.images) == (13 if kind == "bilan" else 4)
    names = []
    for image in page.images:
        assert image.get("role") == "img"  # inline SVG, not <img alt="Graphique">
        name = page.texts[image["aria-labelledby"]].strip()
        description = page.texts[image["aria-describedby"]].strip()
        assert name and name != "Graphique" and description, image
        names.append(name)
    assert len(set(names)) == len(names), names


def test_descriptions_say_what_the_charts_show(published) -> None:
    html = published.bilan.read_text(encoding="utf-8")
    # indicators.json of the 2019 bilan: 90 members, 86 in at least 5 actions.
    indicators = json.loads((published.folder / "indicators.json").read_text())
    assert indicators["communes_membres"] == 90
    assert ("En 2019, 90 communes sur 90 participent à au moins 1 action, 90 à au moins "
            "2 actions et 86 à au moins 5 actions.") in html
    assert ("Chaque commune membre participe à un nombre d'actions déployées compris entre 2 "
            "et 15 ; le plus souvent 7 (17 communes).") in html
    assert html.count("<summary>Voir les données</summary>") == 13  # 9, forms, population, moyens


@pytest.mark.parametrize("kind", ["bilan", "fiche", "index"])
def test_every_table_is_named_and_has_no_empty_header(published, kind) -> None:
    html = getattr(published, kind).read_text(encoding="utf-8")
    tables = re.findall(r"<table\b[^>]*>(?:\s*<caption>)?", html)
    assert tables and all("aria-label" in t or "<caption>" in t for t in tables), tables
    assert re.findall(r"<th\b[^>]*>\s*</th>", html) == []
    assert re.findall(r"<th\b(?![^>]*\bscope=)[^>]*>", html) == []


@pytest.mark.parametrize("kind", ["bilan", "fiche", "index"])
def test_page_ids_are_unique_and_headings_do_not_skip(published, kind) -> None:
    page = _parsed(getattr(published, kind))
    duplicated = [ident for ident, n in Counter(page.ids).items() if n > 1]
    assert duplicated == []
    assert page.headings[0] == 1
    jumps = [(a, b) for a, b in zip(page.headings, page.headings[1:], strict=False) if b > a + 1]
    assert jumps == []
    html = getattr(published, kind).read_text(encoding="utf-8")
    assert '<html lang="fr"' in html and re.search(r"<title>[^<]+</title>", html)


@pytest.mark.parametrize("kind", ["bilan", "fiche", "index"])
def test_axe_core_finds_no_wcag_or_rgaa_violation(published, kind) -> None:
    path = getattr(published, kind)
    with open_offline(path) as view:
        from axe_playwright_python.sync_playwright import Axe

        results = Axe().run(view.page, options={
            "runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]})
        violations = results.response["violations"]
        fonts = view.page.evaluate(
            "[...document.fonts].filter(f => f.status === 'loaded').map(f => f.family)")
        assert view.blocked_requests == [] and view.console_errors == []
    assert [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in violations] == []
    assert set(fonts) == {FAMILY}  # the shipped font, from the page itself


# ------------------------------------------------------------------------------------------
# The archival PDF
# ------------------------------------------------------------------------------------------

def _structure(pdf) -> Counter:
    import pikepdf

    tags: Counter = Counter()
    alts: list[str] = []

    def walk(node) -> None:
        if isinstance(node, pikepdf.Dictionary):
            kind = node.get("/S")
            if kind is not None:
                tags[str(kind)] += 1
                if str(kind) == "/Figure":
                    alts.append(str(node.get("/Alt", "")))
            if "/K" in node:
                walk(node["/K"])
        elif isinstance(node, pikepdf.Array):
            for item in node:
                walk(item)

    walk(pdf.Root.StructTreeRoot)
    return tags, alts


def test_pdf_claims_pdfa_3a_tagged_in_french_with_alternative_texts(published) -> None:
    import pikepdf

    with pikepdf.open(published.pdf) as pdf:
        with pdf.open_metadata() as xmp:
            assert xmp.get("pdfaid:part") == "3"
            assert xmp.get("pdfaid:conformance") == "A"
            assert xmp.get("dc:title") == f"Bilan {YEAR} du schéma de mutualisation"
        assert str(pdf.Root.Lang) == "fr"
        assert bool(pdf.Root.MarkInfo.Marked) is True
        tags, alts = _structure(pdf)
        assert tags["/TH"] > 0 and tags["/Table"] > 0 and tags["/H1"] == 1
        assert len(alts) == 13 and all(alts) and len(set(alts)) == 13
        assert "Participation des communes aux actions déployées" in alts
        assert sorted(pdf.attachments) == ["bilan.xlsx", "indicators.json"]
        attached = pdf.attachments["indicators.json"].get_file().read_bytes()
        assert attached == (published.folder / "indicators.json").read_bytes()
        assert [str(spec.AFRelationship) for spec in pdf.Root.AF] == ["/Data"] * len(pdf.Root.AF)
        fonts = {}
        for page in pdf.pages:
            for font in page.Resources.get("/Font", {}).values():
                descendant = font.DescendantFonts[0] if "/DescendantFonts" in font else font
                descriptor = descendant.FontDescriptor
                fonts[str(font.BaseFont)] = any(
                    key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3"))
    assert fonts and all(fonts.values()), fonts
    assert all("Mutualisation-Sans" in name for name in fonts), fonts


def test_pdf_reprint_logs_no_error_and_gives_the_same_bytes(published, tmp_path, caplog) -> None:
    from mutualisation.compute.bilan import Bilan
    from mutualisation.export import pdf as pdf_export
    from mutualisation.present.bilan_text import title

    bilan = Bilan.build(PROJECT_ROOT / "data", YEAR)
    again = tmp_path / "bilan.pdf"
    with caplog.at_level(logging.WARNING):
        pdf_export.write_pdf(bilan, published.bilan, again, title(bilan))
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert again.read_bytes() == published.pdf.read_bytes()


# ------------------------------------------------------------------------------------------
# The same bytes whatever fonts the machine has
# ------------------------------------------------------------------------------------------

def test_shipped_font_is_the_built_one_with_its_licence() -> None:
    provenance = json.loads((FONTS_DIR / "PROVENANCE.json").read_text(encoding="utf-8"))
    assert provenance["famille"] == FAMILY and provenance["licence"] == "OFL-1.1"
    for name, digest in provenance["fichiers_sha256"].items():
        assert hashlib.sha256((FONTS_DIR / name).read_bytes()).hexdigest() == digest, name
    assert "SIL Open Font License" in (FONTS_DIR / "LICENSE").read_text(encoding="utf-8")
    assert '"fonts/*"' in (PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8")


REDRAW = """
import sys
from pathlib import Path
from mutualisation.compute.bilan import Bilan
from mutualisation.export import pdf
from mutualisation.present import charts
from mutualisation.present.bilan_text import title
from mutualisation.present.figures import bilan_figures
folder, out = Path(sys.argv[1]), Path(sys.argv[2])
bilan = Bilan.build(sys.argv[3], int(sys.argv[4]))
(out / "distribution.svg").write_text(charts.to_svg(bilan_figures(bilan)["distribution"]),
                                      encoding="utf-8")
pdf.write_pdf(bilan, folder / "bilan.html", out / "bilan.pdf", title(bilan))
"""


def test_no_system_font_changes_a_chart_or_the_pdf(published, tmp_path) -> None:
    """Printed where fontconfig knows no font at all, the chart and the PDF are the same."""
    config = tmp_path / "fonts.conf"
    config.write_text('<?xml version="1.0"?>\n<fontconfig></fontconfig>\n', encoding="utf-8")
    env = {**os.environ, "FONTCONFIG_FILE": str(config), "FONTCONFIG_PATH": str(tmp_path)}
    run = subprocess.run([sys.executable, "-c", REDRAW, str(published.folder), str(tmp_path),
                          str(PROJECT_ROOT / "data"), str(YEAR)],
                         capture_output=True, text=True, env=env, check=False)
    assert run.returncode == 0, run.stderr
    assert ((tmp_path / "distribution.svg").read_bytes()
            == (published.folder / "figures" / "distribution.svg").read_bytes())
    assert (tmp_path / "bilan.pdf").read_bytes() == published.pdf.read_bytes()


# ------------------------------------------------------------------------------------------
# Reviewers rerun the stored notebooks with plain nbval
# ------------------------------------------------------------------------------------------

def _clean_env(home: Path) -> dict[str, str]:
    """No user-level Jupyter folder, no JUPYTER_* variable: only what .venv itself holds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    return {**env, "HOME": str(home), "XDG_DATA_HOME": str(home / "data")}


def test_makefile_registers_the_project_kernel_with_the_venv() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("$(STAMP): requirements.lock pyproject.toml\n", 1)[1]
    recipe = recipe.split("\n\n", 1)[0]
    assert "$(KERNEL_INSTALL)" in recipe
    assert re.search(r"KERNEL_INSTALL = \$\(BIN\)/python -m ipykernel install --sys-prefix "
                     r"--name \$\(KERNEL\)", makefile)


def test_stored_kernel_name_resolves_inside_the_environment(published, tmp_path) -> None:
    names = {nbformat.read(path, as_version=4).metadata.kernelspec.name for path in
             (published.folder / "bilan.ipynb", PROJECT_ROOT / "notebooks" / "bilan.ipynb")}
    code = ("import sys\nfrom jupyter_client.kernelspec import KernelSpecManager\n"
            "print(KernelSpecManager().get_kernel_spec(sys.argv[1]).resource_dir)")
    for name in names:
        found = subprocess.run([sys.executable, "-c", code, name], capture_output=True,
                               text=True, env=_clean_env(tmp_path), check=False)
        assert found.returncode == 0, found.stderr[-500:]
        assert Path(found.stdout.strip()).is_relative_to(Path(sys.prefix).resolve()) or \
            Path(found.stdout.strip()).is_relative_to(Path(sys.prefix))


def test_plain_nbval_reruns_a_fresh_report(published, tmp_path) -> None:
    """``pytest --nbval bilan.ipynb``, no option, no user kernel: what a reviewer types."""
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "-q", "-p", "no:cacheprovider",
         str(published.folder / "bilan.ipynb")],
        capture_output=True, text=True, env=_clean_env(tmp_path), cwd=published.out,
        check=False)
    assert run.returncode == 0, run.stdout[-2000:]
    assert re.search(r"\b20 passed\b", run.stdout), run.stdout[-500:]


# ------------------------------------------------------------------------------------------
# Descriptions on a data set small enough to count by hand (tests/conftest.py)
# ------------------------------------------------------------------------------------------

def test_descriptions_of_a_small_bilan(small_data) -> None:
    """At 31/12/2017: 3 members; CAM (Alpha, Beta) and RGPD (Alpha, Gamma) deployed, SIG
    inscribed only; Alpha in 2 actions, Beta and Gamma in 1. In 2015: CAM and RGPD
    inscribed, CAM deployed."""
    from mutualisation.compute.bilan import Bilan
    from mutualisation.present.accessible import BILAN_ALTERNATIVES

    bilan = Bilan.build(small_data, 2017, [1, 2])

    def described(name: str) -> str:
        return BILAN_ALTERNATIVES[name](bilan, None).description

    assert described("parts_communes") == (
        "En 2017, 3 communes sur 3 participent à au moins 1 action et 1 à au moins 2 actions.")
    assert described("distribution") == (
        "Chaque commune membre participe à un nombre d'actions déployées compris entre 1 et 2 ;"
        " le plus souvent 1 (2 communes).")
    assert described("actions_par_annee") == (
        "En 2017, le schéma compte 3 actions inscrites, dont 2 déployées ; en 2015, "
        "2 inscrites et 1 déployée.")
    assert described("participations_par_action") == (
        "2 actions déployées, chacune suivie par 2 communes sur 3.")
    assert described("carte") == (
        "3 communes membres, 1,3 actions déployées en moyenne par commune ; toutes participent "
        "à au moins une.")
    table = BILAN_ALTERNATIVES["parts_communes"](bilan, None)
    assert table.columns == ("Année", "Au moins … actions", "Communes",
                             "Part des communes membres")
    assert table.rows[-2:] == (("2017", "1", "3", "100\u00a0%"), ("2017", "2", "1", "33\u00a0%"))


def test_printing_turns_named_charts_into_images_with_their_title_as_alt() -> None:
    from mutualisation.export.figure import svg_as_images

    # As nbconvert's serializer leaves the page: SVG names in lower case.
    page = ('<figure class="graphique"><svg class="marks" viewbox="0 0 1 1" role="img" '
            'aria-labelledby="a-titre"><title id="a-titre">Parts &amp; communes</title>'
            '<lineargradient id="g"></lineargradient></svg><figcaption><p>x</p>'
            '<details class="donnees"><summary>Voir les données</summary></details>'
            '</figcaption></figure>')
    printed = svg_as_images(page)
    match = re.fullmatch(r'<figure class="graphique"><img alt="Parts &amp; communes" '
                         r'src="data:image/svg\+xml;base64,([^"]+)"><figcaption><p>x</p>'
                         r"</figcaption></figure>", printed)
    assert match, printed
    svg = base64.b64decode(match.group(1)).decode("utf-8")
    assert 'viewBox="0 0 1 1"' in svg and "<linearGradient " in svg
    assert "</linearGradient>" in svg


def test_the_charts_of_forms_population_and_moyens_are_described_from_their_data() -> None:
    # The charts of #18 and #19 get their own French description and data table, not the
    # generic fallback (raw column names): figures checked against the bilan's own.
    from mutualisation.compute.bilan import Bilan
    from mutualisation.formatting import fr_euros, fr_int
    from mutualisation.present.accessible import DATA_KEY, DESCRIPTION_KEY
    from mutualisation.present.figures import bilan_figures

    bilan = Bilan.build(DATA_DIR, 2019)
    figures = bilan_figures(bilan)
    meta = {name: figures[name].usermeta for name in
            ("formes_juridiques", "population_par_action", "moyens_actions", "moyens_evolution")}
    assert meta["formes_juridiques"][DESCRIPTION_KEY].startswith(
        f"{bilan.forms.height} formes juridiques ; la plus fréquente, « groupement de commandes »")
    assert meta["formes_juridiques"][DATA_KEY]["colonnes"][0] == "Forme juridique"
    widest = bilan.actions_reach.filter(pl.col("deployee"))["population"].max()
    assert f"couvre {fr_int(widest)} habitants" in meta["population_par_action"][DESCRIPTION_KEY]
    total = bilan.indicators["moyens"]["cout_fonctionnement"]
    assert f"{fr_euros(total)} au total" in meta["moyens_actions"][DESCRIPTION_KEY]
    assert meta["moyens_actions"][DATA_KEY]["colonnes"] == [
        "Code", "Action", "Coût de fonctionnement", "ETP"]
    assert meta["moyens_evolution"][DESCRIPTION_KEY].endswith(f"à {fr_euros(total)}.")
    assert len({m[DESCRIPTION_KEY] for m in meta.values()}) == 4
