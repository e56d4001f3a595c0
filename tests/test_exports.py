"""The workbook (bilan.xlsx) and the council paper (bilan.pdf) written with every report.

bilan.pdf is printed by WeasyPrint, without any browser. Its checks read it back with
poppler-utils (pdfinfo, pdftotext): skipped when poppler is missing on a developer machine,
failed under CI (apt-get install -y poppler-utils).
"""

from __future__ import annotations

import base64
import datetime as dt
import http.server
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
import zipfile
from html import unescape
from pathlib import Path
from types import SimpleNamespace

import nbformat
import polars as pl
import pytest

from mutualisation.compute.bilan import Bilan
from mutualisation.config import DATA_DIR, OUTPUTS_DIR
from mutualisation.data.parameters import Parameters
from mutualisation.export import pdf as pdf_export
from mutualisation.export import workbook
from mutualisation.export.page import export_html
from mutualisation.present.bilan_text import headline, title
from mutualisation.present.labels import column_label
from mutualisation.run import report as report_module
from tests.browser import in_ci
from tests.conftest import write_folder
from tests.test_report import digest

YEAR = 2016


def _run(data: Path, out: Path, *, pdf: bool = True) -> Path:
    return report_module.run_report(Parameters.checked(data, YEAR), out, pdf=pdf)


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> tuple[Path, Path, Path]:
    """Two reports of the small data set for 2016: the first printed, the second not."""
    base = tmp_path_factory.mktemp("exports")
    data = write_folder(base / "data")
    first = _run(data, base / "out1")
    second = _run(data, base / "out2", pdf=False)
    return data, first, second


def _cell(value: object) -> object:
    """A cell as text (CSV) or as read from the workbook, made comparable."""
    if value is None or value == "":
        return None
    text = str(value)
    try:
        return float(text)  # 1 and 1.0 alike: the workbook stores every number as a double
    except ValueError:
        return text


def _rows(frame: pl.DataFrame) -> list[tuple[object, ...]]:
    as_text = frame.select(pl.all().cast(pl.String))
    return [tuple(_cell(v) for v in row) for row in as_text.iter_rows()]


# --------------------------------------------------------------------------- workbook


def test_workbook_sheets_equal_the_csv_tables(reports) -> None:
    _, folder, _ = reports
    sheets = pl.read_excel(folder / "bilan.xlsx", sheet_id=0)
    tables = sorted((folder / "tables").glob("*.csv"))
    assert list(sheets) == [workbook.KEY_FIGURES_SHEET] + [
        workbook.SHEET_NAMES[p.stem] for p in tables
    ]
    for path in tables:
        csv = pl.read_csv(path, infer_schema=False)
        sheet = sheets[workbook.SHEET_NAMES[path.stem]]
        labels = [column_label(c) for c in csv.columns]
        assert sheet.columns == labels, path.stem
        assert len(set(labels)) == len(labels), path.stem
        assert _rows(sheet) == _rows(csv), path.stem


def test_workbook_types_and_labels(reports) -> None:
    _, folder, _ = reports
    actions = pl.read_excel(folder / "bilan.xlsx", sheet_name="Actions")
    assert actions.schema["Date de déploiement"] == pl.Date
    assert actions.schema["Déployée"] == pl.Boolean
    rgpd = actions.filter(pl.col("Code de l'action") == "RGPD").row(0, named=True)
    assert rgpd["Date de déploiement"] == dt.date(2016, 3, 1)
    assert rgpd["Communes participantes"] == 1
    series = pl.read_excel(folder / "bilan.xlsx", sheet_name="Séries")
    assert "Part des communes dans au moins 5 actions" in series.columns
    assert "Communes dans au moins 1 action" in series.columns
    assert column_label("nb_communes") == "Communes participantes"
    assert column_label("colonne_inconnue") == "colonne_inconnue"


