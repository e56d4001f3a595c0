"""The loader on its edges (issue 11): valid input that must load cleanly, exact problem lists
(nothing else reported), the cap of problems per file, and every shape of metadata.json."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

import polars as pl
import pytest

from mutualisation.data.problems import MAX_PROBLEMS_PER_FILE, DataError, Problem
from mutualisation.data.read import TableSource, find_source
from mutualisation.data.validate import check_year, describe, load_dataset
from tests.conftest import ACTIONS, COMMUNES, PARTICIPATIONS, write_folder
from tests.test_loading import BROKEN, _problems, _replace

# --------------------------------------------------------------------------- exact lists

#: The whole output of each case of test_loading.BROKEN: one problem, nothing else.
EXACT = {
    "bad date": "actions.csv, ligne 3, colonne « date_deploiement », valeur « 2016-02-30 » : "
                "date illisible (attendu AAAA-MM-JJ ou JJ/MM/AAAA)",
    "bad french date": "communes.csv, ligne 4, colonne « date_adhesion », valeur « 1/13/2017 » "
                       ": date illisible (attendu AAAA-MM-JJ ou JJ/MM/AAAA)",
    "bad population": "communes.csv, ligne 3, colonne « population », valeur « huit cents » : "
                      "nombre entier attendu",
    "before action inscribed": "participations.csv, ligne 2, colonne « date_debut », valeur « "
                               "2015-06-01 » : participation antérieure à l'inscription de "
                               "l'action CAM (19/06/2015)",
    "before commune joined": "participations.csv, ligne 6, colonne « date_debut », valeur « "
                             "2016-12-01 » : participation antérieure à l'adhésion de la "
                             "commune 59003 (01/01/2017)",
    "deployed before inscribed": "actions.csv, ligne 2, colonne « date_deploiement », valeur « "
                                 "2015-06-18 » : date_deploiement antérieure à "
                                 "date_inscription (19/06/2015)",
    "duplicate INSEE": "communes.csv, ligne 3, colonne « code_insee », valeur « 59001 » : "
                       "code_insee en double (déjà ligne 2)",
    "duplicate action": "actions.csv, ligne 3, colonne « action_id », valeur « CAM » : "
                        "action_id en double (déjà ligne 2)",
    "ends before start": "participations.csv, ligne 4, colonne « date_fin », valeur « "
                         "2015-08-31 » : date_fin antérieure à date_debut (01/09/2015)",
    "leaves before joining": "communes.csv, ligne 4, colonne « date_sortie », valeur « "
                             "2016-12-31 » : date_sortie antérieure à date_adhesion "
                             "(01/01/2017)",
    "malformed INSEE": "communes.csv, ligne 3, colonne « code_insee », valeur « 5900A » : "
                       "code INSEE mal formé (5 caractères : 59350, 2A004…)",
    "missing column": "communes.csv, ligne 1, colonne « date_adhesion » : colonne obligatoire "
                      "absente (colonnes trouvées : code_insee, nom, adhesion, date_sortie, "
                      "population)",
    "missing value": "communes.csv, ligne 3, colonne « date_adhesion », valeur «  » : valeur "
                     "obligatoire manquante",
    "overlap": "participations.csv, ligne 5, colonne « date_debut », valeur « 2016-06-01 » : "
               "chevauche une autre participation de 59002 à CAM (ligne 4)",
    "unknown action": "participations.csv, ligne 6, colonne « action_id », valeur « ARCH » : "
                      "action absente de la table actions",
    "unknown commune": "participations.csv, ligne 6, colonne « code_insee », valeur « 59009 » "
                       ": commune absente de la table communes",
}


def _texts(**changes: tuple[str, str]) -> dict[str, str]:
    texts = {"communes": COMMUNES, "actions": ACTIONS, "participations": PARTICIPATIONS}
    for table, (old, new) in changes.items():
        texts[table] = _replace(texts[table], old, new)
    return texts


def test_every_broken_case_has_its_exact_line() -> None:
    assert sorted(EXACT) == sorted(BROKEN)


@pytest.mark.parametrize("case", sorted(EXACT))
def test_each_rule_reports_exactly_one_problem(tmp_path: Path, case: str) -> None:
    table, old, new, _ = BROKEN[case]
    folder = write_folder(tmp_path, **_texts(**{table: (old, new)}))
    assert _problems(folder) == [EXACT[case]]


def test_problems_are_listed_by_line_whatever_check_found_them(tmp_path: Path) -> None:
    """Checks run column by column, rule by rule; the list is by file, then by line."""
    communes = COMMUNES.replace("59003,Gamma,2017-01-01,,300", "59003,,2017-01-01,,trois") \
                       .replace("59001,Alpha,2015-01-01", "5900X,Alpha,2015-01-01")
    communes += "59004,Delta,2015-01-01,2014-01-01,\n59002,Beta bis,2015-01-01,,\n"
    actions = ACTIONS.replace("SIG,Système d'information géographique,2016-01-01",
                              "SIG,Système d'information géographique,2016-99-01")
    folder = write_folder(tmp_path, communes=communes, actions=actions)
    assert _problems(folder) == [
        "communes.csv, ligne 2, colonne « code_insee », valeur « 5900X » : code INSEE mal formé "
        "(5 caractères : 59350, 2A004…)",
        "communes.csv, ligne 4, colonne « nom », valeur «  » : valeur obligatoire manquante",
        "communes.csv, ligne 4, colonne « population », valeur « trois » : nombre entier attendu",
        "communes.csv, ligne 5, colonne « date_sortie », valeur « 2014-01-01 » : date_sortie "
        "antérieure à date_adhesion (01/01/2015)",
        "communes.csv, ligne 6, colonne « code_insee », valeur « 59002 » : code_insee en double "
        "(déjà ligne 3)",
        "actions.csv, ligne 4, colonne « date_inscription », valeur « 2016-99-01 » : date "
        "illisible (attendu AAAA-MM-JJ ou JJ/MM/AAAA)",
    ]


def test_a_key_repeated_three_times_gives_two_messages(tmp_path: Path) -> None:
    communes = COMMUNES + "59001,Alpha bis,2015-01-01,,\n59001,Alpha ter,2015-01-01,,\n"
    assert _problems(write_folder(tmp_path, communes=communes)) == [
        "communes.csv, ligne 5, colonne « code_insee », valeur « 59001 » : code_insee en double "
        "(déjà ligne 2)",
        "communes.csv, ligne 6, colonne « code_insee », valeur « 59001 » : code_insee en double "
        "(déjà ligne 2)",
    ]


def test_a_duplicate_key_does_not_also_make_references_unknown(tmp_path: Path) -> None:
    """The participations of a duplicated commune or action are neither unknown nor doubled."""
    communes = COMMUNES + "59003,Gamma bis,2015-01-01,,\n"
    actions = ACTIONS + "RGPD,Autre RGPD,2015-06-19,,\n"
    assert _problems(write_folder(tmp_path, communes=communes, actions=actions)) == [
        "communes.csv, ligne 5, colonne « code_insee », valeur « 59003 » : code_insee en double "
        "(déjà ligne 4)",
        "actions.csv, ligne 5, colonne « action_id », valeur « RGPD » : action_id en double "
        "(déjà ligne 3)",
    ]


def test_unknown_references_are_only_reported_when_the_other_table_is_whole(
        tmp_path: Path) -> None:
    """A malformed code in communes makes « unknown commune » unreliable: not said."""
    communes = COMMUNES.replace("59003,Gamma", "5900Z,Gamma")
    participations = PARTICIPATIONS + "59009,ARCH,2018-01-01,\n"
    lines = _problems(write_folder(tmp_path, communes=communes, participations=participations))
    assert lines == [
        "communes.csv, ligne 4, colonne « code_insee », valeur « 5900Z » : code INSEE mal formé "
        "(5 caractères : 59350, 2A004…)",
        "participations.csv, ligne 7, colonne « action_id », valeur « ARCH » : action absente "
        "de la table actions",
    ]


def test_participation_starting_before_both_is_reported_twice(tmp_path: Path) -> None:
    participations = PARTICIPATIONS.replace("59003,RGPD,2017-02-01", "59003,RGPD,2015-01-01")
    assert _problems(write_folder(tmp_path, participations=participations)) == [
        "participations.csv, ligne 6, colonne « date_debut », valeur « 2015-01-01 » : "
        "participation antérieure à l'adhésion de la commune 59003 (01/01/2017)",
        "participations.csv, ligne 6, colonne « date_debut », valeur « 2015-01-01 » : "
        "participation antérieure à l'inscription de l'action RGPD (19/06/2015)",
    ]


def test_overlaps_are_listed_exactly(tmp_path: Path) -> None:
    """A period inside an open one, and a second period inside the first closed one."""
    participations = (PARTICIPATIONS + "59001,CAM,2018-01-01,2018-02-01\n"
                      "59002,CAM,2015-10-01,2015-11-01\n")
    assert _problems(write_folder(tmp_path, participations=participations)) == [
        "participations.csv, ligne 7, colonne « date_debut », valeur « 2018-01-01 » : chevauche "
        "une autre participation de 59001 à CAM (ligne 2)",
        "participations.csv, ligne 8, colonne « date_debut », valeur « 2015-10-01 » : chevauche "
        "une autre participation de 59002 à CAM (ligne 4)",
    ]


def test_an_overlap_names_the_period_it_overlaps(tmp_path: Path) -> None:
    """Line 8 starts after line 7 has ended; it overlaps line 2, still open, only."""
    participations = PARTICIPATIONS + "59001,CAM,2018-01-01,2018-02-01\n59001,CAM,2019-01-01,\n"
    assert _problems(write_folder(tmp_path, participations=participations)) == [
        "participations.csv, ligne 7, colonne « date_debut », valeur « 2018-01-01 » : chevauche "
        "une autre participation de 59001 à CAM (ligne 2)",
        "participations.csv, ligne 8, colonne « date_debut », valeur « 2019-01-01 » : chevauche "
        "une autre participation de 59001 à CAM (ligne 2)",
    ]


# --------------------------------------------------------------------------- the cap


def _bad_communes(count: int) -> str:
    return COMMUNES + "".join(f"5{i:03d}X,Bad{i},2015-01-01,,1\n" for i in range(count))


@pytest.mark.parametrize(("count", "last"), [
    (MAX_PROBLEMS_PER_FILE - 1, None),
    (MAX_PROBLEMS_PER_FILE, None),
    (MAX_PROBLEMS_PER_FILE + 1, "communes.csv : … et 1 autre problème non affiché"),
    (MAX_PROBLEMS_PER_FILE + 2, "communes.csv : … et 2 autres problèmes non affichés"),
])
def test_the_cap_of_problems_per_file(tmp_path: Path, count: int, last: str | None) -> None:
    assert MAX_PROBLEMS_PER_FILE == 20
    lines = _problems(write_folder(tmp_path, communes=_bad_communes(count)))
    shown_lines = [line for line in lines if "INSEE" in line]
    assert len(shown_lines) == min(count, 20)
    assert [int(line.split("ligne ")[1].split(",")[0]) for line in shown_lines] == list(
        range(5, 5 + min(count, 20)))
    assert lines == shown_lines + ([last] if last else [])


def test_the_cap_is_per_file_and_files_keep_their_order(tmp_path: Path) -> None:
    actions = ACTIONS + "".join(f"X{i},Action {i},2015-99-01,,\n" for i in range(21))
    lines = _problems(write_folder(tmp_path, communes=_bad_communes(2), actions=actions))
    assert [line.split(",")[0] for line in lines] == (
        ["communes.csv"] * 2 + ["actions.csv"] * 20 + ["actions.csv : … et 1 autre problème "
                                                       "non affiché"])


def test_data_error_lines_sort_by_first_file_then_line() -> None:
    problems = [Problem("b.csv", "x", line=9), Problem("a.csv", "y", line=3),
                Problem("b.csv", "z", line=2), Problem("a.csv", "sans ligne"),
                Problem("b.csv", "sans ligne")]
    assert DataError(problems).lines() == [
        "b.csv : sans ligne", "b.csv, ligne 2 : z", "b.csv, ligne 9 : x",
        "a.csv : sans ligne", "a.csv, ligne 3 : y"]
    assert str(DataError(problems)) == "\n".join(DataError(problems).lines())


# --------------------------------------------------------------------------- valid edges


def test_blank_and_whitespace_only_lines_load_cleanly(tmp_path: Path) -> None:
    communes = COMMUNES.replace("59002,Beta", "\n   \n,,,,\n ,\t, ,,\n59002,Beta") + "\n\n"
    participations = PARTICIPATIONS.replace("59002,CAM,2015", " \t \n59002,CAM,2015")
    ds = load_dataset(write_folder(tmp_path, communes=communes, participations=participations))
    assert ds.communes["code_insee"].to_list() == ["59001", "59002", "59003"]
    assert ds.participations.height == 5


def test_blank_lines_do_not_shift_the_lines_of_later_problems(tmp_path: Path) -> None:
    communes = COMMUNES.replace("59002,Beta", "\n \n,,,,\n59002,Beta").replace(
        "59003,Gamma", "5900Y,Gamma")
    assert _problems(write_folder(tmp_path, communes=communes)) == [
        "communes.csv, ligne 7, colonne « code_insee », valeur « 5900Y » : code INSEE mal formé "
        "(5 caractères : 59350, 2A004…)"]


def test_equal_start_and_end_dates_load(tmp_path: Path) -> None:
    communes = COMMUNES.replace("59003,Gamma,2017-01-01,,300", "59003,Gamma,2017-01-01,2017-01-01,")
    actions = ACTIONS.replace("SIG,Système d'information géographique,2016-01-01,",
                              "SIG,Système d'information géographique,2016-01-01,2016-01-01")
    participations = PARTICIPATIONS.replace("59001,RGPD,2016-03-01,", "59001,RGPD,2016-03-01,"
                                            "2016-03-01").replace("59003,RGPD,2017-02-01,",
                                                                  "59003,RGPD,2017-02-01,2017-02-01")
    ds = load_dataset(write_folder(tmp_path, communes=communes, actions=actions,
                                   participations=participations))
    assert ds.communes.filter(pl.col("code_insee") == "59003")["date_sortie"].item() == dt.date(
        2017, 1, 1)
    assert ds.actions.filter(pl.col("action_id") == "SIG")["date_deploiement"].item() == dt.date(
        2016, 1, 1)
    ends = ds.participations.filter(pl.col("date_fin") == pl.col("date_debut")).height
    assert ends == 2


def test_restart_on_the_previous_end_date_is_not_an_overlap(tmp_path: Path) -> None:
    participations = PARTICIPATIONS.replace("59002,CAM,2017-01-01,", "59002,CAM,2016-06-30,") \
        + "59001,RGPD,2015-06-19,2016-03-01\n"
    ds = load_dataset(write_folder(tmp_path, participations=participations))
    assert ds.participations.filter(pl.col("code_insee") == "59002")["date_debut"].to_list() == [
        dt.date(2015, 9, 1), dt.date(2016, 6, 30)]
    assert ds.participations.height == 6


def test_starting_on_the_day_of_joining_and_of_inscription_is_valid(tmp_path: Path) -> None:
    participations = PARTICIPATIONS.replace("59003,RGPD,2017-02-01", "59003,RGPD,2017-01-01") \
        + "59002,RGPD,2015-06-19,\n"
    ds = load_dataset(write_folder(tmp_path, participations=participations))
    assert ds.participations.height == 6


def test_a_day_before_joining_or_inscription_is_not(tmp_path: Path) -> None:
    participations = PARTICIPATIONS.replace("59003,RGPD,2017-02-01", "59003,RGPD,2016-12-31") \
        + "59002,RGPD,2015-06-18,\n"
    assert _problems(write_folder(tmp_path, participations=participations)) == [
        "participations.csv, ligne 6, colonne « date_debut », valeur « 2016-12-31 » : "
        "participation antérieure à l'adhésion de la commune 59003 (01/01/2017)",
        "participations.csv, ligne 7, colonne « date_debut », valeur « 2015-06-18 » : "
        "participation antérieure à l'inscription de l'action RGPD (19/06/2015)",
    ]


def test_covered_years_run_to_the_last_dated_event(tmp_path: Path) -> None:
    participations = PARTICIPATIONS + "59001,SIG,2016-01-01,2021-03-01\n"
    ds = load_dataset(write_folder(tmp_path, participations=participations))
    assert (ds.first_year, ds.last_year) == (2015, 2021)
    communes = COMMUNES.replace("59002,Beta,2015-01-01,", "59002,Beta,2015-01-01,2023-01-01")
    ds = load_dataset(write_folder(tmp_path / "b", communes=communes))
    assert (ds.first_year, ds.last_year) == (2015, 2023)
    actions = ACTIONS.replace("SIG,Système d'information géographique,2016-01-01,",
                              "SIG,Système d'information géographique,2016-01-01,2022-05-01")
    ds = load_dataset(write_folder(tmp_path / "c", actions=actions))
    assert (ds.first_year, ds.last_year) == (2015, 2022)
    assert ds.years == list(range(2015, 2023))


def test_check_year_bounds_are_inclusive(small_data: Path) -> None:
    ds = load_dataset(small_data)
    check_year(ds, 2015)
    check_year(ds, 2017)
    for year in (2014, 2018):
        with pytest.raises(DataError) as info:
            check_year(ds, year)
        assert info.value.lines() == [
            f"données : aucune donnée complète pour l'année {year} : le jeu de données couvre "
            "2015 à 2017"]


def test_describe_is_exact(small_data: Path) -> None:
    ds = load_dataset(small_data)
    assert describe(ds) == (
        "Données valides\n"
        "  communes        : 3 (communes.csv, encodage : UTF-8)\n"
        "  actions         : 3 (actions.csv, encodage : UTF-8)\n"
        "  participations  : 5 (participations.csv, encodage : UTF-8)\n"
        "  années couvertes: 2015 à 2017")


# --------------------------------------------------------------------------- metadata.json


def _meta(folder: Path, content: object | str) -> Path:
    text = content if isinstance(content, str) else json.dumps(content)
    (folder / "metadata.json").write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize(("content", "illustrative", "years", "description"), [
    ({}, False, (2015, 2017), ""),
    ({"illustratif": False}, False, (2015, 2017), ""),
    ({"illustratif": True, "description": "Jeu d'essai"}, True, (2015, 2017), "Jeu d'essai"),
    ({"annees": {"debut": 2016, "fin": 2016}}, False, (2016, 2016), ""),
    ({"annees": {"debut": 2010, "fin": 2030}, "autre": [1]}, False, (2010, 2030), ""),
    ({"annees": None}, False, (2015, 2017), ""),
    ({"description": 12}, False, (2015, 2017), "12"),
    ("\ufeff{\"illustratif\": true}", True, (2015, 2017), ""),
])
def test_valid_metadata_shapes(small_data: Path, content, illustrative: bool,
                               years: tuple[int, int], description: str) -> None:
    ds = load_dataset(_meta(small_data, content))
    assert ds.illustrative is illustrative
    assert (ds.first_year, ds.last_year) == years
    assert ds.description == description
    assert ds.sources["metadata"] == small_data / "metadata.json"


def test_without_metadata_the_defaults_apply(small_data: Path) -> None:
    ds = load_dataset(small_data)
    assert (ds.illustrative, ds.description) == (False, "")
    assert "metadata" not in ds.sources


ANNEES = ("metadata.json, colonne « annees », valeur « {} » : « annees » doit être "
          "{{\"debut\": AAAA, \"fin\": AAAA}} avec debut <= fin")
ILLUSTRATIF = ("metadata.json, colonne « illustratif », valeur « {} » : « illustratif » doit "
               "valoir true ou false")


@pytest.mark.parametrize(("content", "expected"), [
    ({"illustratif": "true"}, ILLUSTRATIF.format("true")),
    ({"illustratif": 1}, ILLUSTRATIF.format("1")),
    ({"illustratif": None}, ILLUSTRATIF.format("None")),
    ({"annees": {"debut": "2015", "fin": 2016}},
     ANNEES.format('{"debut": "2015", "fin": 2016}')),
    ({"annees": {"debut": 2015, "fin": "2016"}},
     ANNEES.format('{"debut": 2015, "fin": "2016"}')),
    ({"annees": {"debut": True, "fin": 2016}}, ANNEES.format('{"debut": true, "fin": 2016}')),
    ({"annees": {"debut": 2015.0, "fin": 2016}},
     ANNEES.format('{"debut": 2015.0, "fin": 2016}')),
    ({"annees": {"debut": 2017, "fin": 2016}}, ANNEES.format('{"debut": 2017, "fin": 2016}')),
    ({"annees": {"debut": 2015}}, ANNEES.format('{"debut": 2015}')),
    ({"annees": {"fin": 2015}}, ANNEES.format('{"fin": 2015}')),
    ({"annees": [2015, 2016]}, ANNEES.format("[2015, 2016]")),
    ({"annees": 2015}, ANNEES.format("2015")),
    ([], "metadata.json : un objet JSON est attendu"),
    ("\"texte\"", "metadata.json : un objet JSON est attendu"),
    ("{\"illustratif\": true,}", "metadata.json, ligne 1 : JSON mal formé vers la colonne 22 "
     "(virgule, guillemet ou accolade en trop ou manquant ?)"),
    ("", "metadata.json : fichier vide (0 octet)"),
])
def test_bad_metadata_shapes(small_data: Path, content, expected: str) -> None:
    assert _problems(_meta(small_data, content)) == [expected]


def test_metadata_not_in_utf8(small_data: Path) -> None:
    (small_data / "metadata.json").write_bytes('{"description": "Lille é"}'.encode("cp1252"))
    assert _problems(small_data) == [
        "metadata.json, ligne 1 : octet 0xE9 illisible : le fichier n'est pas en UTF-8"]


def test_bad_metadata_is_reported_with_the_tables_problems(small_data: Path) -> None:
    (small_data / "communes.csv").write_text(_replace(COMMUNES, "59003,Gamma", "5900A,Gamma"),
                                             encoding="utf-8")
    _meta(small_data, {"illustratif": "oui"})
    assert _problems(small_data) == [
        "communes.csv, ligne 4, colonne « code_insee », valeur « 5900A » : code INSEE mal formé "
        "(5 caractères : 59350, 2A004…)",
        ILLUSTRATIF.format("oui"),
    ]


# --------------------------------------------------------------------------- small helpers


@pytest.mark.parametrize(("reference", "number", "letters"), [
    ("A1", 1, "A"), ("Z9", 26, "Z"), ("AA3", 27, "AA"), ("ab12", 28, "AB"), ("AZ1", 52, "AZ"),
    ("BA1", 53, "BA"), ("ZZ1", 702, "ZZ"), ("AAA1", 703, "AAA"), ("XFD1048576", 16384, "XFD"),
])
def test_excel_column_numbers_and_letters(reference: str, number: int, letters: str) -> None:
    from mutualisation.data.read import column_letters, column_number

    assert column_number(reference) == number
    assert column_letters(number) == letters
    assert column_number("12") == 0 and column_letters(0) == ""


def test_three_duplicate_headers_are_all_named(tmp_path: Path) -> None:
    communes = "".join(f"{line},x,y\n" for line in COMMUNES.splitlines()[1:])
    communes = "code_insee,nom,date_adhesion,date_sortie,population,NOM, nom \n" + communes
    assert _problems(write_folder(tmp_path, communes=communes)) == [
        "communes.csv, ligne 1, colonne « nom » : colonne en double (colonnes 2, 6 et 7, écrites "
        "« nom », « NOM » et «  nom  ») : n'en garder qu'une"]


def test_problem_without_line_column_or_value() -> None:
    assert str(Problem("a.csv", "message")) == "a.csv : message"
    assert str(Problem("a.csv", "m", line=0, column="", value="")) == (
        "a.csv, ligne 0, colonne «  », valeur «  » : m")


def test_a_sheet_whose_xml_cannot_be_scanned_is_read_from_a1(tmp_path: Path,
                                                            monkeypatch) -> None:
    """fastexcel reads it; the scan of its XML (start cell, bad cells) gives up: the table is
    then taken to start at A1, lines and columns numbered from there."""
    import xlsxwriter

    from mutualisation.data import read as loading

    folder = write_folder(tmp_path)
    (folder / "communes.csv").unlink()
    with xlsxwriter.Workbook(folder / "communes.xlsx") as book:
        sheet = book.add_worksheet("communes")
        for r, line in enumerate(COMMUNES.splitlines()):
            sheet.write_row(r, 0, line.split(","))
        sheet.write_string(3, 2, "2017-13-01")
    monkeypatch.setattr(loading, "sheet_part", lambda book, name: 1 / 0)
    assert _problems(folder) == [
        "communes.xlsx, ligne 4, colonne « date_adhesion », valeur « 2017-13-01 » : date "
        "illisible (attendu AAAA-MM-JJ ou JJ/MM/AAAA)"]
    with xlsxwriter.Workbook(folder / "communes.xlsx") as book:
        sheet = book.add_worksheet("communes")
        for r, line in enumerate(COMMUNES.splitlines()):
            sheet.write_row(r, 0, line.split(","))
        sheet.write_string(2, 5, "oublié")
    assert _problems(folder) == [
        "communes.xlsx, ligne 1 : colonne F sans en-tête mais remplie (ligne 3 : « oublié ») : "
        "lui donner un nom ou la vider"]


def test_a_row_already_reported_is_not_reported_again_by_the_later_rules(tmp_path: Path) -> None:
    """A bad code is not also an unknown commune, an empty action not an unknown action, and
    an unreadable end date does not make its period open (and overlap the next one)."""
    participations = (PARTICIPATIONS.replace("59002,CAM,2015-09-01,2016-06-30",
                                             "59002,CAM,2015-09-01,2016-99-30")
                      .replace("59003,RGPD", "5900Z,RGPD")
                      .replace("59001,RGPD", "59001, "))
    assert _problems(write_folder(tmp_path, participations=participations)) == [
        "participations.csv, ligne 3, colonne « action_id », valeur «   » : valeur obligatoire "
        "manquante",
        "participations.csv, ligne 4, colonne « date_fin », valeur « 2016-99-30 » : date "
        "illisible (attendu AAAA-MM-JJ ou JJ/MM/AAAA)",
        "participations.csv, ligne 6, colonne « code_insee », valeur « 5900Z » : code INSEE mal "
        "formé (5 caractères : 59350, 2A004…)",
    ]


@pytest.mark.parametrize(("error", "reason"), [
    (OSError(5, "Input/output error"), "erreur de lecture du disque"),
    (OSError(2, "No such file"), "disparu pendant la lecture"),
    (OSError(21, "Is a directory"), "c'est un dossier"),
    (OSError(28, "No space left"), "disque plein"),
    (OSError(99999, "?"), "erreur système 99999"),
    (OSError("sans code"), "erreur système -1"),
    (PermissionError(13, "Permission denied"), "accès refusé (droits de lecture)"),
])
def test_os_errors_are_said_in_french(error: OSError, reason: str) -> None:
    from mutualisation.files import os_reason

    assert os_reason(error, reading=True) == reason


@pytest.mark.parametrize(("reason", "message"), [
    ("',' expected after '\"'", "guillemet fermant suivi d'autres caractères : une valeur entre "
     "guillemets doit l'être en entier (doubler les guillemets qu'elle contient)"),
    ("unexpected end of data", "guillemet ouvert jamais refermé (la suite du fichier serait une "
     "seule valeur)"),
    ("field larger than field limit (131072)", "guillemet ouvert jamais refermé (la suite du "
     "fichier serait une seule valeur)"),
    ("new-line character seen in unquoted field", "CSV mal formé (new-line character seen in "
     "unquoted field)"),
])
def test_csv_errors_are_said_in_french(reason: str, message: str) -> None:
    import csv

    from mutualisation.data.read import _csv_error

    assert _csv_error(csv.Error(reason)) == message


def test_formulas_with_a_stored_result_load(tmp_path: Path) -> None:
    """A formula calculated by Excel (its result stored, a number or a text) is a value."""
    import xlsxwriter

    folder = write_folder(tmp_path)
    (folder / "communes.csv").unlink()
    with xlsxwriter.Workbook(folder / "communes.xlsx") as book:
        sheet = book.add_worksheet("communes")
        for r, line in enumerate(COMMUNES.splitlines()):
            sheet.write_row(r, 0, line.split(","))
        sheet.write_formula(1, 4, "=1000+200", None, 1200)
        sheet.write_formula(2, 1, '="Be"&"ta"', None, "Beta")
    ds = load_dataset(folder)
    assert ds.communes.select("nom", "population").rows() == [
        ("Alpha", 1200), ("Beta", 800), ("Gamma", 300)]


def test_the_data_folder_must_be_readable_and_traversable(small_data: Path, monkeypatch) -> None:
    import os

    from mutualisation.data import read as loading

    asked: list[int] = []
    monkeypatch.setattr(loading.os, "access", lambda path, mode: asked.append(mode) or True)
    load_dataset(small_data)
    assert asked == [os.R_OK | os.X_OK]


def test_a_tables_own_workbook_is_read_from_its_first_sheet(tmp_path: Path) -> None:
    import xlsxwriter

    folder = write_folder(tmp_path)
    (folder / "communes.csv").unlink()
    with xlsxwriter.Workbook(folder / "communes.xlsx") as book:
        sheet = book.add_worksheet("Feuil1")
        for r, line in enumerate(COMMUNES.splitlines()):
            sheet.write_row(r, 0, line.split(","))
        book.add_worksheet("notes").write_row(0, 0, ["rien", "à", "voir"])
    assert load_dataset(folder).communes.height == 3


def test_a_formula_whose_stored_result_is_empty_is_an_empty_cell(tmp_path: Path) -> None:
    import xlsxwriter

    folder = write_folder(tmp_path)
    (folder / "communes.csv").unlink()
    with xlsxwriter.Workbook(folder / "communes.xlsx") as book:
        sheet = book.add_worksheet("communes")
        for r, line in enumerate(COMMUNES.splitlines()):
            sheet.write_row(r, 0, line.split(","))
        sheet.write_formula(1, 3, '=IF(1>2,"2019-01-01","")', None, "")
    # As Excel and LibreOffice store an empty text result: t="str" and an empty <v>.
    path = folder / "communes.xlsx"
    with zipfile.ZipFile(path) as book:
        parts = {name: book.read(name) for name in book.namelist()}
    sheet_xml = "xl/worksheets/sheet1.xml"
    assert b'<c r="D2"><f>' in parts[sheet_xml]
    parts[sheet_xml] = parts[sheet_xml].replace(b'<c r="D2"><f>', b'<c r="D2" t="str"><f>')
    with zipfile.ZipFile(path, "w") as book:
        for name, data in parts.items():
            book.writestr(name, data)
    assert load_dataset(folder).communes["date_sortie"].to_list() == [None, None, None]


def test_a_filled_header_less_column_is_named_by_its_first_value(tmp_path: Path) -> None:
    erased = (COMMUNES.replace("date_sortie", "")
              .replace("59002,Beta,2015-01-01,", "59002,Beta,2015-01-01,2018-12-31")
              .replace("59003,Gamma,2017-01-01,", "59003,Gamma,2017-01-01,2019-12-31"))
    assert _problems(write_folder(tmp_path, communes=erased)) == [
        "communes.csv, ligne 1 : colonne 4 sans en-tête mais remplie (ligne 3 : « 2018-12-31 ») "
        ": lui donner un nom ou la vider"]


def test_unknown_actions_are_not_said_when_an_action_has_no_id(tmp_path: Path) -> None:
    actions = ACTIONS + " ,Sans identifiant,2016-01-01,,\n"
    participations = PARTICIPATIONS + "59001,ARCH,2018-01-01,\n"
    assert _problems(write_folder(tmp_path, actions=actions, participations=participations)) == [
        "actions.csv, ligne 5, colonne « action_id », valeur «   » : valeur obligatoire manquante"]


def test_an_integer_too_large_is_not_an_integer(tmp_path: Path) -> None:
    communes = COMMUNES.replace(",,800", ",,99999999999999999999")
    assert _problems(write_folder(tmp_path, communes=communes)) == [
        "communes.csv, ligne 3, colonne « population », valeur « 99999999999999999999 » : "
        "nombre entier attendu"]


def test_loaded_tables_are_sorted_by_their_keys(tmp_path: Path) -> None:
    lines = PARTICIPATIONS.splitlines()
    participations = "\n".join([lines[0], *reversed(lines[1:])]) + "\n"
    communes = "\n".join([COMMUNES.splitlines()[0], *reversed(COMMUNES.splitlines()[1:])]) + "\n"
    actions = "\n".join([ACTIONS.splitlines()[0], *reversed(ACTIONS.splitlines()[1:])]) + "\n"
    ds = load_dataset(write_folder(tmp_path, communes=communes, actions=actions,
                                   participations=participations))
    assert ds.communes["code_insee"].to_list() == ["59001", "59002", "59003"]
    assert ds.actions["action_id"].to_list() == ["CAM", "RGPD", "SIG"]
    assert ds.participations.select("code_insee", "action_id", "date_debut").rows() == [
        ("59001", "CAM", dt.date(2015, 9, 1)), ("59001", "RGPD", dt.date(2016, 3, 1)),
        ("59002", "CAM", dt.date(2015, 9, 1)), ("59002", "CAM", dt.date(2017, 1, 1)),
        ("59003", "RGPD", dt.date(2017, 2, 1))]


def test_rows_of_empty_or_blank_cells_of_a_parquet_file_are_skipped(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    (folder / "communes.csv").unlink()
    rows = [line.split(",") for line in COMMUNES.splitlines()]
    rows.insert(2, ["", " ", "\t", "", ""])
    frame = pl.DataFrame(rows[1:], schema=rows[0], orient="row")
    frame.write_parquet(folder / "communes.parquet")
    assert load_dataset(folder).communes["code_insee"].to_list() == ["59001", "59002", "59003"]


def test_a_parquet_column_that_is_not_a_cell(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    (folder / "communes.csv").unlink()
    frame = pl.DataFrame({
        "code_insee": ["59001"], "nom": ["Alpha"], "date_adhesion": ["2015-01-01"],
        "quartiers": [["a", "b"]]})
    frame.write_parquet(folder / "communes.parquet")
    assert _problems(folder) == [
        "communes.parquet, ligne 1, colonne « quartiers » : type de colonne non pris en charge "
        "(List(String))"]


def test_a_problem_without_a_line_comes_first_in_its_file() -> None:
    problems = [Problem("a.csv", "en-tête", line=1), Problem("a.csv", "sans ligne")]
    assert DataError(problems).lines() == ["a.csv : sans ligne", "a.csv, ligne 1 : en-tête"]


def test_a_sheet_starting_lower_down_keeps_excels_row_numbers(tmp_path: Path) -> None:
    import xlsxwriter

    folder = write_folder(tmp_path)
    (folder / "communes.csv").unlink()
    with xlsxwriter.Workbook(folder / "communes.xlsx") as book:
        sheet = book.add_worksheet("communes")
        for r, line in enumerate(COMMUNES.splitlines(), start=2):
            sheet.write_row(r, 1, line.split(","))
        sheet.write_string(4, 3, "2017-13-01")
    assert _problems(folder) == [
        "communes.xlsx, ligne 5, colonne « date_adhesion », valeur « 2017-13-01 » : date "
        "illisible (attendu AAAA-MM-JJ ou JJ/MM/AAAA)"]


# --------------------------------------------------------------------------- coverage gaps


def test_find_source_reads_the_sheet_names_itself(tmp_path: Path) -> None:
    import xlsxwriter

    folder = write_folder(tmp_path / "data")
    assert find_source(folder, "communes") == TableSource(folder / "communes.csv")
    (folder / "actions.csv").unlink()
    with xlsxwriter.Workbook(folder / "donnees.xlsx") as book:
        book.add_worksheet("notes")
        book.add_worksheet(" Actions ")  # names are compared trimmed, in any case
    assert find_source(folder, "actions") == TableSource(folder / "donnees.xlsx", " Actions ")
    assert find_source(folder, "actions").label == "donnees.xlsx (feuille «  Actions  »)"
    (folder / "zzz.xlsx").write_bytes(b"pas un classeur")
    assert find_source(folder, "actions") == Problem(
        "zzz.xlsx", "classeur illisible : ce n'est pas un fichier .xlsx (fichier corrompu, "
        "ou d'un autre format renommé en .xlsx)")


def test_a_missing_data_folder_is_one_problem(tmp_path: Path) -> None:
    assert _problems(tmp_path / "absente") == [
        f"{tmp_path / 'absente'} : dossier de données introuvable"]


def test_a_null_character_names_its_line(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "data")
    (folder / "communes.csv").write_bytes(COMMUNES.encode() + b"59004,Del\0ta,2015-01-01,,1\n")
    assert _problems(folder) == [
        "communes.csv, ligne 5 : caractère nul (\\x00) : ce n'est pas un fichier texte CSV"]


def test_describe_a_table_without_a_known_source(small_data: Path) -> None:
    import dataclasses

    ds = load_dataset(small_data)
    sources = {k: v for k, v in ds.sources.items() if k != "actions"}
    assert "  actions         : 3\n" in describe(dataclasses.replace(ds, sources=sources))


def test_a_sheet_without_cell_references_is_counted_row_by_row(tmp_path: Path) -> None:
    """Excel and xlsxwriter always write ``r="C3"`` on rows and cells; the format does not
    require it. Without it, rows and columns are counted as they come, and an error cell is
    still named by its line, its column and its reference."""
    import re

    import xlsxwriter

    from tests.test_excel import _rewrite_sheet

    folder = write_folder(tmp_path)
    (folder / "communes.csv").unlink()
    book = folder / "communes.xlsx"
    with xlsxwriter.Workbook(book) as workbook:
        sheet = workbook.add_worksheet("communes")
        for r, line in enumerate(COMMUNES.splitlines()):
            sheet.write_row(r, 0, line.split(","))
        sheet.write_formula(2, 2, "=1/0", None, "#DIV/0!")  # C3: date_adhesion of Beta
    _rewrite_sheet(book, "xl/worksheets/sheet1.xml",
                   lambda xml: re.sub(r' (r|spans)="[^"]*"', "", xml))
    assert ' r="' not in zipfile.ZipFile(book).read("xl/worksheets/sheet1.xml").decode()
    assert _problems(folder) == [
        "communes.xlsx, ligne 3, colonne « date_adhesion », valeur « #DIV/0! » : cellule C3 "
        "en erreur"]


def test_bad_cells_outside_the_table_have_no_column(tmp_path: Path) -> None:
    """Formulas never calculated (no stored value) left and right of a table starting at B:
    fastexcel sees no value in their columns, so they fall outside the header's span."""
    import re

    import xlsxwriter

    from tests.test_excel import _rewrite_sheet

    folder = write_folder(tmp_path)
    (folder / "communes.csv").unlink()
    book = folder / "communes.xlsx"
    with xlsxwriter.Workbook(book) as workbook:
        sheet = workbook.add_worksheet("communes")
        for r, line in enumerate(COMMUNES.splitlines()):
            sheet.write_row(r, 1, line.split(","))  # B to F

    def add_formulas(xml: str) -> str:
        xml = re.sub(r'(<row r="3"[^>]*>)', r'\1<c r="A3"><f>1+1</f></c>', xml, count=1)
        return re.sub(r'(<row r="3"[^>]*>.*?)</row>', r'\1<c r="G3"><f>2+2</f></c></row>', xml,
                      count=1)

    _rewrite_sheet(book, "xl/worksheets/sheet1.xml", add_formulas)
    reason = ("formule sans résultat enregistré (ouvrir le classeur dans Excel ou "
              "LibreOffice, recalculer et enregistrer)")
    assert _problems(folder) == [
        f"communes.xlsx, ligne 3, valeur « =1+1 » : cellule A3 : {reason}",
        f"communes.xlsx, ligne 3, valeur « =2+2 » : cellule G3 : {reason}"]
