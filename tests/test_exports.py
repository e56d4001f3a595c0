"""The workbook (bilan.xlsx) and the council paper (bilan.pdf) written with every report."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import zipfile
from html import unescape
from pathlib import Path

import polars as pl
import pytest

from mutualisation import exports
from mutualisation import report as report_module
from mutualisation.bilan import Bilan
from mutualisation.narrative import headline, title
from tests.browser import chromium_executable
from tests.conftest import write_folder
from tests.test_report import digest

YEAR = 2016
#: The small data set of conftest prints on 5 A4 pages (observed with Debian's Chromium 156):
#: 1 headline, key figures, start of « Les actions du schéma »; 2 its four charts; 3 « Les
#: communes » and two charts; 4 two charts, « Adhésions et sorties », the annex; 5 the
#: definitions. No chart is cut: one that does not fit moves whole to the next page, which
#: leaves white space. A change of browser, fonts, template or notebook may move this count,
#: hence also the looser checks (>= 2 pages, same count when printed again).
SMALL_PDF_PAGES = 5


def _run(data: Path, out: Path, *, pdf: bool = True) -> Path:
    return report_module.run_report(YEAR, data, out, pdf=pdf)


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> tuple[Path, Path, Path]:
    """Two reports of the small data set for 2016: the first printed, the second not."""
    chromium_executable()  # skip (fail under CI) without the browser
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
    assert list(sheets) == [exports.KEY_FIGURES_SHEET] + [
        exports.SHEET_NAMES[p.stem] for p in tables
    ]
    for path in tables:
        csv = pl.read_csv(path, infer_schema=False)
        sheet = sheets[exports.SHEET_NAMES[path.stem]]
        labels = [exports.column_label(c) for c in csv.columns]
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
    assert exports.column_label("nb_communes") == "Communes participantes"
    assert exports.column_label("colonne_inconnue") == "colonne_inconnue"


def test_key_figures_sheet_carries_the_indicators(reports) -> None:
    _, folder, _ = reports
    figures = json.loads((folder / "indicators.json").read_text(encoding="utf-8"))
    sheet = pl.read_excel(folder / "bilan.xlsx", sheet_name=exports.KEY_FIGURES_SHEET)
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


def _pdfinfo(path: Path) -> dict[str, str]:
    text = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True,
                          check=True).stdout
    return {k.strip(): v.strip() for k, _, v in (line.partition(":") for line in
                                                   text.splitlines())}


def _pdftext(path: Path) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout


def _words(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()  # \s covers U+00A0 and U+202F


def test_pdf_is_a4_with_the_expected_pages(reports) -> None:
    _, folder, second = reports
    assert not (second / "bilan.pdf").exists()  # pdf=False
    info = _pdfinfo(folder / "bilan.pdf")
    assert re.fullmatch(r"595\.\d+ x 84[12]\.\d+ pts \(A4\)", info["Page size"])
    pages = int(info["Pages"])
    assert pages >= 2
    assert pages == SMALL_PDF_PAGES
    assert info["Title"] == "Bilan 2016 du schéma de mutualisation"
    assert info["CreationDate"].endswith("2016 UTC") and "Dec 31 00:00:00" in info["CreationDate"]


def test_pdf_text_has_the_headline_and_french_accents(reports) -> None:
    data, folder, _ = reports
    text = _words(_pdftext(folder / "bilan.pdf"))
    bilan = Bilan.build(data, YEAR)
    head = re.search(r"<h2>(.*?)</h2>", headline(bilan)).group(1)
    assert _words(unescape(head)) in text
    assert "Bilan 2016 du schéma de mutualisation" in text
    for word in ("déployées", "communes impliquées", "décembre", "Système d'information "
                 "géographique"):
        assert word in text, word
    pages = int(_pdfinfo(folder / "bilan.pdf")["Pages"])
    for page in range(1, pages + 1):
        assert f"Page {page} / {pages}" in text


def test_pdf_is_byte_identical_when_printed_again(reports, tmp_path: Path) -> None:
    data, folder, _ = reports
    bilan = Bilan.build(data, YEAR)
    again = exports.write_pdf(bilan, folder / "bilan.html", tmp_path / "bilan.pdf", title(bilan))
    assert again.read_bytes() == (folder / "bilan.pdf").read_bytes()
    assert _pdfinfo(again)["Pages"] == _pdfinfo(folder / "bilan.pdf")["Pages"]


def test_fix_pdf_dates_keeps_lengths() -> None:
    pdf = b"<</CreationDate (D:20261130085021+01'00')\n/ModDate (D:20261130085022+01'00')>>"
    fixed = exports.fix_pdf_dates(pdf, dt.datetime(2019, 12, 31))
    assert len(fixed) == len(pdf)
    assert fixed == (b"<</CreationDate (D:20191231000000+00'00')\n"
                     b"/ModDate (D:20191231000000+00'00')>>")


# --------------------------------------------------------------------------- failures


def test_missing_chromium_is_a_clear_error(reports, tmp_path: Path, monkeypatch) -> None:
    data, first, _ = reports
    out = tmp_path / "out"
    shutil.copytree(first, out / str(YEAR))
    before = digest(out / str(YEAR))
    monkeypatch.setattr(exports, "CHROMIUM_CANDIDATES", ("/nulle/part/chromium",))
    with pytest.raises(report_module.ReportError, match="paquet Debian chromium") as info:
        _run(data, out)
    assert "apt-get install chromium" in str(info.value)
    assert digest(out / str(YEAR)) == before
    assert sorted(p.name for p in out.iterdir()) == [str(YEAR)]


def test_failing_print_leaves_previous_report_intact(reports, tmp_path: Path,
                                                     monkeypatch) -> None:
    data, first, _ = reports
    out = tmp_path / "out"
    shutil.copytree(first, out / str(YEAR))
    before = digest(out / str(YEAR))

    def broken(*_args: object) -> bytes:
        raise exports.ExportError("impression impossible (panne simulée).")

    monkeypatch.setattr(exports, "_print", broken)
    with pytest.raises(report_module.ReportError, match="panne simulée"):
        _run(data, out)
    assert digest(out / str(YEAR)) == before
    assert not list(out.glob(".en-cours-*"))