def test_key_figures_sheet_carries_the_indicators(reports) -> None:
    _, folder, _ = reports
    figures = json.loads((folder / "indicators.json").read_text(encoding="utf-8"))
    sheet = pl.read_excel(folder / "bilan.xlsx", sheet_name=workbook.KEY_FIGURES_SHEET)
    assert sheet.columns == ["Indicateur", "2016", "2015", "Évolution"]
    values = dict(zip(sheet["Indicateur"], sheet["2016"], strict=True))
    assert values["Communes membres"] == figures["communes_membres"]
    assert values["Actions inscrites"] == figures["actions_inscrites"]
    assert values["Actions déployées en 2016"] == len(figures["actions_deployees_annee"])
    assert values["Part des communes dans au moins 1 action"] == pytest.approx(
        figures["part_communes_participantes"]["1"])
    assert values["Communes dans au moins 5 actions"] == figures["communes_participantes"]["5"]
    notes = sheet.filter(pl.col("2016").is_null())["Indicateur"].to_list()
    assert "Bilan 2016 du schéma de mutualisation — situation au 31/12/2016." in notes


def test_workbook_formats_frozen_header_and_filter(reports) -> None:
    _, folder, _ = reports
    with zipfile.ZipFile(folder / "bilan.xlsx") as book:
        styles = book.read("xl/styles.xml").decode()
        sheets = [book.read(n).decode() for n in sorted(book.namelist())
                  if n.startswith("xl/worksheets/sheet")]
        core = book.read("docProps/core.xml").decode()
    for code in ("dd/mm/yyyy", "0.0%", "#,##0"):
        assert f'formatCode="{code}"' in styles, code
    assert len(sheets) == 7
    for xml in sheets:
        assert 'ySplit="1"' in xml and 'state="frozen"' in xml
        assert "<autoFilter " in xml
        assert "<cols>" in xml  # column widths
    assert "2016-12-31T00:00:00Z" in core


def test_workbook_is_byte_identical_on_rerun(reports) -> None:
    _, first, second = reports
    assert (first / "bilan.xlsx").read_bytes() == (second / "bilan.xlsx").read_bytes()


# --------------------------------------------------------------------------- PDF

#: A4 in PDF points, as pdfinfo prints it.
A4 = re.compile(r"595\.\d+ x 841\.\d+ pts \(A4\)")
#: The bottom margin (18 mm = 51 pt) of an A4 page in points: the footer, and only it.
FOOTER_BOX = ("-r", "72", "-x", "0", "-y", "791", "-W", "596", "-H", "51")
BODY_BOX = ("-r", "72", "-x", "0", "-y", "0", "-W", "596", "-H", "791")
POPPLER = {tool: shutil.which(tool) for tool in ("pdfinfo", "pdftotext")}


def _poppler(tool: str) -> str:
    """Path of a poppler tool; skip the test without it (fail when CI is set)."""
    path = POPPLER[tool]
    if path is None:
        reason = f"{tool} is not installed (apt-get install -y poppler-utils)"
        if in_ci():
            pytest.fail(f"{reason} (CI is set: the PDF checks must run, not be skipped)")
        pytest.skip(reason)
    return path


def _pdfinfo(path: Path) -> dict[str, str]:
    text = subprocess.run([_poppler("pdfinfo"), str(path)], capture_output=True, text=True,
                          check=True).stdout
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in
                                                   text.splitlines())}


def _pdftext(path: Path, *options: str) -> str:
    return subprocess.run([_poppler("pdftotext"), "-enc", "UTF-8", *options, str(path), "-"],
                          capture_output=True, text=True, check=True).stdout


def _pages(path: Path, *options: str) -> list[str]:
    """The text of each page (pdftotext ends every page with a form feed)."""
    return _pdftext(path, *options).split("\f")[:-1]


def _body_lines(path: Path) -> list[list[str]]:
    """The lines above the footer of each page, top to bottom, from the words' positions
    (pdftotext's reading order follows blocks, not the page: a heading at the foot of a
    page may come out before the chart above it)."""
    pages = re.findall(r"<page [^>]*>(.*?)</page>", _pdftext(path, "-bbox"), re.S)
    result = []
    for page in pages:
        rows: dict[float, list[tuple[float, str]]] = {}
        for x, y, bottom, word in re.findall(
                r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">'
                r"([^<]*)</word>", page):
            if float(bottom) <= 791:
                rows.setdefault(round(float(y)), []).append((float(x), unescape(word)))
        result.append([" ".join(w for _, w in sorted(rows[y])) for y in sorted(rows)])
    return result


