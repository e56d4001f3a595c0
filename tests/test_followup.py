"""Import of follow-up spreadsheets (issue 14): messy workbooks and CSV files made here."""

from __future__ import annotations

import re
import shutil
import unicodedata
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mutualisation.compute.indicators import year_indicators
from mutualisation.config import DATA_DIR
from mutualisation.data.followup import (
    MAPPING_FILE,
    OUTPUT_FILE,
    REPORT_FILE,
    import_followup,
    normalise_name,
)
from mutualisation.data.followup.reference import read_reference, resolve_communes
from mutualisation.data.problems import DataError
from mutualisation.data.validate import load_dataset

COMMUNES = """code_insee,nom,date_adhesion,date_sortie,population
59350,Lille,2015-01-01,,236234
59368,La Madeleine,2015-01-01,,22617
59527,Saint-André-lez-Lille,2015-01-01,,12907
59378,Marcq-en-Barœul,2015-01-01,,39374
59009,Villeneuve-d'Ascq,2015-01-01,,62342
59550,Sainte-Catherine,2015-01-01,,3000
59088,Bois-Grenier,2017-01-01,,1784
62088,Bois-Grenier,2015-01-01,,900
02004,Œuilly,2015-01-01,,400
59011,Annœullin,2020-03-14,,10887
"""
ACTIONS = """action_id,libelle,date_inscription,date_deploiement,domaine
ADS,Service instructeur des autorisations du droit des sols,2015-06-19,2015-07-01,urbanisme
AST,Mutualisation des assurances,2018-06-29,2019-01-01,achats
CAM,Centrale d'Achats Métropolitaine,2018-10-19,2019-01-01,achats
ENT,Entretien mutualisé des bâtiments communaux,2016-12-16,,patrimoine
RGPD,Service unifié RGPD,2018-06-29,2019-01-01,numérique
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A data folder with communes and actions, no participations yet."""
    data = tmp_path / "donnees"
    data.mkdir()
    (data / "communes.csv").write_text(COMMUNES, encoding="utf-8")
    (data / "actions.csv").write_text(ACTIONS, encoding="utf-8")
    return data


