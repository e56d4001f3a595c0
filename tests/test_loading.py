"""Loading and validation of a data folder: formats, headers, types, and every bad-input rule."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mutualisation.data.problems import MAX_PROBLEMS_PER_FILE, DataError, Problem, shown
from mutualisation.data.read import TableSource, read_table
from mutualisation.data.validate import check_year, describe, load_dataset
from tests.conftest import ACTIONS, COMMUNES, PARTICIPATIONS, write_folder

# --------------------------------------------------------------------------- happy path


def test_loads_typed_frames(small_data: Path) -> None:
    ds = load_dataset(small_data)
    assert ds.communes.schema["date_adhesion"] == pl.Date
    assert ds.communes.schema["population"] == pl.Int64
    assert ds.communes.schema["code_insee"] == pl.String
    assert ds.actions["action_id"].to_list() == ["CAM", "RGPD", "SIG"]
    assert ds.participations.height == 5
    assert ds.actions.filter(pl.col("action_id") == "SIG")["date_deploiement"].item() is None
    # Without metadata: from the first inscription (2015) to the last dated event (2017).
    assert (ds.first_year, ds.last_year) == (2015, 2017)
    assert ds.illustrative is False


def test_optional_columns_are_added_and_extras_kept(tmp_path: Path) -> None:
    communes = "code_insee,nom,date_adhesion,commentaire\n59001,Alpha,2015-01-01,note\n"
    participations = "code_insee,action_id,date_debut\n59001,CAM,2015-09-01\n"
    ds = load_dataset(write_folder(tmp_path, communes=communes, participations=participations))
    assert ds.communes.columns[:5] == ["code_insee", "nom", "date_adhesion", "date_sortie",
                                       "population"]
    assert ds.communes["commentaire"].to_list() == ["note"]
    assert ds.participations["date_fin"].to_list() == [None]


def test_headers_trimmed_case_insensitive_semicolon_bom_french_dates(tmp_path: Path) -> None:
    communes = ("\ufeff Code_INSEE ;NOM; Date_Adhesion;date_sortie;Population\n"
                "1001;Ambérieu;01/01/2015;;14 105\n59002;Beta;01/01/2015;31/12/2018;800\n")
    write_folder(tmp_path, communes=communes,
                 participations="code_insee,action_id,date_debut\n01001,CAM,2015-09-01\n")
    ds = load_dataset(tmp_path)
    # Excel drops the leading zero of numeric INSEE codes: it is put back.
    assert ds.communes["code_insee"].to_list() == ["01001", "59002"]
    assert ds.communes["population"].to_list() == [14105, 800]
    assert ds.communes["date_sortie"].to_list() == [None, dt.date(2018, 12, 31)]


def test_metadata_sets_years_and_flag(small_data: Path) -> None:
    (small_data / "metadata.json").write_text(json.dumps(
        {"illustratif": True, "annees": {"debut": 2015, "fin": 2016}}), encoding="utf-8")
    ds = load_dataset(small_data)
    assert ds.illustrative is True
    assert ds.years == [2015, 2016]
    check_year(ds, 2016)
    with pytest.raises(DataError, match="2017.*2015 à 2016"):
        check_year(ds, 2017)


def test_input_files_are_not_modified(small_data: Path) -> None:
    before = {p.name: p.read_bytes() for p in small_data.iterdir()}
    load_dataset(small_data)
    assert {p.name: p.read_bytes() for p in small_data.iterdir()} == before


# ------------------------------------------------------------ the same data in every format


def _csv_frames() -> dict[str, pl.DataFrame]:
    """The three tables of conftest as text frames (as a CSV reader gives them)."""
    import io

    return {name: pl.read_csv(io.StringIO(text), infer_schema=False)
            for name, text in (("communes", COMMUNES), ("actions", ACTIONS),
                               ("participations", PARTICIPATIONS))}


def _fr_date(value: str | None) -> str | None:
    return None if value is None else dt.date.fromisoformat(value).strftime("%d/%m/%Y")


def _write_semicolon_bom(folder: Path, frames: dict[str, pl.DataFrame]) -> None:
    for name, frame in frames.items():
        frame = frame.with_columns(
            pl.col(c).map_elements(_fr_date, return_dtype=pl.String)
            for c in frame.columns if c.startswith("date_")
        )
        text = frame.write_csv(separator=";", line_terminator="\r\n")
        (folder / f"{name}.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))


def _write_tab(folder: Path, frames: dict[str, pl.DataFrame]) -> None:
    for name, frame in frames.items():
        frame.write_csv(folder / f"{name}.csv", separator="\t")


def _write_xlsx(folder: Path, frames: dict[str, pl.DataFrame]) -> None:
    for name, frame in frames.items():
        with xlsxwriter.Workbook(folder / f"{name}.xlsx") as book:
            sheet = book.add_worksheet(name)
            date_format = book.add_format({"num_format": "dd/mm/yyyy"})
            sheet.write_row(0, 0, [c.upper() for c in frame.columns])
            for r, row in enumerate(frame.iter_rows(), start=1):
                for c, (column, value) in enumerate(zip(frame.columns, row, strict=True)):
                    if value is None:
                        continue
                    if column.startswith("date_"):
                        sheet.write_datetime(r, c, dt.datetime.fromisoformat(value), date_format)
                    elif column in ("population", "code_insee"):
                        sheet.write_number(r, c, int(value))  # as Excel stores numbers
                    else:
                        sheet.write_string(r, c, value)


def _write_parquet(folder: Path, frames: dict[str, pl.DataFrame]) -> None:
    for name, frame in frames.items():
        frame.with_columns(
            pl.col(c).str.to_date() for c in frame.columns if c.startswith("date_")
        ).with_columns(
            pl.col(c).cast(pl.Int64) for c in frame.columns if c == "population"
        ).write_parquet(folder / f"{name}.parquet")


@pytest.mark.parametrize("writer", [_write_semicolon_bom, _write_tab, _write_xlsx,
                                    _write_parquet],
                         ids=["csv-semicolon-bom", "csv-tab", "xlsx", "parquet"])
def test_every_format_loads_to_the_same_frames(tmp_path: Path, writer) -> None:
    reference = load_dataset(write_folder(tmp_path / "csv"))
    folder = tmp_path / "other"
    folder.mkdir()
    writer(folder, _csv_frames())
    other = load_dataset(folder)
    for table in ("communes", "actions", "participations"):
        assert getattr(other, table).equals(getattr(reference, table)), table


_names = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs",
                                                                             "Zl", "Zp")),
                 min_size=1, max_size=12).map(str.strip).filter(bool)


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(st.integers(1000, 99999), _names, st.dates(dt.date(1990, 1, 1),
                                                             dt.date(2030, 12, 31)),
                  st.one_of(st.none(), st.integers(0, 3_000_000))),
        min_size=1, max_size=8, unique_by=lambda r: r[0]),
)
def test_formats_agree_on_generated_communes(tmp_path_factory, rows) -> None:
    """Random communes written as CSV (three dialects), XLSX and Parquet load identically."""
    communes = pl.DataFrame(
        {"code_insee": [str(r[0]) for r in rows], "nom": [r[1] for r in rows],
         "date_adhesion": [r[2].isoformat() for r in rows],
         "population": [None if r[3] is None else str(r[3]) for r in rows]},
        schema={c: pl.String for c in ("code_insee", "nom", "date_adhesion", "population")},
    )
    first = min(r[2] for r in rows)
    actions = pl.DataFrame({"action_id": ["A"], "libelle": ["Action"],
                            "date_inscription": [first.isoformat()]})
    participations = pl.DataFrame({"code_insee": [communes["code_insee"][0]],
                                   "action_id": ["A"], "date_debut": [rows[0][2].isoformat()]})
    frames = {"communes": communes, "actions": actions, "participations": participations}
    loaded = []
    for writer in (None, _write_semicolon_bom, _write_tab, _write_xlsx, _write_parquet):
        folder = tmp_path_factory.mktemp("fmt")
        if writer is None:
            for name, frame in frames.items():
                frame.write_csv(folder / f"{name}.csv")
        else:
            writer(folder, frames)
        loaded.append(load_dataset(folder))
    for ds in loaded[1:]:
        assert ds.communes.equals(loaded[0].communes)
        assert ds.participations.equals(loaded[0].participations)
    assert loaded[0].communes["code_insee"].str.len_chars().to_list() == [5] * len(rows)


# ------------------------------------------------------------ bad input, rule by rule


def _problems(folder: Path) -> list[str]:
    with pytest.raises(DataError) as info:
        load_dataset(folder)
    return info.value.lines()


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


# (table, old text, new text, expected pieces of the one message: file, line, column, value)
BROKEN = {
    "missing column": ("communes", "date_adhesion,", "adhesion,",
                       ["communes.csv", "ligne 1", "« date_adhesion »", "obligatoire absente"]),
    "malformed INSEE": ("communes", "59002,Beta", "5900A,Beta",
                        ["communes.csv", "ligne 3", "« code_insee »", "« 5900A »", "INSEE"]),
    "duplicate INSEE": ("communes", "59002,Beta", "59001,Beta",
                        ["communes.csv", "ligne 3", "« code_insee »", "« 59001 »", "double",
                         "déjà ligne 2"]),
    "duplicate action": ("actions", "RGPD,Service", "CAM,Service",
                         ["actions.csv", "ligne 3", "« action_id »", "« CAM »", "double"]),
    "unknown commune": ("participations", "59003,RGPD", "59009,RGPD",
                        ["participations.csv", "ligne 6", "« code_insee »", "« 59009 »",
                         "absente"]),
    "unknown action": ("participations", "59003,RGPD", "59003,ARCH",
                       ["participations.csv", "ligne 6", "« action_id »", "« ARCH »", "absente"]),
    "bad date": ("actions", "2016-03-01,numérique", "2016-02-30,numérique",
                 ["actions.csv", "ligne 3", "« date_deploiement »", "« 2016-02-30 »",
                  "date illisible"]),
    "bad french date": ("communes", "2017-01-01,,300", "1/13/2017,,300",
                        ["communes.csv", "ligne 4", "« date_adhesion »", "« 1/13/2017 »"]),
    "missing value": ("communes", "59002,Beta,2015-01-01", "59002,Beta,",
                      ["communes.csv", "ligne 3", "« date_adhesion »", "manquante"]),
    "bad population": ("communes", ",,800", ",,huit cents",
                       ["communes.csv", "ligne 3", "« population »", "« huit cents »"]),
    "leaves before joining": ("communes", "2017-01-01,,300", "2017-01-01,2016-12-31,300",
                              ["communes.csv", "ligne 4", "« date_sortie »", "« 2016-12-31 »",
                               "antérieure à date_adhesion"]),
    "deployed before inscribed": ("actions", "2015-06-19,2015-09-01", "2015-06-19,2015-06-18",
                                  ["actions.csv", "ligne 2", "« date_deploiement »",
                                   "« 2015-06-18 »", "antérieure à date_inscription"]),
    "ends before start": ("participations", "2015-09-01,2016-06-30", "2015-09-01,2015-08-31",
                          ["participations.csv", "ligne 4", "« date_fin »", "« 2015-08-31 »"]),
    "before commune joined": ("participations", "59003,RGPD,2017-02-01",
                              "59003,RGPD,2016-12-01",
                              ["participations.csv", "ligne 6", "« date_debut »",
                               "« 2016-12-01 »", "adhésion de la commune 59003"]),
    "before action inscribed": ("participations", "59001,CAM,2015-09-01",
                                "59001,CAM,2015-06-01",
                                ["participations.csv", "ligne 2", "« date_debut »",
                                 "« 2015-06-01 »", "inscription de l'action CAM"]),
    "overlap": ("participations", "59002,CAM,2017-01-01", "59002,CAM,2016-06-01",
                ["participations.csv", "ligne 5", "« date_debut »", "« 2016-06-01 »",
                 "chevauche", "ligne 4"]),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_each_rule_names_file_line_column_value(tmp_path: Path, case: str) -> None:
    table, old, new, expected = BROKEN[case]
    texts = {"communes": COMMUNES, "actions": ACTIONS, "participations": PARTICIPATIONS}
    texts[table] = _replace(texts[table], old, new)
    before = texts[table]
    folder = write_folder(tmp_path, **texts)
    lines = _problems(folder)
    matching = [line for line in lines if all(piece in line for piece in expected)]
    assert matching, lines
    assert (folder / f"{table}.csv").read_text(encoding="utf-8") == before


def test_problems_of_every_kind_are_reported_together(tmp_path: Path) -> None:
    """A bad date does not hide an unknown commune of the same file (one run, all problems)."""
    participations = _replace(_replace(PARTICIPATIONS, "59001,RGPD,2016-03-01",
                                       "59001,RGPD,2016-13-45"), "59003,RGPD", "59999,RGPD")
    lines = _problems(write_folder(tmp_path, participations=participations))
    assert any("ligne 3" in line and "date illisible" in line for line in lines), lines
    assert any("ligne 6" in line and "« 59999 »" in line and "absente" in line
               for line in lines), lines
    # The row with the unreadable date is not also reported by the later rules.
    assert sum("ligne 3" in line for line in lines) == 1


def test_open_overlap_is_caught(tmp_path: Path) -> None:
    participations = PARTICIPATIONS + "59001,CAM,2019-01-01,2019-06-01\n"
    lines = _problems(write_folder(tmp_path, participations=participations))
    assert any("ligne 7" in line and "chevauche" in line and "ligne 2" in line for line in lines)


def test_restart_after_end_is_not_an_overlap(small_data: Path) -> None:
    # 59002 leaves CAM on 2016-06-30 and comes back on 2017-01-01: valid.
    assert load_dataset(small_data).participations.filter(
        pl.col("code_insee") == "59002").height == 2


def test_missing_and_duplicated_tables(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    (folder / "actions.csv").unlink()
    pl.DataFrame({"a": [1]}).write_parquet(folder / "communes.parquet")
    lines = _problems(folder)
    assert any("« actions » introuvable" in line for line in lines)
    assert any("« communes » en plusieurs exemplaires" in line and "communes.parquet" in line
               for line in lines)


def test_all_problems_of_a_file_are_reported_and_capped(tmp_path: Path) -> None:
    bad_rows = "".join(f"5{i:03d}X,Bad{i},2015-01-01,,1\n" for i in range(30))
    lines = _problems(write_folder(tmp_path, communes=COMMUNES + bad_rows))
    insee = [line for line in lines if "INSEE" in line]
    assert len(insee) == MAX_PROBLEMS_PER_FILE
    assert lines[-1] == "communes.csv : … et 10 autres problèmes non affichés"
    lines_numbers = [int(line.split("ligne ")[1].split(",")[0]) for line in insee]
    assert lines_numbers == sorted(lines_numbers) and lines_numbers[0] == 5


def test_blank_lines_keep_spreadsheet_numbering(tmp_path: Path) -> None:
    communes = COMMUNES.replace("59003,Gamma", "\n59003,Gamma").replace("2017-01-01,,300",
                                                                         "2017-31-01,,300")
    lines = _problems(write_folder(tmp_path, communes=communes))
    assert any(line.startswith("communes.csv, ligne 5, colonne « date_adhesion »")
               for line in lines), lines


def test_bad_metadata(small_data: Path) -> None:
    (small_data / "metadata.json").write_text('{"annees": {"debut": 2019, "fin": 2015}}')
    lines = _problems(small_data)
    assert any("metadata.json" in line and "annees" in line for line in lines)


# ------------------------------------------------------------ input that cannot be misread


def _one(lines: list[str], *pieces: str) -> str:
    """The one line holding every piece (the test fails when none or several do)."""
    matching = [line for line in lines if all(piece in line for piece in pieces)]
    assert len(matching) == 1, lines
    return matching[0]


@pytest.mark.parametrize("header", ["date_adhesion", " Date_Adhesion", "DATE_ADHESION "])
def test_duplicate_csv_headers_are_named_with_both_columns(tmp_path: Path, header: str) -> None:
    # The second column would silently have been ignored (Polars renames it).
    communes = "".join(f"{line},2099-01-01\n" for line in COMMUNES.splitlines()[1:])
    communes = f"code_insee,nom,date_adhesion,date_sortie,population,{header}\n" + communes
    line = _one(_problems(write_folder(tmp_path, communes=communes)), "en double")
    assert line.startswith("communes.csv, ligne 1, colonne « date_adhesion » : colonne en "
                           "double (colonnes 3 et 6")
    if header != "date_adhesion":
        assert f"écrites « date_adhesion » et « {header} »" in line


def test_duplicate_parquet_headers(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    (folder / "communes.csv").unlink()
    communes = _csv_frames()["communes"].with_columns(pl.lit("2099-01-01").alias("Date_Adhesion"))
    communes.write_parquet(folder / "communes.parquet")
    line = _one(_problems(folder), "en double")
    assert line.startswith("communes.parquet, ligne 1, colonne « date_adhesion » : colonne en "
                           "double (colonnes 3 et 6, écrites « date_adhesion » et "
                           "« Date_Adhesion »)")


def test_exactly_duplicate_parquet_headers(tmp_path: Path) -> None:
    # Polars does not write such a file; renaming in place gives one Polars refuses to read.
    folder = write_folder(tmp_path)
    (folder / "communes.csv").unlink()
    communes = _csv_frames()["communes"].with_columns(pl.lit("2099-01-01").alias("date_adhesioX"))
    communes.write_parquet(folder / "x.parquet")
    data = (folder / "x.parquet").read_bytes().replace(b"date_adhesioX", b"date_adhesion")
    (folder / "communes.parquet").write_bytes(data)
    (folder / "x.parquet").unlink()
    assert _one(_problems(folder), "en double").startswith(
        "communes.parquet, ligne 1, colonne « date_adhesion » : colonne en double")


def test_ragged_rows_name_line_and_field_counts(tmp_path: Path) -> None:
    communes = _replace(_replace(COMMUNES, "59002,Beta", "59002,Beta, les Bains"),
                        "59003,Gamma", "59003,Gamma,x,y")
    lines = _problems(write_folder(tmp_path, communes=communes))
    assert lines == [
        "communes.csv, ligne 3, valeur « 59002,Beta, les Bains,2015-01-01,,800 » : 6 champs "
        "au lieu de 5 (une virgule dans une valeur ? l'entourer de guillemets)",
        "communes.csv, ligne 4, valeur « 59003,Gamma,x,y,2017-01-01,,300 » : 7 champs au lieu "
        "de 5 (une virgule dans une valeur ? l'entourer de guillemets)",
    ]


def test_short_rows_have_their_last_values_empty(tmp_path: Path) -> None:
    # Excel's CSV export leaves out the trailing separators of empty cells in some rows.
    communes = _replace(COMMUNES, "2017-01-01,,300", "2017-01-01")
    dataset = load_dataset(write_folder(tmp_path, communes=communes))
    gamma = dataset.communes.filter(pl.col("code_insee") == "59003").row(0, named=True)
    assert gamma["date_sortie"] is None and gamma["population"] is None
    # A separator missing in the middle shifts a value into a column that refuses it.
    shifted = _replace(COMMUNES, "59003,Gamma,2017-01-01,,300", "59003,Gamma,,300")
    assert _problems(write_folder(tmp_path / "b", communes=shifted)) == [
        "communes.csv, ligne 4, colonne « date_adhesion », valeur «  » : valeur obligatoire "
        "manquante",
        "communes.csv, ligne 4, colonne « date_sortie », valeur « 300 » : date illisible "
        "(attendu AAAA-MM-JJ ou JJ/MM/AAAA)",
    ]


def test_quoted_separators_and_line_breaks_keep_spreadsheet_lines(tmp_path: Path) -> None:
    communes = _replace(_replace(COMMUNES, "59002,Beta", '59002,"Beta, les\nBains"'),
                        "2017-01-01,,300", "2017-31-01,,300")
    folder = write_folder(tmp_path, communes=communes)
    # One record per spreadsheet row, however many text lines a quoted value spans.
    assert _one(_problems(folder), "date illisible").startswith("communes.csv, ligne 4,")
    (folder / "communes.csv").write_text(_replace(communes, "2017-31-01", "2017-01-01"))
    assert "Beta, les\nBains" in load_dataset(folder).communes["nom"].to_list()


@pytest.mark.parametrize(("old", "new", "line", "expected"), [
    ("59003,Gamma", '59003,"Gamma', 4, "guillemet ouvert jamais refermé"),
    ("59002,Beta", '59002,"Beta" les Bains', 3, "guillemet fermant suivi"),
])
def test_stray_quotes_are_errors_not_guesses(tmp_path: Path, old: str, new: str, line: int,
                                             expected: str) -> None:
    lines = _problems(write_folder(tmp_path, communes=_replace(COMMUNES, old, new)))
    assert _one(lines, expected).startswith(f"communes.csv, ligne {line} : ")


def test_tab_separated_files(tmp_path: Path) -> None:
    tab = {name: text.replace(",", "\t") for name, text in
           (("communes", COMMUNES), ("actions", ACTIONS), ("participations", PARTICIPATIONS))}
    loaded, reference = load_dataset(write_folder(tmp_path / "tab", **tab)), load_dataset(
        write_folder(tmp_path / "comma"))
    for table in ("communes", "actions", "participations"):
        assert getattr(loaded, table).equals(getattr(reference, table)), table
    # A tab in a value is reported like a comma in a comma-separated file.
    bad = _replace(tab["communes"], "59002\tBeta", "59002\tBeta\tles Bains")
    line = _one(_problems(write_folder(tmp_path / "bad", communes=bad)), "champs")
    assert line.startswith("communes.csv, ligne 3, valeur « 59002\\tBeta\\tles Bains")
    assert "6 champs au lieu de 5 (une tabulation dans une valeur ?" in line


_CP1252_COMMUNES = (COMMUNES.replace("Alpha", "Hem").replace("Beta", "Villeneuve-d'Ascq")
                    .replace("Gamma", "Marcq-en-Barœul"))


def test_windows_1252_csv_keeps_its_accents_and_is_said(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    data = _CP1252_COMMUNES.replace(",", ";").encode("cp1252")
    assert b"\x9c" in data  # the « œ » of Windows-1252, not valid UTF-8
    (folder / "communes.csv").write_bytes(data)
    ds = load_dataset(folder)
    assert ds.communes["nom"].to_list() == ["Hem", "Villeneuve-d'Ascq", "Marcq-en-Barœul"]
    assert ds.encodings == {"communes": "Windows-1252", "actions": "UTF-8",
                            "participations": "UTF-8"}
    assert "communes        : 3 (communes.csv, encodage : Windows-1252)" in describe(ds)


@pytest.mark.parametrize(("prefix", "expected"), [
    (b"", "octet 0x81 illisible : fichier ni en UTF-8 ni en Windows-1252"),
    (b"\xef\xbb\xbf", "octet 0x9C illisible : fichier marqué UTF-8 (BOM) mais invalide"),
])
def test_undecodable_bytes_name_file_and_line(tmp_path: Path, prefix: bytes,
                                              expected: str) -> None:
    folder = write_folder(tmp_path)
    data = _CP1252_COMMUNES.encode("cp1252").replace(b"Hem", b"H\x81m" if not prefix else b"Hem")
    (folder / "communes.csv").write_bytes(prefix + data)
    line = 2 if not prefix else 4
    assert _one(_problems(folder), expected).startswith(f"communes.csv, ligne {line} : ")


def test_utf16_csv_is_named(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    (folder / "communes.csv").write_bytes(COMMUNES.replace(",", "\t").encode("utf-16"))
    assert _problems(folder) == ["communes.csv : fichier en UTF-16 (« Texte Unicode » d'Excel) "
                                 ": l'enregistrer sous « CSV UTF-8 »"]


@pytest.mark.parametrize("header", ["__ligne__", "__typed_nom", " __RAW_nom"])
def test_reserved_headers_are_refused(tmp_path: Path, header: str) -> None:
    communes = _replace(COMMUNES, "population", header)
    lines = _problems(write_folder(tmp_path, communes=communes))
    assert lines == [f"communes.csv, ligne 1, colonne « {header.strip().lower()} » : nom de "
                     "colonne réservé (commençant par « __ ») : renommer la colonne"]


def test_extra_columns_named_like_other_tables_columns(tmp_path: Path) -> None:
    # Participations carrying the commune's and the action's dates as extra columns.
    participations = "".join(f"{line},x,y\n" for line in PARTICIPATIONS.splitlines()[1:])
    participations = "code_insee,action_id,date_debut,date_fin,date_adhesion,date_inscription\n" \
        + participations
    ds = load_dataset(write_folder(tmp_path, participations=participations))
    assert ds.participations["date_adhesion"].to_list() == ["x"] * 5


def test_header_less_columns(tmp_path: Path) -> None:
    # Trailing separators (an empty header-less column) are what Excel often writes.
    trailing = "".join(f"{line},\n" for line in COMMUNES.splitlines())
    assert load_dataset(write_folder(tmp_path / "ok", communes=trailing)).communes.columns[:5] \
        == ["code_insee", "nom", "date_adhesion", "date_sortie", "population"]
    # A header-less column holding values: data under an erased header is not dropped.
    erased = _replace(_replace(COMMUNES, "date_sortie", ""), "59002,Beta,2015-01-01,",
                      "59002,Beta,2015-01-01,2018-12-31")
    assert _problems(write_folder(tmp_path / "bad", communes=erased)) == [
        "communes.csv, ligne 1 : colonne 4 sans en-tête mais remplie (ligne 3 : « 2018-12-31 ») "
        ": lui donner un nom ou la vider"]


def test_blank_lines_before_the_header_and_blank_looking_lines(tmp_path: Path) -> None:
    communes = "\n  \n" + _replace(_replace(COMMUNES, "59003,Gamma", " \t \n,,,,\n59003,Gamma"),
                                   "2017-01-01,,300", "2017-31-01,,300")
    lines = _problems(write_folder(tmp_path, communes=communes))
    # Header on line 3; whitespace-only and separator-only lines skipped but counted.
    assert lines == ["communes.csv, ligne 8, colonne « date_adhesion », valeur « 2017-31-01 » : "
                     "date illisible (attendu AAAA-MM-JJ ou JJ/MM/AAAA)"]


@pytest.mark.parametrize("text", ["\n\n", " \r\n,,,\r\n"])
def test_files_without_a_header(tmp_path: Path, text: str) -> None:
    assert _problems(write_folder(tmp_path, communes=text)) == [
        "communes.csv : fichier vide (aucune ligne d'en-tête)"]


def test_parquet_datetimes_keep_their_time(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    (folder / "communes.csv").unlink()
    pl.DataFrame({"code_insee": ["59001", "59002", "59003"], "nom": ["A", "B", "C"],
                  "date_adhesion": [dt.datetime(2015, 1, 1), dt.datetime(2015, 1, 1),
                                    dt.datetime(2017, 1, 1, 13, 45)]}
                 ).write_parquet(folder / "communes.parquet")
    assert _problems(folder) == [
        "communes.parquet, ligne 4, colonne « date_adhesion », valeur « 2017-01-01 13:45:00 » : "
        "date illisible (attendu AAAA-MM-JJ ou JJ/MM/AAAA)"]


# ------------------------------------------------------------ values shown in messages


@pytest.mark.parametrize(("value", "expected"), [
    ("\0" * 4096, "\\x00" * 10 + "…"),
    ("Lille\tRoubaix", "Lille\\tRoubaix"),
    ("a\r\nb\u200b\u2028", "a\\r\\nb\\u200b\\u2028"),
    ("Marcq-en-Barœul à Villeneuve-d'Ascq ééé", "Marcq-en-Barœul à Villeneuve-d'Ascq ééé"),
    ("x" * 41, "x" * 40 + "…"),
])
def test_values_are_shown_escaped_and_cut(value: str, expected: str) -> None:
    assert shown(value) == expected
    line = str(Problem("communes.csv", "message", line=2, column="nom\n", value=value))
    assert line == f"communes.csv, ligne 2, colonne « nom\\n », valeur « {expected} » : message"


def test_control_characters_in_file_names_and_headers_stay_on_one_line(tmp_path: Path) -> None:
    communes = _replace(COMMUNES, "code_insee", "code\u200binsee\x07")
    lines = _problems(write_folder(tmp_path, communes=communes))
    assert lines == ["communes.csv, ligne 1, colonne « code_insee » : colonne obligatoire absente "
                     "(colonnes trouvées : code\\u200binsee\\x07, nom, date_adhesion, "
                     "date_sortie, population)"]
    assert str(Problem("a\nb.csv", "m\x1b[31m")) == "a\\nb.csv : m\\x1b[31m"


def test_a_long_bad_value_is_cut(tmp_path: Path) -> None:
    communes = _replace(COMMUNES, "59002,Beta", "5" * 5000 + ",Beta")
    line = _one(_problems(write_folder(tmp_path, communes=communes)), "INSEE")
    assert f"valeur « {'5' * 40}… »" in line and len(line) < 200


# ------------------------------------------------------------ unreadable files and folders


def _unreadable(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """Reading ``name`` fails as without read permission (tests run as root, where
    chmod 000 does not stop reading)."""
    read_bytes = Path.read_bytes

    def refuse(self: Path) -> bytes:
        if self.name == name:
            raise PermissionError(13, "Permission denied", str(self))
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", refuse)


@pytest.mark.parametrize("name", ["communes.csv", "communes.xlsx", "communes.parquet",
                                  "metadata.json", "donnees.xlsx"])
def test_unreadable_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    folder = write_folder(tmp_path)
    if name.endswith((".xlsx", ".parquet")):
        (folder / "communes.csv").unlink()
        (_write_xlsx if name.endswith(".xlsx") else _write_parquet)(
            folder, {"communes": _csv_frames()["communes"]})
        (folder / f"communes{Path(name).suffix}").rename(folder / name)
    elif name == "metadata.json":
        (folder / name).write_text("{}")
    _unreadable(monkeypatch, name)
    assert _problems(folder)[0] == f"{name} : fichier illisible : accès refusé (droits de lecture)"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_for_real(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    (folder / "communes.csv").chmod(0)
    try:
        assert _problems(folder) == [
            "communes.csv : fichier illisible : accès refusé (droits de lecture)"]
    finally:
        (folder / "communes.csv").chmod(0o644)


def test_unreadable_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_folder(tmp_path / "data")
    iterdir = Path.iterdir

    def refuse(self: Path):
        if self == folder:
            raise PermissionError(13, "Permission denied", str(self))
        return iterdir(self)

    monkeypatch.setattr(Path, "iterdir", refuse)
    assert _problems(folder) == [f"{folder} : dossier de données illisible : accès refusé "
                                 "(droits de lecture)"]
    monkeypatch.setattr(Path, "iterdir", iterdir)
    monkeypatch.setattr(os, "access", lambda *args: False)  # listable, not traversable
    assert _problems(folder) == [f"{folder} : dossier de données illisible : accès refusé "
                                 "(droits de lecture)"]


def test_data_folder_that_is_a_file(small_data: Path) -> None:
    path = small_data / "communes.csv"
    assert _problems(path) == [f"{path} : ce chemin n'est pas un dossier (attendu : le dossier "
                               "qui contient les tables communes, actions et participations)"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_empty_files(tmp_path: Path, fmt: str) -> None:
    folder = write_folder(tmp_path)
    (folder / "communes.csv").unlink()
    (folder / f"communes.{fmt}").write_bytes(b"")
    assert _problems(folder) == [f"communes.{fmt} : fichier vide (0 octet)"]


@pytest.mark.parametrize(("name", "data", "expected"), [
    ("communes.xlsx", bytes(range(256)) * 8,
     "communes.xlsx : classeur illisible : ce n'est pas un fichier .xlsx"),
    ("communes.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2000),
     "communes.xlsx : classeur illisible : ancien format Excel 97-2003 (.xls) ou classeur "
     "protégé par un mot de passe"),
    ("communes.xlsx", b"PK\x03\x04" + bytes(2000),
     "communes.xlsx : classeur illisible : fichier .xlsx corrompu ou incomplet"),
    ("donnees.xlsx", b"PK\x03\x04" + bytes(2000),
     "donnees.xlsx : classeur illisible : fichier .xlsx corrompu ou incomplet"),
    ("communes.parquet", bytes(range(256)) * 8,
     "communes.parquet : fichier Parquet illisible : ce n'est pas un fichier Parquet"),
    ("communes.parquet", b"PAR1" + bytes(2000) + b"PAR1",
     "communes.parquet : fichier Parquet illisible : fichier corrompu ou incomplet"),
])
def test_corrupt_files(tmp_path: Path, name: str, data: bytes, expected: str) -> None:
    folder = write_folder(tmp_path)
    if name.startswith("communes"):
        (folder / "communes.csv").unlink()
    (folder / name).write_bytes(data)
    lines = _problems(folder)
    assert len(lines) == 1 and lines[0].startswith(expected), lines


def test_truncated_parquet(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    (folder / "communes.csv").unlink()
    _write_parquet(folder, {"communes": _csv_frames()["communes"]})
    data = (folder / "communes.parquet").read_bytes()
    (folder / "communes.parquet").write_bytes(data[: len(data) // 2])
    assert _problems(folder) == [
        "communes.parquet : fichier Parquet illisible : fichier corrompu ou incomplet"]


def test_missing_sheet(tmp_path: Path) -> None:
    _write_xlsx(tmp_path, {"communes": _csv_frames()["communes"]})
    found = read_table(TableSource(tmp_path / "communes.xlsx", "absente"), "communes")
    assert [str(p) for p in found] == ["communes.xlsx : feuille « absente » introuvable"]


def test_bad_metadata_json_is_french(small_data: Path) -> None:
    (small_data / "metadata.json").write_text('{\n  "illustratif": true,\n}')
    assert _problems(small_data) == [
        "metadata.json, ligne 3 : JSON mal formé vers la colonne 1 (virgule, guillemet ou "
        "accolade en trop ou manquant ?)"]


# --------------------------------------------------------------------------- the command line


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mutualisation", *args],
                          capture_output=True, text=True, check=False)


def test_cli_check_summary(small_data: Path) -> None:
    result = _cli("check", "--data", str(small_data))
    assert result.returncode == 0, result.stderr
    assert "communes        : 3 (communes.csv, encodage : UTF-8)" in result.stdout
    assert "2015 à 2017" in result.stdout


def test_cli_check_says_windows_1252(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    (folder / "communes.csv").write_bytes(_CP1252_COMMUNES.encode("cp1252"))
    result = _cli("check", "--data", str(folder))
    assert result.returncode == 0, result.stderr
    assert "communes        : 3 (communes.csv, encodage : Windows-1252)" in result.stdout
    assert "actions         : 3 (actions.csv, encodage : UTF-8)" in result.stdout


def test_cli_check_bad_input_one_line_per_problem(tmp_path: Path) -> None:
    communes = _replace(_replace(COMMUNES, "59002,Beta", "5900A,Beta"), ",,300", ",,trois")
    result = _cli("check", "--data", str(write_folder(tmp_path, communes=communes)))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "communes.csv, ligne 3, colonne « code_insee », valeur « 5900A » : code INSEE mal formé "
        "(5 caractères : 59350, 2A004…)",
        "communes.csv, ligne 4, colonne « population », valeur « trois » : nombre entier attendu",
    ]
    assert result.stdout == ""


def test_cli_missing_folder(tmp_path: Path) -> None:
    result = _cli("check", "--data", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert "dossier de données introuvable" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_binary_file_gives_one_short_line(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    (folder / "communes.csv").write_bytes(b"\0" * 4096)
    result = _cli("check", "--data", str(folder))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "communes.csv, ligne 1 : caractère nul (\\x00) : ce n'est pas un fichier texte CSV"]