def _words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()  # \s covers U+00A0 and U+202F


def _bilan_2019() -> Bilan:
    return Bilan.build(DATA_DIR, 2019)


@pytest.fixture(scope="module")
def printed_2019(tmp_path_factory) -> SimpleNamespace:
    """The 2019 bilan printed once: its Bilan, page, PDF and title.

    The page is the stored notebook rendered with the template of this tree, as a report run
    writes it (the stored bilan.html may lag a change of the template's print stylesheet
    until the outputs are regenerated).
    """
    bilan = _bilan_2019()
    name = title(bilan)
    folder = tmp_path_factory.mktemp("bilan2019")
    nb = nbformat.read(OUTPUTS_DIR / "2019" / "bilan.ipynb", as_version=4)
    page = folder / "bilan.html"
    page.write_text(export_html(nb, name), encoding="utf-8")
    pdf = pdf_export.write_pdf(bilan, page, folder / "bilan.pdf", name)
    return SimpleNamespace(bilan=bilan, page=page, pdf=pdf, title=name, folder=folder)


def _chart_texts(page: Path) -> list[list[str]]:
    """For each SVG chart of the page, its texts (titles, labels, legend) long enough to be
    told apart from tick values."""
    charts = []
    html = page.read_text(encoding="utf-8")
    # Named charts are inline SVGs (mutualisation.export.figure); others data: images.
    inline = re.findall(r'<figure class="graphique"[^>]*>(<svg\b.*?</svg>)', html, re.S)
    encoded = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)
    for svg in inline + [base64.b64decode(item).decode("utf-8") for item in encoded]:
        pieces = re.findall(r"<(?:text|tspan)\b[^>]*>([^<]+)<", svg)
        texts = {_words(unescape(piece)) for piece in pieces}
        charts.append(sorted(t for t in texts if len(t) >= 4 and not t.isdigit()))
    return charts


def test_pdf_2019_is_a4_with_fixed_metadata(printed_2019) -> None:
    info = _pdfinfo(printed_2019.pdf)
    assert A4.fullmatch(info["Page size"]), info["Page size"]
    assert int(info["Pages"]) >= 5
    assert info["Title"] == "Bilan 2019 du schéma de mutualisation"
    assert info["Producer"].startswith("WeasyPrint")
    for key in ("CreationDate", "ModDate"):
        assert info[key] == "Tue Dec 31 00:00:00 2019 UTC", key
    data = printed_2019.pdf.read_bytes()
    ids = re.findall(rb"/ID \[\((\w+)\) \((\w+)\)\]", data)
    assert len(ids) == 1 and len(ids[0][0]) == 32  # an /ID, from the content itself


def test_pdf_2019_footer_on_every_page(printed_2019) -> None:
    footers = _pages(printed_2019.pdf, *FOOTER_BOX)
    pages = int(_pdfinfo(printed_2019.pdf)["Pages"])
    assert len(footers) == pages
    for number, footer in enumerate(footers, start=1):
        lines = [line.strip() for line in footer.splitlines() if line.strip()]
        assert lines == [printed_2019.title, f"Page {number} / {pages}"], (number, lines)


def test_pdf_2019_text_has_the_headline_and_french_accents(printed_2019) -> None:
    text = _words(_pdftext(printed_2019.pdf))
    head = re.search(r"<h2>(.*?)</h2>", headline(printed_2019.bilan)).group(1)
    assert _words(unescape(head)) in text
    for words in ("Données illustratives", "Chiffres clés", "Évolution", "déployées",
                  "31 décembre 2019", "Adhésions et sorties", "Définitions", "95,6 %",
                  "Centrale d'Achats Métropolitaine", "Ennetières-en-Weppes"):
        assert words in text, words
    assert "¶" not in text  # JupyterLab's anchor links are not printed