def workbook(path: Path, rows: list[list[object]], *, sheet: str = "Suivi",
             merges: tuple[tuple[str, str], ...] = ()) -> Path:
    """A workbook whose first sheet holds ``rows`` from A1: None leaves a cell empty, a
    datetime is written as an Excel date, a number as a number. ``merges`` are
    (range, value) pairs written as merged cells."""
    book = xlsxwriter.Workbook(path)
    ws = book.add_worksheet(sheet)
    as_date = book.add_format({"num_format": "dd/mm/yyyy"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, datetime):
                ws.write_datetime(r, c, value, as_date)
            elif isinstance(value, (int, float)):
                ws.write_number(r, c, value)
            else:
                ws.write_string(r, c, value)
    for cells, value in merges:
        ws.merge_range(cells, value)
    book.close()
    return path


def table(folder: Path) -> list[tuple[str, str, str, str]]:
    text = (folder / OUTPUT_FILE).read_text(encoding="utf-8")
    return [tuple(line.split(",")) for line in text.splitlines()[1:]]


def problems(err: pytest.ExceptionInfo[DataError]) -> str:
    return "\n".join(err.value.lines())


# A matrix as the secretary keeps it: a title block, a two-row header with merged
# cells, names in every spelling, X and dates mixed, a total column and a total row.
MESSY = [
    ["Tableau de suivi des conventions de mutualisation", None, None, None, None, None, None],
    ["Mise à jour : décembre 2019", None, None, None, None, None, None],
    [None] * 7,
    [None, None, None, None, None, None, None],  # merged: « Commune », « Achats »
    [None, "centrale d'achats METROPOLITAINE", "MUTUALISATION DES ASSURANCES", "rgpd",
     "Service instructeur des autorisations du droit des sols", "Total", "Observations"],
    ["LILLE", "X", "01/03/2019", "✓", 2016, 4, None],
    ["Madeleine (La)", "oui", datetime(2019, 2, 1), None, "x", 3, "convention signée"],
    ["St André lez Lille", 1, 43525, None, None, 2, None],
    ["MARCQ EN BAROEUL", "2019-04-01", None, None, None, 1, None],
    ["Villeneuve d’Ascq", None, None, "X", "3/1/2016", 2, None],
    ["Ste-Catherine", None, None, None, None, 0, None],
    [None] * 7,
    ["Bois-Grenier (59)", "X", None, None, None, 1, None],
    [2004, None, "X", None, None, 1, None],
    ["Total", 5, 3, 2, 3, 13, None],
]
MESSY_MERGES = (("A4:A5", "Commune"), ("B4:C4", "Achats"), ("A1:G1", MESSY[0][0]))
MESSY_EXPECTED = [
    ("02004", "AST", "2019-01-01", ""),
    ("59009", "ADS", "2016-01-03", ""),
    ("59009", "RGPD", "2019-01-01", ""),
    ("59088", "CAM", "2019-01-01", ""),
    ("59350", "ADS", "2016-01-01", ""),
    ("59350", "AST", "2019-03-01", ""),
    ("59350", "CAM", "2019-01-01", ""),
    ("59350", "RGPD", "2019-01-01", ""),
    ("59368", "ADS", "2015-07-01", ""),
    ("59368", "AST", "2019-02-01", ""),
    ("59368", "CAM", "2019-01-01", ""),
    ("59378", "CAM", "2019-04-01", ""),
    ("59527", "AST", "2019-03-01", ""),
    ("59527", "CAM", "2019-01-01", ""),
]


def messy(tmp_path: Path) -> Path:
    rows = [list(row) for row in MESSY]
    rows[0][0] = None  # written by the merge
    return workbook(tmp_path / "suivi.xlsx", rows, merges=MESSY_MERGES)


def test_messy_matrix_imports_into_the_contract(folder: Path, tmp_path: Path) -> None:
    result = import_followup(messy(tmp_path), folder)
    assert table(folder) == MESSY_EXPECTED
    assert result.output == folder / OUTPUT_FILE
    # Written as the shipped participations.csv is: header, LF, ISO dates, empty end.
    text = (folder / OUTPUT_FILE).read_bytes()
    assert text.startswith(b"code_insee,action_id,date_debut,date_fin\n02004,AST,2019-01-01,\n")
    assert b"\r" not in text
    # The folder loads: the output keeps every rule of the input contract.
    assert load_dataset(folder).participations.height == len(MESSY_EXPECTED)
    report = (folder / REPORT_FILE).read_text(encoding="utf-8")
    assert report == result.report
    assert "feuille « Suivi »" in report
    assert "tableau croisé" in report and "en-tête ligne 5" in report
    assert "Lignes lues : 9" in report
    assert "Communes reconnues : 7 (1 par code INSEE, 1 à l'identique, 5 après normalisation)" \
        in report, report
    assert "Actions reconnues : 4 colonnes (1 à l'identique, 3 après normalisation)" in report
    assert "Cellules : 8 X/oui/1/✓ (date inconnue), 4 dates, 1 année, " \
           "1 date en numéro de série Excel, 18 vides" in report
    assert "Débuts inconnus (X) : 8 — 8 à la date de déploiement de l'action" in report
    assert "Participations écrites : 14" in report
    assert "Colonnes ignorées : F « Total », G « Observations »" in report
    assert "Lignes ignorées : ligne 15 « Total »" in report
    assert "Lignes sans participation : 1" in report
    assert "aucune date de fin" in report


def test_second_run_is_byte_identical_and_needs_force(folder: Path, tmp_path: Path) -> None:
    source = messy(tmp_path)
    import_followup(source, folder)
    first = {p: (folder / p).read_bytes() for p in (OUTPUT_FILE, REPORT_FILE)}
    with pytest.raises(DataError) as err:
        import_followup(source, folder)
    assert "existe déjà : --force pour le remplacer" in problems(err)
    assert {p: (folder / p).read_bytes() for p in first} == first
    import_followup(source, folder, force=True)
    assert {p: (folder / p).read_bytes() for p in first} == first
    assert not list(folder.glob(".*.tmp"))


def test_another_participations_table_is_never_shadowed(folder: Path, tmp_path: Path) -> None:
    (folder / "participations.parquet").write_bytes(b"PAR1")
    with pytest.raises(DataError) as err:
        import_followup(messy(tmp_path), folder, force=True)
    assert "participations.parquet : la table participations est déjà là" in problems(err)
    assert not (folder / OUTPUT_FILE).exists()


def test_unknown_names_are_all_listed_with_suggestions(folder: Path, tmp_path: Path) -> None:
    source = workbook(tmp_path / "suivi.xlsx", [
        ["Commune", "CAM", "Centrale des assurances", "Divers"],
        ["Lile", "X", None, None],
        ["Marc en Bareuil", "X", None, None],
        ["Lille", "X", None, "à voir"],
        ["Villeneuve", None, None, None],  # no participation: not checked
    ])
    with pytest.raises(DataError) as err:
        import_followup(source, folder)
    lines = err.value.lines()
    assert lines[0] == ("suivi.xlsx (feuille « Suivi »), cellule C1, valeur « Centrale des "
                        "assurances » : action (en-tête) inconnue (plus proches : "
                        "Mutualisation des assurances (AST), Centrale d'Achats Métropolitaine "
                        "(CAM)) ; sinon l'ajouter à correspondances.csv")
    text = "\n".join(lines)
    assert "cellule D1, valeur « Divers » : action (en-tête) inconnue" in text
    assert "cellule A2, valeur « Lile » : commune inconnue (plus proches : Lille (59350)" in text
    assert ("cellule A3, valeur « Marc en Bareuil » : commune inconnue (plus proches : "
            "Marcq-en-Barœul (59378)") in text
    assert "Villeneuve" not in text
    assert lines[-1].startswith(f"{folder / MAPPING_FILE} : pour un nom")
    assert not (folder / OUTPUT_FILE).exists() and not (folder / REPORT_FILE).exists()

    # The mapping file settles them, and the report says how.
    (folder / MAPPING_FILE).write_text(
        "ecrit,code\nLile,59350\nMARC EN BAREUIL,59378\nCentrale des assurances,AST\n"
        "Divers,ignorer\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        import_followup(source, folder)
    # Lille twice (« Lile » and « Lille »): the same commune in two rows.
    assert "cellule B4, valeur « Lille » : Lille (59350) participe déjà à CAM à cette date " \
           "(cellule B2) : une commune en double ?" in problems(err)
    (folder / MAPPING_FILE).write_text(
        "écrit;code\nLile;59350\nMARC EN BAREUIL;59378\nCentrale des assurances;AST\n"
        "Divers;IGNORER\nLille;ignorer\n", encoding="cp1252")
    result = import_followup(source, folder)
    assert table(folder) == [("59350", "CAM", "2019-01-01", ""), ("59378", "CAM", "2019-01-01", "")]
    assert "Communes reconnues : 2 (2 par correspondances.csv)" in result.report
    assert "Actions reconnues : 2 colonnes (1 à l'identique, 1 par correspondances.csv)" \
        in result.report
    assert "Colonnes ignorées : D « Divers »" in result.report
    assert "Lignes ignorées : ligne 4 « Lille »" in result.report


def test_a_bad_mapping_line_is_named(folder: Path, tmp_path: Path) -> None:
    (folder / MAPPING_FILE).write_text("ecrit,code\nLile,59999\nLille,CAM\nLILLE,59350\n",
                                       encoding="utf-8")
    with pytest.raises(DataError) as err:
        import_followup(messy(tmp_path), folder)
    text = problems(err)
    assert "correspondances.csv, ligne 2, colonne « code », valeur « 59999 » : code inconnu" in text
    assert ("correspondances.csv, ligne 4, colonne « ecrit », valeur « LILLE » : même nom que "
            "la ligne 3") in text


def test_two_communes_of_one_name_are_ambiguous(folder: Path, tmp_path: Path) -> None:
    source = workbook(tmp_path / "suivi.xlsx", [
        ["Suivi 2019"], [None], ["Commune", "CAM"], ["Bois Grenier", "X"], ["Lille", "X"],
    ])
    with pytest.raises(DataError) as err:
        import_followup(source, folder)
    assert problems(err).splitlines()[0] == (
        "suivi.xlsx (feuille « Suivi »), cellule A4, valeur « Bois Grenier » : commune ambiguë "
        ": 59088 Bois-Grenier, 62088 Bois-Grenier ; l'écrire avec son département entre "
        "parenthèses ou l'ajouter à correspondances.csv")
    (folder / MAPPING_FILE).write_text("ecrit,code\nBois Grenier,59088\n", encoding="utf-8")
    result = import_followup(source, folder)
    assert table(folder)[0] == ("59088", "CAM", "2019-01-01", "")
    assert "1 par correspondances.csv" in result.report


def test_a_bad_cell_names_sheet_cell_and_value(folder: Path, tmp_path: Path) -> None:
    source = workbook(tmp_path / "suivi.xlsx", [
        ["Commune", "CAM", "AST", "Total"],
        ["Lille", "X", "peut-être", "n'importe quoi"],
        ["La Madeleine", "31/02/2019", "2019", None],
    ], sheet="Conventions 2019")
    with pytest.raises(DataError) as err:
        import_followup(source, folder, sheet="Conventions 2019")
    assert err.value.lines() == [
        "suivi.xlsx (feuille « Conventions 2019 »), cellule C2, colonne « AST », valeur "
        "« peut-être » : valeur non reconnue (attendu X, oui, 1 ou ✓, une date (JJ/MM/AAAA ou "
        "AAAA-MM-JJ), une année ou rien)",
        "suivi.xlsx (feuille « Conventions 2019 »), cellule B3, colonne « CAM », valeur "
        "« 31/02/2019 » : date impossible (jour ou mois hors calendrier)",
    ]
    with pytest.raises(DataError) as err:
        import_followup(source, folder, sheet="2019")
    assert "feuille « 2019 » introuvable (feuilles du classeur : « Conventions 2019 »)" \
        in problems(err)


def test_dates_before_the_commune_or_the_action_are_refused(folder: Path,
                                                           tmp_path: Path) -> None:
    source = workbook(tmp_path / "suivi.xlsx", [
        ["Commune", "CAM", "ADS"],
        ["Bois-Grenier (59)", None, "01/01/2016"],
        ["Lille", "2017", None],
        ["Annœullin", "X", None],
    ])
    with pytest.raises(DataError) as err:
        import_followup(source, folder)
    assert err.value.lines() == [
        "suivi.xlsx (feuille « Suivi »), cellule C2, valeur « 01/01/2016 » : date antérieure "
        "à l'adhésion de Bois-Grenier (59088) à l'intercommunalité, le 01/01/2017",
        "suivi.xlsx (feuille « Suivi »), cellule B3, valeur « 01/01/2017 » : date antérieure "
        "à l'inscription de l'action CAM, le 19/10/2018",
    ]


def test_x_takes_the_deployment_date_else_the_default(folder: Path, tmp_path: Path) -> None:
    source = workbook(tmp_path / "suivi.xlsx", [
        ["Commune", "Entretien mutualisé des bâtiments communaux", "CAM"],
        ["Lille", "X", "X"],
        ["Annœullin", None, "X"],
        ["La Madeleine", "X", None],
    ])
    with pytest.raises(DataError) as err:
        import_followup(source, folder)
    assert err.value.lines() == [
        "suivi.xlsx (feuille « Suivi »), cellule B2 : action ENT non déployée : date de début "
        "inconnue pour 2 participations (écrire la date dans la cellule, ou donner "
        "--date-par-defaut)"]
    with pytest.raises(DataError) as err:
        import_followup(source, folder, default_date="vers 2019")
    assert problems(err).startswith("--date-par-defaut, valeur « vers 2019 » : date illisible")
    result = import_followup(source, folder, default_date="15/01/2016")
    # Annœullin joined in 2020: its X starts then, not at the deployment.
    assert table(folder) == [
        ("59011", "CAM", "2020-03-14", ""),
        ("59350", "CAM", "2019-01-01", ""),
        ("59350", "ENT", "2016-12-16", ""),
        ("59368", "ENT", "2016-12-16", ""),
    ]
    assert ("Débuts inconnus (X) : 4 — 2 à la date de déploiement de l'action, 2 à la date par "
            "défaut (15/01/2016) ; dont 3 reportés") in result.report


def test_long_list_in_cp1252_with_semicolons(folder: Path, tmp_path: Path) -> None:
    text = (
        "Liste des adhésions aux actions mutualisées\n"
        "\n"
        "Commune;Action;Date de début;Date de fin;Remarque\n"
        "Marcq-en-Barœul;Centrale d'Achats Métropolitaine;01/02/2019;;\n"
        "SAINT ANDRÉ LEZ LILLE;rgpd;2019;31/12/2019;résiliée\n"
        "Saint-André-lez-Lille;RGPD;2020-03-01;;reprise\n"
        "Villeneuve-d'Ascq;Service instructeur des autorisations du droit des sols;;;\n"
        "Œuilly;AST;X;;\n"
        "59350;CAM;43525;;\n"
        "Total;;;;\n"
    )
    source = tmp_path / "liste.csv"
    source.write_bytes(text.encode("cp1252"))
    result = import_followup(source, folder)
    assert table(folder) == [
        ("02004", "AST", "2019-01-01", ""),
        ("59009", "ADS", "2015-07-01", ""),
        ("59350", "CAM", "2019-03-01", ""),
        ("59378", "CAM", "2019-02-01", ""),
        ("59527", "RGPD", "2019-01-01", "2019-12-31"),
        ("59527", "RGPD", "2020-03-01", ""),
    ]
    report = result.report
    assert report.startswith("Import de liste.csv (encodage Windows-1252) vers donnees/")
    assert ("Communes reconnues : 6 (1 par code INSEE, 4 à l'identique, 1 après "
            "normalisation)") in report
    assert "Actions reconnues : 6 noms (5 à l'identique, 1 après normalisation)" in report
    assert ("Cellules : 1 X/oui/1/✓ (date inconnue), 3 dates, 1 année, 1 date en numéro de "
            "série Excel, 6 vides") in report
    assert "liste (une ligne par commune et action), en-tête ligne 3" in report
    assert "Colonnes ignorées : E « Remarque »" in report
    assert "Lignes ignorées : ligne 10 « Total »" in report
    assert "aucune date de fin" not in report
    assert load_dataset(folder).participations.height == 6


def test_long_list_overlaps_and_bad_ends(folder: Path, tmp_path: Path) -> None:
    source = tmp_path / "liste.csv"
    source.write_text(
        "commune\taction_id\tdate_debut\tdate_fin\n"
        "Lille\tCAM\t01/02/2019\t\n"
        "LILLE\tCAM\t01/06/2019\t\n"
        "Lille\tAST\t01/06/2019\t01/01/2019\n"
        "Lille\tRGPD\t01/06/2019\tX\n"
        "\tRGPD\t01/06/2019\t\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        import_followup(source, folder)
    assert err.value.lines() == [
        "liste.csv, cellule C3, valeur « LILLE » : Lille (59350) participe déjà à CAM à cette "
        "date (cellule C2) : une commune en double ?",
        "liste.csv, cellule C4 : date de fin (01/01/2019) antérieure au début (01/06/2019)",
        "liste.csv, cellule D5, colonne « date_fin », valeur « X » : valeur non reconnue "
        "(attendu X, oui, 1 ou ✓, une date (JJ/MM/AAAA ou AAAA-MM-JJ), une année ou rien)",
        "liste.csv, cellule A6 : commune manquante",
    ]


def test_a_sheet_without_a_header_is_said(folder: Path, tmp_path: Path) -> None:
    source = workbook(tmp_path / "suivi.xlsx", [["Bonjour"], ["Lille", "X"]])
    with pytest.raises(DataError) as err:
        import_followup(source, folder)
    assert "ligne d'en-tête introuvable" in problems(err)
    source.with_name("entete.csv").write_text("Commune;CAM;AST\nLille;;\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        import_followup(source.with_name("entete.csv"), folder)
    assert err.value.lines() == ["entete.csv : aucune participation trouvée (aucune cellule X, "
                                 "date ou année sous les en-têtes d'actions)"]
    assert not (folder / OUTPUT_FILE).exists()
    with pytest.raises(DataError) as err:
        import_followup(tmp_path / "absent.xlsx", folder)
    assert "fichier à importer introuvable" in problems(err)


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(("written", "expected"), [
    ("Madeleine (La)", "la madeleine"),
    ("LA MADELEINE", "la madeleine"),
    ("Madeleine, La", "la madeleine"),
    ("St André lez Lille", "saint andre lez lille"),
    ("ST-ANDRE-LEZ-LILLE", "saint andre lez lille"),
    ("Ste Catherine", "sainte catherine"),
    ("MARCQ EN BAROEUL", "marcq en baroeul"),
    ("Marcq-en-Barœul", "marcq en baroeul"),
    ("Villeneuve d’Ascq", "villeneuve d ascq"),
    ("  Villeneuve-d'Ascq ", "villeneuve d ascq"),
    ("Chapelle-d'Armentières (La)", "la chapelle d armentieres"),
    ("Abbaye (L')", "l abbaye"),
    ("ANNŒULLIN", "annoeullin"),
])
def test_normalisation(written: str, expected: str) -> None:
    assert normalise_name(written) == expected


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text)
                   if unicodedata.category(c) != "Mn")


def _article_last(text: str) -> str:
    found = re.match(r"^(les|le|la|l')(?:(?<=')|[ -])(.+)$", text, flags=re.IGNORECASE)
    return f"{found[2]} ({found[1]})" if found else text


#: The ways a secretary writes a name.
VARIANTS = [
    str.upper, str.lower, str.title, _strip_accents, _article_last,
    lambda t: t.replace("-", " "),
    lambda t: t.replace("-", " - "),
    lambda t: t.replace("'", "’"),
    lambda t: t.replace("'", " "),
    lambda t: re.sub(r"\bSainte\b", "Ste", t),
    lambda t: re.sub(r"\bSaint\b", "St", t),
    lambda t: re.sub(r"\bSaint\b", "St.", t),
    lambda t: t.replace("œ", "oe").replace("Œ", "OE"),
    lambda t: f"  {t} ",
    lambda t: t.replace(" ", "  "),
]
_REFERENCE = read_reference(DATA_DIR)
_NAMES = sorted(_REFERENCE.communes.select("nom", "code_insee").iter_rows())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_NAMES), st.lists(st.sampled_from(VARIANTS), max_size=5))
def test_a_name_and_its_variants_resolve_to_its_code(name: tuple[str, str],
                                                     variants: list) -> None:
    written, code = name
    for variant in variants:
        written = variant(written)
    assert normalise_name(written) == normalise_name(name[0])
    resolved = resolve_communes(pl.Series([written]), _REFERENCE)
    assert resolved["target"].to_list() == [code]


