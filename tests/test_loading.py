"""Loading and validation of a data folder: formats, headers, types, and every bad-input rule."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mutualisation.loading import (
    MAX_PROBLEMS_PER_FILE,
    DataError,
    check_year,
    load_dataset,
)
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


@pytest.mark.parametrize("writer", [_write_semicolon_bom, _write_xlsx, _write_parquet],
                         ids=["csv-semicolon-bom", "xlsx", "parquet"])
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
    """Random communes written as CSV (both dialects), XLSX and Parquet load identically."""
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
    for writer in (None, _write_semicolon_bom, _write_xlsx, _write_parquet):
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


def test_non_utf8_csv_is_named(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    (folder / "communes.csv").write_bytes(
        COMMUNES.replace("Beta", "Bêta").encode("cp1252"))
    lines = _problems(folder)
    assert any(line.startswith("communes.csv, ligne 3") and "UTF-8" in line for line in lines)


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


# --------------------------------------------------------------------------- the command line


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mutualisation", *args],
                          capture_output=True, text=True, check=False)


def test_cli_check_summary(small_data: Path) -> None:
    result = _cli("check", "--data", str(small_data))
    assert result.returncode == 0, result.stderr
    assert "communes        : 3" in result.stdout
    assert "2015 à 2017" in result.stdout


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