def test_pdf_2019_every_chart_is_whole_on_one_page(printed_2019) -> None:
    """Each chart's texts, from its title to its last label, are all on one page: no chart
    is cut, the commune × action matrix (90 communes) included, and none is missing."""
    charts = _chart_texts(printed_2019.page)
    assert len(charts) >= 9
    pages = [_words(page) for page in _pages(printed_2019.pdf, *BODY_BOX)]
    for texts in charts:
        assert texts
        homes = [n for n, page in enumerate(pages, start=1) if all(t in page for t in texts)]
        missing = {t for t in texts if not any(t in page for page in pages)}
        assert not missing, f"chart texts missing from the PDF: {sorted(missing)[:5]}"
        assert homes, f"chart starting {texts[:3]} is cut across pages"
    matrix = [t for t in charts if "Participation de chaque commune aux actions déployées" in t]
    assert matrix and {"Anstaing", "Willems", "Wattrelos"} <= set(matrix[0])


def test_pdf_2019_no_heading_at_the_foot_of_a_page(printed_2019) -> None:
    html = printed_2019.page.read_text(encoding="utf-8")
    headings = {_words(unescape(re.sub(r"<[^>]+>|¶", "", h)))
                for h in re.findall(r"<h[1-4][^>]*>(.*?)</h[1-4]>", html, re.S)}
    assert "Les communes" in headings
    pages = _body_lines(printed_2019.pdf)
    assert len(pages) == int(_pdfinfo(printed_2019.pdf)["Pages"])
    for number, lines in enumerate(pages, start=1):
        assert lines, f"page {number} is empty"
        if number < len(pages):
            assert _words(lines[-1]) not in headings, f"page {number} ends with {lines[-1]!r}"


def test_pdf_is_byte_identical_when_printed_in_another_process(printed_2019,
                                                               tmp_path: Path) -> None:
    again = tmp_path / "bilan.pdf"
    script = ("import sys; from pathlib import Path; "
              "from mutualisation.export import pdf; "
              "from mutualisation.compute.bilan import Bilan; "
              "from mutualisation.config import DATA_DIR; "
              "pdf.write_pdf(Bilan.build(DATA_DIR, 2019), Path(sys.argv[1]), "
              "Path(sys.argv[2]), sys.argv[3])")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}  # another hash order than this process
    subprocess.run([sys.executable, "-c", script, str(printed_2019.page), str(again),
                    printed_2019.title], check=True, env=env, capture_output=True, text=True)
    assert again.read_bytes() == printed_2019.pdf.read_bytes()


def test_pdf_is_printed_without_any_browser(printed_2019, tmp_path: Path, monkeypatch,
                                            caplog) -> None:
    """No Chromium reachable, no Playwright, no process started: the same PDF, quietly."""
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    for name in ("playwright", "playwright.sync_api", "selenium"):
        monkeypatch.setitem(sys.modules, name, None)  # any import of them fails

    def no_process(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a process was started: {args!r:.200}")

    monkeypatch.setattr(subprocess, "Popen", no_process)
    levels = {name: logging.getLogger(name).level for name in pdf_export.QUIET_LOGGERS}
    caplog.set_level(logging.DEBUG)
    again = pdf_export.write_pdf(printed_2019.bilan, printed_2019.page, tmp_path / "bilan.pdf",
                              printed_2019.title)
    monkeypatch.undo()
    assert again.read_bytes() == printed_2019.pdf.read_bytes()  # and the same bytes again
    noisy = [r for r in caplog.records if r.name.startswith(("weasyprint", "fontTools"))
             and r.levelno >= logging.WARNING]
    assert noisy == [], [r.getMessage() for r in noisy][:3]
    assert {name: logging.getLogger(name).level for name in pdf_export.QUIET_LOGGERS} == levels


#: A chart as tall as the commune × action matrix at its largest (160 communes): 1,900 px.
TALL_ROWS = 160


def _tall_svg() -> str:
    rows = "".join(f'<text x="4" y="{40 + 11 * i}" font-size="9">Commune {i:03d}</text>'
                   f'<rect x="120" y="{32 + 11 * i}" width="400" height="9" fill="#1f77b4"/>'
                   for i in range(1, TALL_ROWS + 1))
    height = 60 + 11 * TALL_ROWS
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="635" height="{height}" '
            f'viewBox="0 0 635 {height}"><text x="4" y="14" font-size="13">Matrice '
            f"haute</text>{rows}</svg>")