_WORD = st.text(alphabet="abcdeéèêfghiîjklmnoôœpqrstuùvwxyzçàâ", min_size=1, max_size=8)


@settings(max_examples=200, deadline=None)
# Found by Hypothesis: « L'A » written « A (L') » then with its apostrophe as a space.
@example("L'", ["a"], "-", [_article_last, lambda t: t.replace("'", " ")])
@given(st.sampled_from(["", "Saint-", "Sainte-", "La ", "Le ", "Les ", "L'"]),
       st.lists(_WORD, min_size=1, max_size=4), st.sampled_from(["-", " ", "-lez-", "-en-"]),
       st.lists(st.sampled_from(VARIANTS), max_size=5))
def test_normalisation_ignores_how_a_name_is_written(prefix: str, words: list[str], joint: str,
                                                     variants: list) -> None:
    name = prefix + joint.join(w.capitalize() for w in words)
    written = name
    for variant in variants:
        written = variant(written)
    assert normalise_name(written) == normalise_name(name)


# --------------------------------------------------------------------------- done when


def test_an_analysts_workbook_of_the_default_data_gives_the_same_bilan(tmp_path: Path) -> None:
    """The default data written as an analyst would: every commune by name in some
    spelling, one column per action label, X where the start is the one X stands for
    (the deployment, or the commune's accession when later), a date otherwise, in
    Excel's several ways. The matrix holds the participations active on 31/12/2019: one
    start per commune and action and no end, so the 2019 bilan is what it can carry."""
    original = load_dataset(DATA_DIR)
    end_2019 = date(2019, 12, 31)
    active = original.participations.filter(
        (pl.col("date_debut") <= end_2019)
        & (pl.col("date_fin").is_null() | (pl.col("date_fin") > end_2019)))
    assert active.select("code_insee", "action_id").is_duplicated().sum() == 0
    communes = original.communes.sort("code_insee")
    actions = original.actions.sort("action_id")
    x_date = (active.join(actions, on="action_id").join(communes, on="code_insee")
              .select("code_insee", "action_id", "date_debut",
                      x=pl.max_horizontal("date_deploiement", "date_adhesion",
                                          "date_inscription")))
    starts = {(c, a): (d, x) for c, a, d, x in x_date.iter_rows()}
    headers = [[str.upper, str.lower, _strip_accents, str][i % 4](label)
               for i, label in enumerate(actions["libelle"])]
    rows: list[list[object]] = [["Suivi des conventions — décembre 2019"], [None],
                                ["Commune", *headers, "Total"]]
    spellings = [str.upper, _strip_accents, _article_last, lambda t: t.replace("-", " "),
                 lambda t: re.sub(r"\bSaint\b", "St", t), str]
    for i, (code, name) in enumerate(communes.select("code_insee", "nom").iter_rows()):
        row: list[object] = [spellings[i % len(spellings)](name)]
        for j, action in enumerate(actions["action_id"]):
            start, x = starts.get((code, action), (None, None))
            if start is None:
                row.append(None)
            elif start == x:
                row.append(["X", "x", "oui", 1, "✓"][(i + j) % 5])
            elif start.month == 1 and start.day == 1 and (i + j) % 2:
                row.append(start.year)
            else:
                way = (i + j) % 4
                row.append([start.strftime("%d/%m/%Y"), datetime(start.year, start.month,
                                                                  start.day),
                            start.isoformat(), (start - date(1899, 12, 30)).days][way])
        row.append(sum(v is not None for v in row[1:]))
        rows.append(row)
    source = workbook(tmp_path / "suivi_2019.xlsx", rows)
    folder = tmp_path / "donnees"
    folder.mkdir()
    for name in ("communes.csv", "actions.csv", "metadata.json"):
        shutil.copy(DATA_DIR / name, folder / name)

    result = import_followup(source, folder)

    imported = load_dataset(folder)
    assert imported.participations.select("code_insee", "action_id", "date_debut").equals(
        active.sort("code_insee", "action_id", "date_debut")
        .select("code_insee", "action_id", "date_debut"))
    assert year_indicators(imported, 2019) == year_indicators(original, 2019)
    assert f"Participations écrites : {active.height}" in result.report
    assert f"Communes reconnues : {active['code_insee'].n_unique()} " in result.report
    # What a matrix can't carry: the participations that ended before 2019 ends, and
    # the earlier periods of a commune that left an action and came back.
    assert original.participations.height > active.height


