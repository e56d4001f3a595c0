"""Excel in: one workbook holding the three tables, and the template to fill."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import fastexcel
import polars as pl
import pytest
import xlsxwriter

from mutualisation.data.problems import DataError
from mutualisation.data.template import LISTS_SHEET, write_template
from mutualisation.data.validate import load_dataset
from tests.conftest import ACTIONS, COMMUNES, PARTICIPATIONS, write_folder

TEXTS = {"communes": COMMUNES, "actions": ACTIONS, "participations": PARTICIPATIONS}


def _frames(texts: dict[str, str] = TEXTS) -> dict[str, pl.DataFrame]:
    return {name: pl.read_csv(io.StringIO(text), infer_schema=False)
            for name, text in texts.items()}


def _write_book(path: Path, frames: dict[str, pl.DataFrame], *,
                sheet_names: dict[str, str] | None = None,
                headers: dict[str, list[str]] | None = None, skip_rows: int = 0) -> Path:
    """One workbook, a sheet per table, typed cells as Excel stores them."""
    with xlsxwriter.Workbook(path) as book:
        date_format = book.add_format({"num_format": "dd/mm/yyyy"})
        bold = book.add_format({"bold": True})
        book.add_worksheet("Lisez-moi").write_string(0, 0, "Données du bilan")
        for name, frame in frames.items():
            sheet = book.add_worksheet((sheet_names or {}).get(name, name))
            for blank in range(skip_rows):  # formatted but empty: not a value
                sheet.write_blank(blank, 0, None, bold)
            columns = (headers or {}).get(name, frame.columns)
            sheet.write_row(skip_rows, 0, columns)
            for r, row in enumerate(frame.iter_rows(), start=skip_rows + 1):
                for c, (column, value) in enumerate(zip(frame.columns, row, strict=True)):
                    if value is None:
                        continue
                    if column.startswith("date_") and re.match(r"^\d{4}-\d\d-\d\d$", value):
                        sheet.write_datetime(r, c, dt.datetime.fromisoformat(value), date_format)
                    elif column == "population" or (column == "code_insee" and value.isdigit()):
                        sheet.write_number(r, c, int(value))
                    else:
                        sheet.write_string(r, c, value)
    return path


def _problems(folder: Path) -> list[str]:
    with pytest.raises(DataError) as info:
        load_dataset(folder)
    return info.value.lines()


def _assert_same(folder: Path, reference_folder: Path) -> None:
    loaded, reference = load_dataset(folder), load_dataset(reference_folder)
    for table in ("communes", "actions", "participations"):
        assert getattr(loaded, table).equals(getattr(reference, table)), table
    assert (loaded.first_year, loaded.last_year) == (reference.first_year, reference.last_year)


# --------------------------------------------------------------------------- one workbook


def test_template_round_trip(tmp_path: Path) -> None:
    """Template -> filled (same sheets and headers) -> loaded = the CSV data set."""
    reference = write_folder(tmp_path / "csv")
    template = write_template(tmp_path / "modele.xlsx", load_dataset(reference))
    reader = fastexcel.read_excel(str(template))
    headers = {name: reader.load_sheet(name).to_polars().columns
               for name in reader.sheet_names if name not in (LISTS_SHEET, "moyens")}
    assert list(headers) == ["communes", "actions", "participations"]
    # The template's optional columns the CSV folder lacks stay empty.
    frames = {name: frame.with_columns(pl.lit(None, pl.String).alias(h) for h in headers[name]
                                       if h not in frame.columns).select(headers[name])
              for name, frame in _frames().items()}
    folder = tmp_path / "xlsx"
    folder.mkdir()
    _write_book(folder / "donnees.xlsx", frames)
    _assert_same(folder, reference)
    assert load_dataset(folder).sources["communes"] == folder / "donnees.xlsx"


def test_sheet_names_trimmed_case_insensitive_and_lock_file_ignored(tmp_path: Path) -> None:
    folder = tmp_path / "xlsx"
    folder.mkdir()
    _write_book(folder / "Données 2019.xlsx", _frames(),
                sheet_names={"communes": " Communes ", "actions": "ACTIONS"})
    (folder / "~$Données 2019.xlsx").write_bytes(b"lock file of an open workbook")
    _assert_same(folder, write_folder(tmp_path / "csv"))


def test_table_files_and_workbook_sheets_mix(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "mix")
    (folder / "participations.csv").unlink()
    _write_book(folder / "participations 2019.xlsx",
                {"participations": _frames()["participations"]})
    _assert_same(folder, write_folder(tmp_path / "csv"))


def test_broken_row_names_workbook_sheet_row_column_value(tmp_path: Path) -> None:
    texts = dict(TEXTS, communes=COMMUNES.replace("59003,Gamma", "5935A,Gamma"))
    _write_book(tmp_path / "donnees.xlsx", _frames(texts))
    lines = _problems(tmp_path)
    assert ("donnees.xlsx (feuille « communes »), ligne 4, colonne « code_insee », "
            "valeur « 5935A » : code INSEE mal formé (5 caractères : 59350, 2A004…)") in lines


def test_rows_keep_excel_numbers_when_the_header_is_lower(tmp_path: Path) -> None:
    # fastexcel starts the sheet at its first value: two empty rows above the header.
    texts = dict(TEXTS, participations=PARTICIPATIONS.replace("59003,RGPD", "59009,RGPD"))
    _write_book(tmp_path / "donnees.xlsx", _frames(texts), skip_rows=2)
    lines = _problems(tmp_path)
    assert any(line.startswith("donnees.xlsx (feuille « participations »), ligne 8, "
                               "colonne « code_insee », valeur « 59009 »") for line in lines), lines


def test_missing_column_in_a_lower_header_names_its_row(tmp_path: Path) -> None:
    frames = _frames()
    headers = {"actions": ["action_id", "libelle", "inscription", "date_deploiement",
                           "domaine"]}
    _write_book(tmp_path / "donnees.xlsx", frames, headers=headers, skip_rows=1)
    lines = _problems(tmp_path)
    assert any(line.startswith("donnees.xlsx (feuille « actions »), ligne 2, "
                               "colonne « date_inscription »") for line in lines), lines


# --------------------------------------------------------------------------- where tables are


def test_table_both_a_file_and_a_sheet_is_ambiguous(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    _write_book(folder / "donnees.xlsx", {"communes": _frames()["communes"]})
    lines = _problems(folder)
    assert any("« communes » ambiguë" in line and "communes.csv" in line
               and "donnees.xlsx (feuille « communes »)" in line for line in lines), lines


def test_an_empty_sheet_gives_way_to_the_table_file(tmp_path: Path) -> None:
    """A template's sheet left empty (mutualisation init, template) beside the table's own
    file (written by mutualisation import) is no ambiguity: the file is read."""
    folder = write_folder(tmp_path)
    empty = {"communes": _frames()["communes"].head(0)}
    _write_book(folder / "donnees.xlsx", empty)
    dataset = load_dataset(folder)
    assert dataset.sources["communes"] == folder / "communes.csv"
    assert dataset.communes.height == 3


def test_two_workbooks_with_the_sheet_are_ambiguous(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    (folder / "actions.csv").unlink()
    actions = {"actions": _frames()["actions"]}
    _write_book(folder / "a.xlsx", actions)
    _write_book(folder / "b.xlsx", actions, sheet_names={"actions": "Actions"})
    lines = _problems(folder)
    assert any("« actions » ambiguë" in line and "a.xlsx (feuille « actions »)" in line
               and "b.xlsx (feuille « Actions »)" in line for line in lines), lines


def test_missing_table_mentions_file_and_sheet(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    (folder / "actions.csv").unlink()
    _write_book(folder / "donnees.xlsx", {"autre": _frames()["actions"]})
    lines = _problems(folder)
    assert any("« actions » introuvable" in line and "actions.csv" in line
               and "feuille « actions »" in line for line in lines), lines


def test_manifest_lists_a_shared_workbook_once(tmp_path: Path) -> None:
    from mutualisation.run.report import manifest

    _write_book(tmp_path / "donnees.xlsx", _frames())
    inputs = manifest(load_dataset(tmp_path), {"donnees": str(tmp_path)})["fichiers_entree"]
    assert list(inputs) == ["donnees.xlsx"]


# --------------------------------------------------------------------------- cells that lie


def _rewrite_sheet(path: Path, sheet_xml: str, edit) -> None:
    """Edit one part of a workbook in place (xlsxwriter can't write every case)."""
    with zipfile.ZipFile(path) as book:
        parts = {info: book.read(info) for info in book.infolist()}
    with zipfile.ZipFile(path, "w") as book:
        for info, data in parts.items():
            book.writestr(info, edit(data.decode()) if info.filename == sheet_xml else data)


def _communes_book(path: Path, skip_rows: int = 0) -> Path:
    """communes only, in a workbook of its own; population written as a formula's result."""
    frames = {"communes": _frames()["communes"].drop("population")}
    _write_book(path, frames, skip_rows=skip_rows)
    return path


def test_formula_without_stored_result_is_an_error(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    (folder / "communes.csv").unlink()
    book = _communes_book(folder / "donnees.xlsx")
    with xlsxwriter.Workbook(tmp_path / "probe.xlsx") as probe:  # the XML of a formula cell
        probe.add_worksheet().write_formula("A1", "=1+1")
    with zipfile.ZipFile(tmp_path / "probe.xlsx") as probe:
        cell = re.search(r"<c r=\"A1\".*?</c>", probe.read("xl/worksheets/sheet1.xml").decode())
    assert cell.group() == '<c r="A1"><f>1+1</f><v>0</v></c>'  # xlsxwriter stores 0
    # As a program that never calculates (openpyxl, a script) leaves it: no <v> at all.
    formula = '<c r="D3"><f>SUM(A1:A2)</f></c>'
    _rewrite_sheet(book, "xl/worksheets/sheet2.xml",
                   lambda xml: re.sub(r'(<row r="3"[^>]*>.*?)</row>', rf"\1{formula}</row>", xml,
                                      count=1))
    lines = _problems(folder)
    assert lines == [
        "donnees.xlsx (feuille « communes »), ligne 3, colonne « date_sortie », valeur "
        "« =SUM(A1:A2) » : cellule D3 : formule sans résultat enregistré (ouvrir le classeur "
        "dans Excel ou LibreOffice, recalculer et enregistrer)"]


def test_error_cells_are_errors_not_empty_cells(tmp_path: Path) -> None:
    path = tmp_path / "donnees.xlsx"
    frames = _frames()
    with xlsxwriter.Workbook(path) as book:
        for name, frame in frames.items():
            sheet = book.add_worksheet(name)
            sheet.write_row(0, 0, frame.columns)
            for r, row in enumerate(frame.iter_rows(), start=1):
                sheet.write_row(r, 0, row)
            if name == "participations":  # a lookup that failed, on a whole row
                sheet.write_formula(6, 0, '=VLOOKUP("Lomme",communes!A:B,1,FALSE)', None, "#N/A")
                sheet.write_formula(6, 2, "=1/0", None, "#DIV/0!")
    lines = _problems(tmp_path)
    label = "donnees.xlsx (feuille « participations »), ligne 7"
    assert lines == [f"{label}, colonne « code_insee », valeur « #N/A » : cellule A7 en erreur",
                     f"{label}, colonne « date_debut », valeur « #DIV/0! » : cellule C7 en "
                     "erreur"]


def test_sheet_header_problems_use_excel_letters(tmp_path: Path) -> None:
    frames = _frames()
    communes = frames["communes"].with_columns(pl.lit("2099-01-01").alias("Date_Adhesion "),
                                               pl.lit("x").alias("__ligne__"))
    _write_book(tmp_path / "donnees.xlsx", dict(frames, communes=communes), skip_rows=1)
    label = "donnees.xlsx (feuille « communes »), ligne 2"
    assert _problems(tmp_path) == [
        f"{label}, colonne « date_adhesion » : colonne en double (colonnes C et F, écrites "
        "« date_adhesion » et « Date_Adhesion  ») : n'en garder qu'une",
        f"{label}, colonne « __ligne__ » : nom de colonne réservé (commençant par « __ ») : "
        "renommer la colonne",
    ]


def test_filled_column_without_header_in_a_sheet(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    (folder / "actions.csv").unlink()
    with xlsxwriter.Workbook(folder / "actions.xlsx") as book:  # the table starts at B1
        sheet = book.add_worksheet("Feuil1")
        for r, row in enumerate(_frames()["actions"].iter_rows()):
            sheet.write_row(r + 1, 1, row)
        sheet.write_row(0, 1, _frames()["actions"].columns)
        sheet.write_string(2, 7, "à revoir")
    assert _problems(folder) == [
        "actions.xlsx, ligne 1 : colonne H sans en-tête mais remplie (ligne 3 : « à revoir ») "
        ": lui donner un nom ou la vider"]


def test_empty_sheet(tmp_path: Path) -> None:
    frames = _frames()
    _write_book(tmp_path / "donnees.xlsx", {k: v for k, v in frames.items() if k != "actions"})
    with xlsxwriter.Workbook(tmp_path / "actions.xlsx") as book:
        book.add_worksheet("actions")
    assert _problems(tmp_path) == ["actions.xlsx : feuille vide (aucune ligne d'en-tête)"]


def test_exactly_duplicate_sheet_headers(tmp_path: Path) -> None:
    frames = _frames()
    _write_book(tmp_path / "donnees.xlsx", frames,
                headers={"actions": ["action_id", "libelle", "date_inscription",
                                     "date_deploiement", "action_id"]})
    assert _problems(tmp_path) == [
        "donnees.xlsx (feuille « actions »), ligne 1, colonne « action_id » : colonne en double "
        "(colonnes A et E) : n'en garder qu'une"]


# --------------------------------------------------------------------------- the template


def _xml(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as book:
        names = re.findall(r'<sheet name="([^"]+)"[^>]*r:id="rId(\d+)"',
                           book.read("xl/workbook.xml").decode())
        return {name: book.read(f"xl/worksheets/sheet{i}.xml").decode() for name, i in names}


def test_template_sheets_headers_and_validation(small_data: Path, tmp_path: Path) -> None:
    path = write_template(tmp_path / "modele.xlsx", load_dataset(small_data))
    reader = fastexcel.read_excel(str(path))
    assert reader.sheet_names == ["communes", "actions", "participations", LISTS_SHEET,
                                  "moyens"]
    columns = {name: reader.load_sheet(name).to_polars().columns for name in reader.sheet_names}
    assert columns == {
        "communes": ["code_insee", "nom", "date_adhesion", "date_sortie", "population",
                     "code_successeur", "adhesion_borne_inferieure"],
        "actions": ["action_id", "libelle", "date_inscription", "date_deploiement", "domaine",
                    "forme_juridique", "date_abandon"],
        "participations": ["code_insee", "action_id", "date_debut", "date_fin"],
        LISTS_SHEET: ["code_insee", "action_id"],
        "moyens": ["action_id", "annee", "code_insee", "etp", "agents_transferes",
                   "cout_fonctionnement", "economies", "mode_financement", "cle_repartition"],
    }
    assert all(reader.load_sheet(name).height == 0 for name in reader.sheet_names[:3])
    lists = reader.load_sheet(LISTS_SHEET, dtypes="string").to_polars()
    assert lists["code_insee"].to_list() == ["59001", "59002", "59003"]
    assert lists["action_id"].to_list() == ["CAM", "RGPD", "SIG"]

    with zipfile.ZipFile(path) as book:
        workbook = book.read("xl/workbook.xml").decode()
        comments = "".join(book.read(n).decode() for n in book.namelist() if "comments" in n)
    assert f'<sheet name="{LISTS_SHEET}" sheetId="4" state="hidden"' in workbook
    assert "Date d'adhésion" in comments and "Obligatoire" in comments
    sheets = _xml(path)
    validations = re.findall(r'<dataValidation type="(\w+)".*?sqref="([^"]+)">'
                             r"<formula1>([^<]*)</formula1>", sheets["participations"])
    assert ("list", "A2:A2000", "listes!$A$2:$A$4") in validations
    assert ("list", "B2:B2000", "listes!$B$2:$B$4") in validations
    assert {v[1] for v in validations if v[0] == "date"} == {"C2:C2000", "D2:D2000"}
    assert {v[1] for v in re.findall(r'<dataValidation type="(\w+)".*?sqref="([^"]+)"',
                                     sheets["communes"]) if v[0] == "date"} == {"C2:C2000",
                                                                                 "D2:D2000"}
    # The moyens sheet: the same lists of actions and communes, the financing modes.
    moyens = re.findall(r'<dataValidation type="(\w+)".*?sqref="([^"]+)">'
                        r"<formula1>([^<]*)</formula1>", sheets["moyens"])
    assert ("list", "A2:A2000", "listes!$B$2:$B$4") in moyens
    assert ("list", "C2:C2000", "listes!$A$2:$A$4") in moyens
    assert ("list", "H2:H2000", '"budget intercommunal,refacturation,attribution de '
            'compensation,mixte"') in moyens
    assert {v[1] for v in moyens if v[0] == "decimal"} == {"D2:D2000", "F2:F2000", "G2:G2000"}


def test_template_without_data_lists_its_own_sheets(tmp_path: Path) -> None:
    path = write_template(tmp_path / "modele.xlsx")
    assert fastexcel.read_excel(str(path)).sheet_names == ["communes", "actions",
                                                           "participations", "moyens"]
    formulas = re.findall(r"<formula1>([^<]*)</formula1>", _xml(path)["participations"])
    assert "communes!$A$2:$A$2000" in formulas and "actions!$A$2:$A$2000" in formulas


def test_template_is_byte_identical_on_two_runs(small_data: Path, tmp_path: Path) -> None:
    dataset = load_dataset(small_data)
    first = write_template(tmp_path / "a.xlsx", dataset).read_bytes()
    assert write_template(tmp_path / "b.xlsx", dataset).read_bytes() == first


def test_empty_template_in_a_data_folder_says_tables_are_empty(tmp_path: Path) -> None:
    write_template(tmp_path / "modele.xlsx")
    lines = _problems(tmp_path)
    assert "modele.xlsx (feuille « communes ») : la table ne contient aucune ligne" in lines


# --------------------------------------------------------------------------- the command line


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mutualisation", *args],
                          capture_output=True, text=True, check=False)


def test_cli_template_writes_then_refuses_to_overwrite(small_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "sortie" / "modele.xlsx"
    result = _cli("template", "--out", str(out), "--data", str(small_data))
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout
    written = out.read_bytes()
    assert written == write_template(tmp_path / "direct.xlsx", load_dataset(small_data)
                                     ).read_bytes()

    out.write_bytes(b"precious")
    result = _cli("template", "--out", str(out), "--data", str(small_data))
    assert result.returncode == 2
    assert "existe déjà" in result.stderr and "--force" in result.stderr
    assert "Traceback" not in result.stderr
    assert out.read_bytes() == b"precious"

    result = _cli("template", "--out", str(out), "--data", str(small_data), "--force")
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == written
    assert sorted(p.name for p in out.parent.iterdir()) == ["modele.xlsx"]


def test_cli_template_bad_data(tmp_path: Path) -> None:
    data = write_folder(tmp_path / "data",
                        communes=COMMUNES.replace("59002,Beta", "5900A,Beta"))
    out = tmp_path / "modele.xlsx"
    result = _cli("template", "--out", str(out), "--data", str(data))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "communes.csv, ligne 3, colonne « code_insee », valeur « 5900A » : code INSEE mal formé "
        "(5 caractères : 59350, 2A004…)",
    ]
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_cli_template_wants_xlsx(small_data: Path, tmp_path: Path) -> None:
    result = _cli("template", "--out", str(tmp_path / "modele.csv"), "--data", str(small_data))
    assert result.returncode == 2
    assert ".xlsx" in result.stderr and "Traceback" not in result.stderr