def test_tall_chart_is_scaled_to_one_page(tmp_path: Path) -> None:
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    text = " ".join(["Un paragraphe qui remplit la première page."] * 40)
    nb = new_notebook(cells=[
        new_markdown_cell(f"# Essai\n\n{text}\n\n## La matrice", id="intro"),
        new_code_cell("", id="matrice", execution_count=1, outputs=[new_output(
            "display_data", data={"image/svg+xml": _tall_svg(), "text/plain": "<Chart>"})]),
        new_markdown_cell("## Après la matrice\n\nFin.", id="fin"),
    ])
    nb.metadata["language_info"] = {"name": "python"}
    name = 'Bilan "essai" \\ à l’échelle'  # quotes and a backslash in the footer's CSS string
    page = tmp_path / "page.html"
    page.write_text(export_html(nb, name), encoding="utf-8")
    pdf = pdf_export.write_pdf(SimpleNamespace(year=2019), page, tmp_path / "page.pdf", name)
    bodies = [_words(b) for b in _pages(pdf, *BODY_BOX)]
    homes = [n for n, body in enumerate(bodies) if "Commune 001" in body]
    assert len(homes) == 1
    home = bodies[homes[0]]
    assert "Matrice haute" in home and f"Commune {TALL_ROWS:03d}" in home
    assert "La matrice" in home  # the heading moved with its chart
    assert all(f"Commune {i:03d}" in home for i in range(1, TALL_ROWS + 1))
    footers = _pages(pdf, *FOOTER_BOX)
    assert _words(footers[0]) == f"{name} Page 1 / {len(footers)}"


# --------------------------------------------------------------------------- engine


@pytest.fixture
def fresh_engine():
    """pdf_engine_problem() asked again before and after the test (its answer is cached)."""
    pdf_export.pdf_engine_problem.cache_clear()
    yield
    pdf_export.pdf_engine_problem.cache_clear()


