"""The data change log (``mutualisation diff``) and the snapshot a report keeps of its data:
hand-made pairs of data folders, one kind of change each, and the same content written
otherwise (re-sorted, re-encoded, re-saved as a workbook) showing no change."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from mutualisation.compute.changes import compare
from mutualisation.data.snapshot import located_tables, write_snapshot
from mutualisation.data.validate import load_dataset
from mutualisation.present.changes_text import change_report, row_lines
from tests.conftest import ACTIONS, COMMUNES, PARTICIPATIONS, write_folder
from tests.test_report import cli


def changes_between(tmp_path: Path, **edits: str) -> list[str]:
    """The change lines from the conftest data set to a copy with ``edits`` (table texts)."""
    before = write_folder(tmp_path / "avant")
    after = write_folder(tmp_path / "apres", **edits)
    return row_lines(compare(located_tables(before), located_tables(after)))


def test_same_data_no_change(tmp_path: Path) -> None:
    assert changes_between(tmp_path) == []


def test_participation_start_changed_is_one_field_change(tmp_path: Path) -> None:
    # Line 3 of participations.csv: Alpha in RGPD, start moved a year later.
    edited = PARTICIPATIONS.replace("59001,RGPD,2016-03-01", "59001,RGPD,2017-03-01")
    assert changes_between(tmp_path, participations=edited) == [
        "participation modifiée — participations.csv, ligne 3 : Alpha, RGPD : "
        "date_debut 2016-03-01 → 2017-03-01"]


def test_periods_of_one_pair_are_paired_by_date(tmp_path: Path) -> None:
    # Beta has two periods in CAM; the first one's start and end both move: still the same
    # period (the second one is untouched), reported on its own line.
    edited = PARTICIPATIONS.replace("59002,CAM,2015-09-01,2016-06-30",
                                    "59002,CAM,2015-10-01,2016-05-31")
    assert changes_between(tmp_path, participations=edited) == [
        "participation modifiée — participations.csv, ligne 4 : Beta, CAM : "
        "date_debut 2015-09-01 → 2015-10-01, date_fin 2016-06-30 → 2016-05-31"]


def test_participation_end_added_added_and_removed(tmp_path: Path) -> None:
    edited = (PARTICIPATIONS.replace("59003,RGPD,2017-02-01,\n", "")
              .replace("59001,CAM,2015-09-01,", "59001,CAM,2015-09-01,2017-06-30")
              + "59003,CAM,2017-05-01,\n")
    assert changes_between(tmp_path, participations=edited) == [
        "participation modifiée — participations.csv, ligne 2 : Alpha, CAM : "
        "date_fin (vide) → 2017-06-30",
        # Same line number, then by key: CAM before RGPD.
        "participation ajoutée — participations.csv, ligne 6 : Gamma, CAM "
        "(date_debut 2017-05-01)",
        "participation supprimée — avant : participations.csv, ligne 6 : Gamma, RGPD "
        "(date_debut 2017-02-01)",
    ]


def test_communes_and_actions_added_removed_changed(tmp_path: Path) -> None:
    communes = (COMMUNES.replace("59002,Beta,2015-01-01,,800", "59002,Béta,2015-01-01,,850")
                + "59004,Delta,2016-01-01,,90\n")
    actions = (ACTIONS.replace("SIG,Système d'information géographique,2016-01-01,,",
                               "SIG,Système d'information géographique,2016-01-01,2017-05-02,")
               + "ENR,Énergie,2017-01-01,,énergie\n")
    lines = changes_between(tmp_path, communes=communes, actions=actions)
    assert lines == [
        "commune modifiée — communes.csv, ligne 3 : Béta (59002) : nom Beta → Béta, "
        "population 800 → 850",
        "commune ajoutée — communes.csv, ligne 5 : Delta (59004) (nom Delta, date_adhesion "
        "2016-01-01, population 90)",
        "action modifiée — actions.csv, ligne 4 : SIG : date_deploiement (vide) → 2017-05-02",
        "action ajoutée — actions.csv, ligne 5 : ENR (libelle Énergie, date_inscription "
        "2017-01-01, domaine énergie)",
    ]


def test_commune_removed_with_its_participation(tmp_path: Path) -> None:
    communes = COMMUNES.replace("59003,Gamma,2017-01-01,,300\n", "")
    participations = PARTICIPATIONS.replace("59003,RGPD,2017-02-01,\n", "")
    before = write_folder(tmp_path / "avant")
    after = write_folder(tmp_path / "apres", communes=communes, participations=participations)
    report = change_report(compare(located_tables(before), located_tables(after)),
                           "avant", "apres")
    assert report == [
        "Données apres comparées à avant",
        "2 lignes changées :",
        "Communes : 1 supprimée",
        "  supprimée — avant : communes.csv, ligne 4 : Gamma (59003) (nom Gamma, "
        "date_adhesion 2017-01-01, population 300)",
        "Actions : aucun changement",
        "Participations : 1 supprimée",
        "  supprimée — avant : participations.csv, ligne 6 : Gamma, RGPD "
        "(date_debut 2017-02-01)",
    ]


def _shuffled(text: str) -> str:
    header, *rows = text.strip("\n").split("\n")
    return "\n".join([header, *reversed(rows)]) + "\n"


def _semicolons(text: str) -> str:
    return text.replace(",", ";")


def _workbook(folder: Path) -> Path:
    """The conftest tables as one workbook with real dates and numbers, as Excel saves it."""
    folder.mkdir()
    dataset = load_dataset(write_folder(folder.parent / "csv"))
    with xlsxwriter.Workbook(folder / "donnees.xlsx") as book:
        for name in ("communes", "actions", "participations"):
            getattr(dataset, name).write_excel(book, worksheet=name)
    assert load_dataset(folder).sources["communes"].name == "donnees.xlsx"
    return folder


def test_same_content_written_otherwise_shows_no_change(tmp_path: Path) -> None:
    before = located_tables(write_folder(tmp_path / "avant"))
    # Rows in another order, semicolons, Windows-1252 with a BOM-less é.
    other = tmp_path / "autre"
    write_folder(other, communes=_semicolons(_shuffled(COMMUNES)),
                 actions=_shuffled(ACTIONS), participations=_shuffled(PARTICIPATIONS))
    actions = (other / "actions.csv").read_text(encoding="utf-8")
    (other / "actions.csv").write_bytes(actions.encode("cp1252"))
    assert load_dataset(other).encodings["actions"] == "Windows-1252"
    assert compare(before, located_tables(other)).empty
    assert compare(before, located_tables(_workbook(tmp_path / "classeur"))).empty


def test_snapshot_is_the_same_bytes_for_the_same_content(tmp_path: Path) -> None:
    one, two = tmp_path / "un", tmp_path / "deux"
    one.mkdir()
    two.mkdir()
    kept = write_snapshot(load_dataset(write_folder(tmp_path / "avant")), one)
    other = write_folder(tmp_path / "autre", participations=_shuffled(PARTICIPATIONS),
                         actions=ACTIONS.replace(",", ";"))
    assert write_snapshot(load_dataset(other), two) == kept
    assert sorted(kept) == ["donnees/actions.csv", "donnees/communes.csv",
                            "donnees/participations.csv"]
    # The snapshot is a data folder: the same tables once loaded back.
    again = load_dataset(one / "donnees")
    assert again.participations.equals(load_dataset(other).participations)
    assert (one / "donnees" / "participations.csv").read_text(encoding="utf-8").splitlines()[:2] \
        == ["code_insee,action_id,date_debut,date_fin", "59001,CAM,2015-09-01,"]


def test_diff_command(tmp_path: Path) -> None:
    before = write_folder(tmp_path / "avant")
    same = cli("diff", "--depuis", before, "--data", write_folder(tmp_path / "pareil"))
    assert (same.returncode, same.stdout.splitlines()[-1]) == (0, "Aucun changement.")
    edited = PARTICIPATIONS.replace("59001,RGPD,2016-03-01", "59001,RGPD,2017-03-01")
    after = write_folder(tmp_path / "apres", participations=edited)
    changed = cli("diff", "--depuis", before, "--data", after)
    assert changed.returncode == 1, changed.stderr
    assert changed.stdout.splitlines()[1:] == [
        "1 ligne changée :", "Communes : aucun changement", "Actions : aucun changement",
        "Participations : 1 modifiée",
        "  modifiée — participations.csv, ligne 3 : Alpha, RGPD : date_debut 2016-03-01 → "
        "2017-03-01"]
    # A report folder: its snapshot is compared.
    report = tmp_path / "out" / "2017"
    report.mkdir(parents=True)
    write_snapshot(load_dataset(before), report)
    (report / "indicators.json").write_text("{}", encoding="utf-8")
    from_report = cli("diff", "--depuis", report, "--data", after)
    assert from_report.returncode == 1
    assert from_report.stdout.splitlines()[0] == f"Données {after} comparées à {report}/donnees"


@pytest.mark.parametrize("case", ["bad-data", "old-report", "missing"])
def test_diff_bad_input_is_one_line_status_2(tmp_path: Path, case: str) -> None:
    good = write_folder(tmp_path / "bon")
    if case == "bad-data":
        bad = write_folder(tmp_path / "mauvais",
                           communes=COMMUNES.replace("59003,Gamma", "5900X,Gamma"))
        result = cli("diff", "--depuis", good, "--data", bad)
        expected = "communes.csv, ligne 4, colonne « code_insee », valeur « 5900X »"
    elif case == "old-report":
        report = tmp_path / "2018"
        report.mkdir()
        (report / "indicators.json").write_text("{}", encoding="utf-8")
        result = cli("diff", "--depuis", report, "--data", good)
        expected = "est un rapport sans copie de ses données"
    else:
        result = cli("diff", "--depuis", tmp_path / "absent", "--data", good)
        expected = "dossier de données introuvable"
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_every_value_compared_as_text() -> None:
    # A typed value (date, integer, boolean) compares as written: no float noise.
    frame = pl.DataFrame({"code_insee": ["59001"], "date_adhesion": [date(2015, 1, 1)],
                          "__ligne__": [2]})
    from mutualisation.compute.changes import compare_table

    later = frame.with_columns(pl.lit(date(2015, 1, 2)).alias("date_adhesion"))
    log = compare_table("communes", frame, later)
    assert log.select("champ", "avant", "apres").rows() == [
        ("date_adhesion", "2015-01-01", "2015-01-02")]


#: Columns a workbook holds as numbers: whole ones, and amounts.
_WHOLE = ("population", "annee", "agents_transferes")
_AMOUNTS = ("etp", "cout_fonctionnement", "economies")


def _resaved(data: Path, folder: Path, workbook: bool) -> Path:
    """The tables of ``data`` as an analyst re-saves them: rows in another order, French
    dates, semicolons and Windows-1252 — or one workbook with real dates and numbers."""
    folder.mkdir()
    frames = {path.stem: pl.read_csv(path, infer_schema_length=0)
              for path in sorted(data.glob("*.csv"))}
    dates = {name: [c for c in frame.columns if c.startswith("date_")]
             for name, frame in frames.items()}
    if workbook:
        with xlsxwriter.Workbook(folder / "donnees.xlsx") as book:
            for name, frame in frames.items():
                typed = frame.with_columns(pl.col(dates[name]).str.to_date())
                typed = typed.with_columns(
                    [pl.col(c).cast(pl.Int64) for c in _WHOLE if c in typed.columns]
                    + [pl.col(c).cast(pl.Float64) for c in _AMOUNTS if c in typed.columns])
                typed.sample(fraction=1.0, shuffle=True, seed=1).write_excel(book,
                                                                               worksheet=name)
    else:
        for name, frame in frames.items():
            french = frame.with_columns(pl.col(dates[name]).str.to_date().dt.strftime("%d/%m/%Y"))
            (folder / f"{name}.csv").write_bytes(
                french.reverse().write_csv(separator=";").encode("cp1252"))
    return folder


@pytest.mark.parametrize("workbook", [False, True], ids=["cp1252", "xlsx"])
def test_default_data_resaved_shows_no_change(tmp_path: Path, workbook: bool) -> None:
    from mutualisation.config import DATA_DIR

    resaved = _resaved(DATA_DIR, tmp_path / "donnees", workbook)
    result = cli("diff", "--depuis", DATA_DIR, "--data", resaved)
    assert (result.returncode, result.stdout.splitlines()[-1]) == (0, "Aucun changement."), \
        result.stdout + result.stderr


def test_default_data_one_start_date_changed(tmp_path: Path) -> None:
    from mutualisation.config import DATA_DIR

    changed = tmp_path / "donnees"
    shutil.copytree(DATA_DIR, changed)
    table = changed / "participations.csv"
    text = table.read_text(encoding="utf-8")
    assert "\n59356,MPR,2019-02-01,\n" in text  # line 367: Lompret in MPR
    table.write_text(text.replace("\n59356,MPR,2019-02-01,\n", "\n59356,MPR,2018-02-01,\n"),
                     encoding="utf-8")
    result = cli("diff", "--depuis", DATA_DIR, "--data", changed)
    assert result.returncode == 1
    assert result.stdout.splitlines()[1:] == [
        "1 ligne changée :", "Communes : aucun changement", "Actions : aucun changement",
        "Participations : 1 modifiée",
        "  modifiée — participations.csv, ligne 367 : Lompret, MPR : date_debut 2019-02-01 → "
        "2018-02-01",
        "Populations : aucun changement", "Lignes de moyens : aucun changement"]


def test_optional_tables_are_compared_by_their_keys() -> None:
    # Tables other branches add (populations, moyens): matched on their own keys, a null
    # code (the action's own row of moyens) being a key like any other.
    from mutualisation.compute.changes import compare
    from mutualisation.data.snapshot import LocatedTable

    def located(frame: dict) -> LocatedTable:
        table = pl.DataFrame(frame)
        return LocatedTable("t.csv", table.with_row_index("__ligne__", offset=2).with_columns(
            pl.col("__ligne__").cast(pl.Int64)))

    before = {
        "populations": located({"code_insee": ["59001", "59001"], "annee": [2018, 2019],
                                "population": [1200, 1210]}),
        "moyens": located({"action_id": ["CAM", "CAM"], "annee": [2019, 2019],
                           "code_insee": [None, "59001"], "etp": [2.0, 0.5]}),
    }
    after = {
        "populations": located({"code_insee": ["59001", "59001"], "annee": [2019, 2018],
                                "population": [1215, 1200]}),
        "moyens": located({"action_id": ["CAM", "CAM"], "annee": [2019, 2019],
                           "code_insee": ["59001", None], "etp": [0.5, 2.5]}),
    }
    changes = compare(before, after)
    assert changes.tables == ("populations", "moyens")
    assert changes.log.select("table", "cle", "ligne", "champ", "avant", "apres").rows() == [
        ("populations", ["59001", "2019"], 2, "population", "1210", "1215"),
        ("moyens", ["CAM", "2019", ""], 3, "etp", "2.0", "2.5"),
    ]
    assert row_lines(changes)[1] == ("ligne de moyens modifiée — t.csv, ligne 3 : CAM, 2019 : "
                                     "etp 2.0 → 2.5")