def test_code_and_name_columns_error_cells_and_unnamed_columns(folder: Path,
                                                               tmp_path: Path) -> None:
    path = tmp_path / "suivi.xlsx"
    book = xlsxwriter.Workbook(path)
    ws = book.add_worksheet("Suivi")
    ws.write_row(0, 0, ["N°", "Code INSEE", "Nom", "CAM", "AST", "Total"])
    # The code wins over a misspelt name; a number code gets its leading zero back.
    ws.write_row(1, 0, [1, 59350, "Lile", "X", None, 1])
    ws.write_row(2, 0, [2, 2004, "Oeuilly", None, "X", 1])
    ws.write_row(3, 0, [3, None, "La Madeleine", "X"])
    # An error in a column left out is no problem; in an action column it is.
    ws.write_formula(3, 5, "=1/0", None, "#DIV/0!")
    ws.write_formula(4, 4, "=1/0", None, "#DIV/0!")
    ws.write_row(4, 0, [4, None, "Ste Catherine", "X"])
    ws.write_row(5, 0, ["Total", None, None, 3, 1, 2, 7])
    book.close()
    with pytest.raises(DataError) as err:
        import_followup(path, folder)
    assert err.value.lines() == [
        "suivi.xlsx (feuille « Suivi »), ligne 5, valeur « #DIV/0! » : cellule E5 en erreur",
    ]
    book = xlsxwriter.Workbook(path)
    ws = book.add_worksheet("Suivi")
    ws.write_row(0, 0, ["N°", "Code INSEE", "Nom", "CAM", "AST", "Total"])
    ws.write_row(1, 0, [1, 59350, "Lile", "X", None, 1])
    ws.write_row(2, 0, [2, 2004, "Oeuilly", None, "X", 1, "à revoir"])
    book.close()
    with pytest.raises(DataError) as err:
        import_followup(path, folder)
    assert err.value.lines() == [
        "suivi.xlsx (feuille « Suivi »), cellule G3, valeur « à revoir » : colonne G sans "
        "en-tête mais remplie : lui donner pour en-tête l'action, ou la vider",
    ]
    ws_rows = [["Commune", "CAM"], ["59350", "X"], ["59999", "X"]]
    with pytest.raises(DataError) as err:
        import_followup(workbook(tmp_path / "codes.xlsx", ws_rows), folder)
    assert err.value.lines() == [
        "codes.xlsx (feuille « Suivi »), cellule A3, valeur « 59999 » : code INSEE absent de "
        "la table communes"]