class _BrokenLibraries:
    """A meta path finder whose ``weasyprint`` fails as without pango (OSError at import)."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> object:
        from importlib.machinery import ModuleSpec

        return ModuleSpec(name, self) if name == "weasyprint" else None

    def create_module(self, spec: object) -> None:
        return None

    def exec_module(self, module: object) -> None:
        raise OSError("cannot load library 'libpango-1.0-0': libpango-1.0-0: cannot open "
                      "shared object file: No such file or directory.\nAdditionally, "
                      "ctypes.util.find_library() did not manage to locate a library")


def test_pdf_engine_problem_is_none_when_weasyprint_loads(fresh_engine) -> None:
    assert pdf_export.pdf_engine_problem() is None
    assert pdf_export.pdf_engine_problem() is None  # cached


def test_weasyprint_without_pango_is_one_french_line(fresh_engine, tmp_path: Path,
                                                     monkeypatch) -> None:
    monkeypatch.delitem(sys.modules, "weasyprint", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_BrokenLibraries(), *sys.meta_path])
    problem = pdf_export.pdf_engine_problem()
    assert problem is not None and "\n" not in problem
    assert problem.startswith("bilan.pdf n'a pas été imprimé : WeasyPrint ne peut pas se "
                              "charger (OSError : cannot load library 'libpango-1.0-0'")
    assert problem.endswith("Installez les bibliothèques pango (Debian : apt-get install "
                            "libpango-1.0-0 libpangoft2-1.0-0), puis relancez le rapport.")
    page = tmp_path / "bilan.html"
    page.write_text("<p>Bilan</p>", encoding="utf-8")
    with pytest.raises(pdf_export.ExportError) as info:
        pdf_export.write_pdf(SimpleNamespace(year=2019), page, tmp_path / "bilan.pdf", "Bilan")
    assert str(info.value) == problem
    assert not (tmp_path / "bilan.pdf").exists()


def test_missing_weasyprint_package_is_one_french_line(fresh_engine, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    problem = pdf_export.pdf_engine_problem()
    assert problem == ("bilan.pdf n'a pas été imprimé : le paquet Python weasyprint est "
                       "absent. Installez-le dans l'environnement du projet (pip install "
                       "weasyprint), puis relancez le rapport.")


def test_importing_the_exports_does_not_import_weasyprint() -> None:
    script = ("import sys, mutualisation.export.workbook, mutualisation.export.pdf; "
              "assert 'weasyprint' not in sys.modules, 'weasyprint imported'")
    subprocess.run([sys.executable, "-c", script], check=True)


# --------------------------------------------------------------------------- network


def test_url_fetcher_reads_data_and_the_page_folder_only(tmp_path: Path) -> None:
    folder = tmp_path / "2019"
    folder.mkdir()
    (folder / "figure.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (tmp_path / "secret.txt").write_text("ailleurs")
    fetcher = pdf_export.local_url_fetcher(folder)
    assert fetcher("data:text/plain,bonjour").read() == b"bonjour"
    assert fetcher((folder / "figure.svg").as_uri()).read().startswith(b"<svg")
    for url in ("http://example.org/logo.png", "https://cdn.jsdelivr.net/npm/vega@5",
                "ftp://example.org/x", (tmp_path / "secret.txt").as_uri(),
                (folder / ".." / "secret.txt").as_uri()):
        with pytest.raises(ValueError, match="refusé"):
            fetcher(url)


def test_pdf_loads_nothing_from_the_network(tmp_path: Path) -> None:
    """A page naming a server's image and stylesheet: the PDF is printed, the server (on
    this machine) never asked."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            asked.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        page = tmp_path / "bilan.html"
        page.write_text(f'<html><head><link rel="stylesheet" href="{base}/style.css"></head>'
                        f'<body><p>Bilan hors ligne</p><img src="{base}/logo.png">'
                        f'<p style="background: url({base}/fond.png)">Fin</p></body></html>',
                        encoding="utf-8")
        pdf = pdf_export.write_pdf(SimpleNamespace(year=2019), page, tmp_path / "bilan.pdf",
                                "Bilan")
    finally:
        server.shutdown()
        server.server_close()
    assert asked == []
    assert "Bilan hors ligne" in _pdftext(pdf)


# --------------------------------------------------------------------------- report


def test_report_pdf_is_a4_with_footers(reports) -> None:
    data, folder, second = reports
    assert not (second / "bilan.pdf").exists()  # pdf=False
    info = _pdfinfo(folder / "bilan.pdf")
    assert A4.fullmatch(info["Page size"]), info["Page size"]
    assert info["Title"] == "Bilan 2016 du schéma de mutualisation"
    assert info["CreationDate"] == "Sat Dec 31 00:00:00 2016 UTC"
    pages = int(info["Pages"])
    assert pages >= 2
    text = _words(_pdftext(folder / "bilan.pdf"))
    bilan = Bilan.build(data, YEAR)
    head = re.search(r"<h2>(.*?)</h2>", headline(bilan)).group(1)
    assert _words(unescape(head)) in text
    for word in ("déployées", "communes impliquées", "décembre",
                 "Système d'information géographique"):
        assert word in text, word
    for page in range(1, pages + 1):
        assert f"Page {page} / {pages}" in text


def test_failing_print_leaves_previous_report_intact(reports, tmp_path: Path,
                                                     monkeypatch) -> None:
    data, first, _ = reports
    out = tmp_path / "out"
    shutil.copytree(first, out / str(YEAR))
    before = digest(out / str(YEAR))

    def broken(*_args: object) -> bytes:
        raise RuntimeError("panne simulée")

    monkeypatch.setattr(pdf_export, "_render", broken)
    with pytest.raises(report_module.ReportError, match="panne simulée"):
        _run(data, out)
    assert digest(out / str(YEAR)) == before
    assert not list(out.glob(".en-cours-*"))