def test_a_list_whose_headings_are_not_recognised_says_which_are_expected(
        folder: Path, tmp_path: Path) -> None:
    source = workbook(tmp_path / "liste.xlsx", [
        ["Conventions signées"], [None],
        ["Collectivité signataire", "Convention", "Signée le"],
        ["Lille", "CAM", "01/03/2019"],
        ["La Madeleine", "RGPD", "01/04/2019"],
    ])
    with pytest.raises(DataError) as err:
        import_followup(source, folder)
    assert err.value.lines() == [
        "liste.xlsx (feuille « Suivi »), cellule B4 : la colonne B nomme une action ligne après "
        "ligne (« CAM », « RGPD »…) : une liste (une ligne par commune et action), mais sa "
        "ligne d'en-tête 3 (« Collectivité signataire », « Convention », « Signée le ») n'a "
        "pas de colonne commune ni de colonne action ; en-têtes attendus : une colonne "
        "commune (« Commune », « Nom de la commune », « Code INSEE »…) et une colonne "
        "action (« Action », « Libellé », « Code action »…), et au besoin « Date de "
        "début » et « Date de fin »"]
    assert not (folder / OUTPUT_FILE).exists()
    empty = tmp_path / "rien.csv"
    empty.write_text("Bilan\nrien à signaler;ici\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        import_followup(empty, folder)
    assert err.value.lines() == [
        "rien.csv : ligne d'en-tête introuvable dans les 50 premières lignes : attendu soit un "
        "tableau croisé, une colonne par action, chacune titrée de son action_id ou de son "
        "libellé (« ADS », « AST »…), soit une liste avec une colonne commune (« Commune », "
        "« Nom de la commune », « Code INSEE »…) et une colonne action (« Action », « Libellé "
        "», « Code action »…), et au besoin « Date de début » et « Date de fin »"]


def test_a_bad_reference_table_is_named(folder: Path, tmp_path: Path) -> None:
    (folder / "actions.csv").write_text(ACTIONS.replace("2018-10-19", "19 oct. 2018")
                                        + "CAM,Doublon,2019-01-01,,\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        import_followup(messy(tmp_path), folder)
    assert err.value.lines() == [
        "actions.csv, ligne 4, colonne « date_inscription », valeur « 19 oct. 2018 » : date "
        "illisible (attendu AAAA-MM-JJ ou JJ/MM/AAAA)",
        "actions.csv, ligne 7, colonne « action_id », valeur « CAM » : action_id en double "
        "(déjà ligne 4)"]


@pytest.mark.parametrize("earlier", [False, True])
def test_a_failed_write_leaves_both_files_as_they_were(folder: Path, tmp_path: Path,
                                                       monkeypatch, earlier: bool) -> None:
    """The second rename fails: the first file gets its previous content back (or goes)."""
    from mutualisation.data.followup import WriteError

    source = messy(tmp_path)
    if earlier:
        (folder / OUTPUT_FILE).write_text("ancien\n", encoding="utf-8")
        (folder / REPORT_FILE).write_text("ancien rapport\n", encoding="utf-8")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    replace = Path.replace
    renamed: list[str] = []

    def failing(self: Path, target: Path) -> Path:
        if self.name.endswith(".tmp"):
            renamed.append(Path(target).name)
            if len(renamed) == 2:
                raise OSError(28, "No space left on device", str(target))
        return replace(self, target)

    monkeypatch.setattr(Path, "replace", failing)
    with pytest.raises(WriteError) as err:
        import_followup(source, folder, force=True)
    assert renamed == [REPORT_FILE, OUTPUT_FILE]
    assert problems(err) == (f"{folder / OUTPUT_FILE} : écriture impossible : disque plein ; "
                             "rien n'a été écrit")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_ctrl_c_while_writing_waits_for_both_files(folder: Path, tmp_path: Path,
                                                   monkeypatch) -> None:
    import os
    import signal

    source = messy(tmp_path)
    write_bytes = Path.write_bytes

    def interrupted(self: Path, data: bytes) -> int:
        if self.name == f".{OUTPUT_FILE}.tmp":
            os.kill(os.getpid(), signal.SIGINT)
        return write_bytes(self, data)

    monkeypatch.setattr(Path, "write_bytes", interrupted)
    with pytest.raises(KeyboardInterrupt):
        import_followup(source, folder)
    monkeypatch.undo()
    assert sorted(p.name for p in folder.iterdir()) == [
        "actions.csv", "communes.csv", OUTPUT_FILE, REPORT_FILE]
    assert len(table(folder)) == len(MESSY_EXPECTED)


def test_a_list_with_a_legal_form_column_fills_actions_csv(folder: Path, tmp_path: Path) -> None:
    # actions.csv in Windows-1252 with semicolons: kept so, only the empty cells filled.
    actions = ACTIONS.replace(",", ";").replace("domaine\n", "domaine;forme_juridique\n")
    actions = actions.replace("achats\nCAM", "achats;groupement de commandes\nCAM")
    (folder / "actions.csv").write_bytes(actions.encode("cp1252"))
    source = tmp_path / "liste.csv"
    source.write_text(
        "Commune;Action;Date de début;Forme juridique\n"
        "Lille;CAM;01/02/2019;Autre\n"
        "La Madeleine;CAM;01/03/2019;autre\n"
        "Lille;RGPD;01/03/2019;Service Unifie\n"
        "Lille;AST;01/03/2019;groupement de commandes\n", encoding="utf-8")
    result = import_followup(source, folder)
    assert ("Formes juridiques lues : AST : groupement de commandes, CAM : autre, RGPD : "
            "service unifié ; écrites dans actions.csv pour CAM, RGPD") in result.report
    assert "Colonnes ignorées : aucune" in result.report
    text = (folder / "actions.csv").read_bytes().decode("cp1252")
    assert text.splitlines()[0] == ("action_id;libelle;date_inscription;date_deploiement;"
                                    "domaine;forme_juridique")
    assert "CAM;Centrale d'Achats Métropolitaine;2018-10-19;2019-01-01;achats;autre" in text
    forms = dict(load_dataset(folder).actions.select("action_id", "forme_juridique")
                 .iter_rows())
    assert forms == {"ADS": None, "AST": "groupement de commandes", "CAM": "autre",
                     "ENT": None, "RGPD": "service unifié"}


def test_legal_form_problems_are_one_line_each(folder: Path, tmp_path: Path) -> None:
    (folder / "actions.csv").write_text(
        ACTIONS.replace("domaine\n", "domaine,forme_juridique\n")
        .replace("achats\nCAM", "achats,entente\nCAM"), encoding="utf-8")
    source = tmp_path / "liste.csv"
    source.write_text(
        "Commune;Action;Forme juridique\n"
        "Lille;CAM;servise commun\n"
        "Lille;RGPD;service unifié\n"
        "La Madeleine;RGPD;entente\n"
        "Lille;AST;service commun\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        import_followup(source, folder)
    assert err.value.lines() == [
        "liste.csv, cellule C2, valeur « servise commun » : forme juridique non reconnue : "
        "« service commun » ? (valeurs admises : « service commun », « service unifié », "
        "« mise à disposition de service », « mise à disposition de personnel », "
        "« groupement de commandes », « prestation de services », « entente », "
        "« plateforme de services », « coopération entre communes », « autre »)",
        "liste.csv, cellule C4, valeur « entente » : forme juridique de RGPD différente de "
        "celle de la cellule C3 (« service unifié ») : une seule forme par action",
        "liste.csv, cellule C5, valeur « service commun » : forme juridique « service "
        "commun » pour AST, alors que la table actions dit « entente » : corriger l'une ou "
        "l'autre",
    ]
    assert not (folder / "participations.csv").exists()


def test_a_matrix_leaves_a_legal_form_column_out(folder: Path, tmp_path: Path) -> None:
    source = tmp_path / "croise.csv"
    source.write_text("Commune;CAM;RGPD;Forme juridique\nLille;X;01/03/2019;service commun\n",
                      encoding="utf-8")
    result = import_followup(source, folder)
    assert "Colonnes ignorées : D « Forme juridique »" in result.report
    assert "Formes juridiques lues" not in result.report
    assert table(folder) == [("59350", "CAM", "2019-01-01", ""),
                             ("59350", "RGPD", "2019-03-01", "")]
