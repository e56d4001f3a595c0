"""The optional ``moyens`` table: loading, bad input, indicators against an independent
computation (Decimal, to the cent), and the reports that show it."""

from __future__ import annotations

import json
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import fastexcel
import polars as pl
import pytest

from mutualisation.compute import moyens
from mutualisation.compute.bilan import Bilan
from mutualisation.compute.fiche import Fiche
from mutualisation.data.problems import DataError
from mutualisation.data.validate import describe, load_dataset
from mutualisation.present import moyens_text
from tests.conftest import write_folder
from tests.test_report import cli

COMMUNES = """code_insee,nom,date_adhesion,date_sortie,population
59001,Alpha,2015-01-01,,1200
59002,Beta,2015-01-01,,800
59003,Gamma,2017-01-01,,300
59004,Delta,2015-01-01,,4567
"""
ACTIONS = """action_id,libelle,date_inscription,date_deploiement,domaine
CAM,Centrale d'achats,2015-06-19,2015-09-01,achats
RGPD,Service unifié RGPD,2015-06-19,2016-03-01,numérique
ASS,Assurances,2016-01-01,2017-05-01,finances
SIG,Information géographique,2016-01-01,2017-01-01,numérique
PDL,Permis de louer,2017-01-01,,habitat
"""
PARTICIPATIONS = """code_insee,action_id,date_debut,date_fin
59001,CAM,2015-09-01,
59002,CAM,2015-09-01,
59004,CAM,2016-01-01,
59001,RGPD,2016-03-01,
59003,RGPD,2017-02-01,
59004,ASS,2017-05-01,
59002,ASS,2017-05-01,
59001,SIG,2017-01-01,
"""
NBSP, NNBSP = "\u00a0", "\u202f"
HEADER = ("action_id;annee;code_insee;etp;agents_transferes;cout_fonctionnement;economies;"
          "mode_financement;cle_repartition")
# Action rows, commune rows, empty cells, four financing modes, French and Excel numbers.
ROWS = [
    f'CAM;2017;;3,5;2;"123{NBSP}456,78 €";5 000;Refacturation;au nombre d\'habitants',
    "CAM;2017;59001;;;40 000,01;;;",
    f"CAM;2017;59002;;;30{NNBSP}000,02 €;;;",
    "CAM;2017;59004;;;;;;",
    "RGPD;2017;;1,25;;20 000,5;;Budget  Intercommunal;",
    "RGPD;2017;59003;0,25;;1500.25;;;",
    "ASS;2017;;0;1;9 999,99 €;12345;attribution de compensation;forfait",
    "ASS;2017;59004;;;5 000;;;",
    "PDL;2017;;0,5;;2500;;MIXTE;",
    "CAM;2016;;3;;100000;;refacturation;",
    "RGPD;2016;;1;;;;mixte;",
]


def moyens_folder(folder: Path, rows: list[str] | None = None) -> Path:
    write_folder(folder, COMMUNES, ACTIONS, PARTICIPATIONS)
    lines = [HEADER, *(ROWS if rows is None else rows)]
    (folder / "moyens.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return moyens_folder(tmp_path / "data")


# ----------------------------------------------------------------- independent computation

D = Decimal
CENT = D("0.01")
#: The same figures as ROWS, by hand: action rows of 2017 (cost, etp, agents, savings, mode).
ACTION_ROWS_2017 = {
    "CAM": (D("123456.78"), D("3.5"), 2, D("5000"), "refacturation"),
    "RGPD": (D("20000.5"), D("1.25"), None, None, "budget intercommunal"),
    "ASS": (D("9999.99"), D("0"), 1, D("12345"), "attribution de compensation"),
    "PDL": (D("2500"), D("0.5"), None, None, "mixte"),
}
POPULATION = {"59001": 1200, "59002": 800, "59003": 300, "59004": 4567}
#: Member communes taking part on 31/12/2017 (read off PARTICIPATIONS).
TAKING_PART_2017 = {"CAM": {"59001", "59002", "59004"}, "RGPD": {"59001", "59003"},
                    "ASS": {"59002", "59004"}, "PDL": set(), "SIG": {"59001"}}
CHARGES_2017 = {"59001": D("40000.01"), "59002": D("30000.02"), "59003": D("1500.25"),
                "59004": D("5000")}


def _per_head(cost: Decimal, population: int) -> float:
    return float((cost / population).quantize(CENT, rounding=ROUND_HALF_UP))


def test_totals_modes_charges_and_cost_per_inhabitant_equal_an_independent_computation(
        data: Path) -> None:
    ds = load_dataset(data)
    figures = moyens.indicators(ds, 2017)
    cost = sum(r[0] for r in ACTION_ROWS_2017.values())
    assert figures["cout_fonctionnement"] == float(cost) == 155957.27
    assert figures["etp"] == float(sum(r[1] for r in ACTION_ROWS_2017.values())) == 5.25
    assert figures["agents_transferes"] == 3
    assert figures["economies"] == 17345.0
    assert figures["actions_renseignees"] == 4
    assert figures["actions_non_renseignees"] == 1  # SIG: deployed, no row, not zero
    covered = set().union(*(TAKING_PART_2017[a] for a in ACTION_ROWS_2017))
    population = sum(POPULATION[c] for c in covered)
    assert figures["population_couverte"] == population == 6867
    assert figures["cout_par_habitant"] == _per_head(cost, population) == 22.71

    modes: dict[str, Decimal] = {}
    for row in ACTION_ROWS_2017.values():
        modes[row[4]] = modes.get(row[4], D(0)) + row[0]
    assert {m: v["cout_fonctionnement"] for m, v in figures["par_mode_financement"].items()} \
        == {m: float(v) for m, v in modes.items()}
    assert list(figures["par_mode_financement"]) == sorted(modes)

    charged = moyens.charges_by_commune(ds, 2017)
    assert dict(charged.select("code_insee", "cout_fonctionnement").iter_rows()) == {
        c: float(v) for c, v in CHARGES_2017.items()}
    assert dict(charged.select("code_insee", "actions").iter_rows())["59004"] == 2

    actions = moyens.by_action(ds, 2017, moyens.populations(ds, 2017))
    per_action = dict(actions.select("action_id", "cout_par_habitant").iter_rows())
    for action, row in ACTION_ROWS_2017.items():
        people = sum(POPULATION[c] for c in TAKING_PART_2017[action])
        expected = _per_head(row[0], people) if people else None
        assert per_action[action] == expected, action
    sig = actions.filter(pl.col("action_id") == "SIG").row(0, named=True)
    assert not sig["renseigne"] and sig["cout_fonctionnement"] is None


def test_the_series_gives_each_year_and_its_change(data: Path) -> None:
    series = moyens.series(load_dataset(data), [2015, 2016, 2017])
    rows = {r["annee"]: r for r in series.iter_rows(named=True)}
    assert rows[2015]["actions_renseignees"] == 0 and rows[2015]["cout_fonctionnement"] is None
    assert rows[2016]["cout_fonctionnement"] == 100000.0  # RGPD's empty cost is not zero
    assert rows[2016]["etp"] == 4.0
    assert rows[2017]["evolution_cout_fonctionnement"] == 55957.27
    assert rows[2017]["evolution_etp"] == 1.25


def test_a_missing_population_gives_no_cost_per_inhabitant(tmp_path: Path) -> None:
    folder = moyens_folder(tmp_path / "d")
    (folder / "communes.csv").write_text(COMMUNES.replace(",4567", ","), encoding="utf-8")
    figures = moyens.indicators(load_dataset(folder), 2017)
    assert figures["cout_par_habitant"] is None and figures["population_couverte"] is None
    assert figures["cout_fonctionnement"] == 155957.27


def test_the_cost_per_inhabitant_takes_the_populations_it_is_given(data: Path) -> None:
    ds = load_dataset(data)
    pops = pl.DataFrame({"code_insee": list(POPULATION), "population": [1000] * 4})
    actions = moyens.by_action(ds, 2017, pops)
    figures = moyens.totals(actions, pops, ds, 2017)
    assert figures["cout_par_habitant"] == _per_head(D("155957.27"), 4000) == 38.99


def test_check_summarises_the_table(data: Path) -> None:
    text = describe(load_dataset(data))
    assert "moyens          : 11 (moyens.csv, encodage : UTF-8)" in text
    assert "années renseignées : 2016, 2017" in text
    assert (f"2017 : 4 actions renseignées, 1 action déployée sans chiffres ; 5,25{NBSP}ETP, "
            f"3 agents transférés, coût 155{NNBSP}957,27{NBSP}€") in text


def test_a_workbook_sheet_is_read_like_a_file(tmp_path: Path) -> None:
    import xlsxwriter

    folder = write_folder(tmp_path / "d", COMMUNES, ACTIONS, PARTICIPATIONS)
    book = xlsxwriter.Workbook(str(folder / "donnees.xlsx"))
    sheet = book.add_worksheet("Moyens")
    sheet.write_row(0, 0, HEADER.split(";"))
    sheet.write_row(1, 0, ["CAM", 2017, None, 2.5, 1, 1234.5, None, "refacturation"])
    sheet.write_row(2, 0, ["CAM", 2017, "59001", None, None, 234.25])
    book.close()
    ds = load_dataset(folder)
    assert ds.sources["moyens"].name == "donnees.xlsx"
    figures = moyens.indicators(ds, 2017)
    assert figures["cout_fonctionnement"] == 1234.5 and figures["etp"] == 2.5
    assert moyens.charges_by_commune(ds, 2017)["cout_fonctionnement"].to_list() == [234.25]


def test_a_folder_without_moyens_loads_and_reports_as_before(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "d", COMMUNES, ACTIONS, PARTICIPATIONS)
    bilan = Bilan.build(folder, 2017)
    assert bilan.dataset.moyens is None and bilan.moyens is None
    assert "moyens" not in bilan.indicators and "moyens" not in bilan.dataset.sources
    assert not any(name.startswith("moyens") for name in bilan.tables())
    assert moyens_text.section(bilan) == "" and moyens_text.key_figures(bilan) is None
    assert "moyens" not in describe(bilan.dataset)


# ----------------------------------------------------------------- bad input, through the CLI

BAD = {
    "unknown action": (
        ["XYZ;2017;;1;;100;;;"], 2, "action_id", "XYZ", "action absente de la table actions"),
    "unknown commune": (
        ["CAM;2017;59999;;;100;;;"], 2, "code_insee", "59999",
        "commune absente de la table communes"),
    "year outside": (
        ["CAM;2031;;1;;100;;;"], 2, "annee", "2031",
        "année hors des années des données (2015 à 2017)"),
    "negative amount": (
        ["CAM;2017;;1;;-1 500,00;;;"], 2, "cout_fonctionnement", "-1 500,00",
        "valeur négative"),
    "no participation": (
        ["CAM;2017;;1;;1000;;;", "CAM;2017;59003;;;100;;;"], 3, "code_insee", "59003",
        "la commune 59003 ne participe pas à l’action CAM en 2017 (aucune participation "
        "active en 2017)"),
    "duplicate key": (
        ["CAM;2017;59001;;;100;;;", "CAM;2017;;1;;1000;;;", "CAM;2017;59001;;;50;;;"], 4,
        "action_id", "CAM", "ligne en double pour l’action CAM en 2017 et la commune 59001 "
        "(déjà ligne 2)"),
    "parts past the whole": (
        ["CAM;2017;;1;;1 000;;;", "CAM;2017;59001;;;600;;;", "CAM;2017;59002;;;500,5;;;"], 2,
        "cout_fonctionnement", "1 000",
        f"les lignes des communes de l’action CAM en 2017 totalisent 1{NNBSP}100,50 €, plus "
        f"que la ligne de l’action (1{NNBSP}000,00 €)"),
    "unknown mode": (
        ["CAM;2017;;1;;1000;;refacturé;"], 2, "mode_financement", "refacturé",
        "mode de financement inconnu (le plus proche : « refacturation »"),
    "unreadable amount": (
        ["CAM;2017;;1;;mille euros;;;"], 2, "cout_fonctionnement", "mille euros",
        "montant en euros illisible"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path: Path, case: str) -> None:
    rows, line, column, value, message = BAD[case]
    folder = moyens_folder(tmp_path / "d", rows)
    out = tmp_path / "out"
    result = cli("report", "--year", "2017", "--data", folder, "--out", out)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"moyens.csv, ligne {line}, colonne « {column} », valeur « {value} »" in lines[0]
    assert message in lines[0]
    assert "Traceback" not in result.stderr
    assert not out.exists() or not any(out.iterdir())


def test_a_missing_required_column_is_named(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "d", COMMUNES, ACTIONS, PARTICIPATIONS)
    (folder / "moyens.csv").write_text("action_id,etp\nCAM,1\n", encoding="utf-8")
    with pytest.raises(DataError) as err:
        load_dataset(folder)
    assert str(err.value).startswith("moyens.csv, ligne 1, colonne « annee » : colonne "
                                     "obligatoire absente")


# ----------------------------------------------------------------- the reports


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("moyens")
    folder = moyens_folder(root / "data")
    result = cli("report", "--year", "2017", "--data", folder, "--out", root / "out")
    assert result.returncode == 0, result.stderr
    return root / "out" / "2017"


def test_the_bilan_shows_the_section_in_the_page_the_json_and_the_workbook(report: Path) -> None:
    page = (report / "bilan.html").read_text(encoding="utf-8")
    assert "<h2>Moyens et coûts</h2>" in page
    assert f"155{NNBSP}957{NBSP}€" in page and f"5,25{NBSP}ETP" in page
    assert "1 action déployée n’a pas de moyens renseignés" in page
    figures = json.loads((report / "indicators.json").read_text(encoding="utf-8"))
    assert figures["moyens"]["cout_fonctionnement"] == 155957.27
    assert set(figures["moyens"]["par_mode_financement"]) == {
        "attribution de compensation", "budget intercommunal", "mixte", "refacturation"}
    assert (report / "figures" / "moyens_actions.svg").is_file()
    assert (report / "figures" / "moyens_evolution.svg").is_file()
    reader = fastexcel.read_excel(str(report / "bilan.xlsx"))
    assert "Moyens" in reader.sheet_names
    sheet = reader.load_sheet("Moyens").to_polars()
    assert sheet.filter(pl.col("Code de l'action") == "CAM")[
        "Coût de fonctionnement (€)"].to_list() == [123456.78]
    written = pl.read_csv(report / "tables" / "moyens_communes.csv",
                          schema_overrides={"code_insee": pl.String})
    assert written["cout_fonctionnement"].sum() == pytest.approx(76500.28)


def test_the_pdf_shows_the_section(report: Path) -> None:
    from tests.test_exports import _pdftext

    text = _pdftext(report / "bilan.pdf")
    assert "Moyens et coûts" in text and "Coût et personnel de chaque action en 2017" in text


def test_a_commune_sheet_says_what_the_commune_pays(data: Path) -> None:
    fiche = Fiche.build(data, 2017, "59004")
    assert fiche.indicators["cout_impute"] == 5000.0
    assert fiche.indicators["actions_financees"] == ["ASS", "CAM"]
    text = moyens_text.fiche_text(fiche)
    assert "Ce que la commune finance" in text
    assert f"pour 5{NNBSP}000,00{NBSP}€ au total" in text
    assert f"Assurances : 5{NNBSP}000,00{NBSP}€" in text and "Centrale d'achats : non renseigné" \
        in text.replace("&#x27;", "'")
    alpha = Fiche.build(data, 2017, "59003")
    assert "Service unifié RGPD" in moyens_text.fiche_text(alpha)


def test_a_commune_sheet_without_moyens_is_unchanged(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "d", COMMUNES, ACTIONS, PARTICIPATIONS)
    fiche = Fiche.build(folder, 2017, "59001")
    assert "cout_impute" not in fiche.indicators and "finance" not in fiche.tables()
    assert moyens_text.fiche_text(fiche) == ""


def test_an_empty_moyens_sheet_of_a_template_is_no_table(tmp_path: Path) -> None:
    from mutualisation.data.template import write_template

    folder = write_folder(tmp_path / "d", COMMUNES, ACTIONS, PARTICIPATIONS)
    write_template(folder / "modele.xlsx", load_dataset(folder))
    ds = load_dataset(folder)
    assert ds.moyens is None and "moyens" not in ds.sources


# ----------------------------------------------------------------- import of a cost sheet

COST_SHEET = """Coûts des actions mutualisées

Action;Année;Commune;ETP;Coût de fonctionnement;Mode de financement
Centrale d'achats;2017;;2,5;12 345,67 €;Refacturation
CAM;2017;alpha;;4 000;
service unifie rgpd;2017;Gamma;;1 000;
RGPD;2017;59001;;500,5;
RGPD;2017;;1;20 000;budget intercommunal
"""


def test_import_of_a_cost_sheet_resolves_names_like_participations(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "d", COMMUNES, ACTIONS, PARTICIPATIONS)
    sheet = tmp_path / "couts.csv"
    sheet.write_text(COST_SHEET, encoding="utf-8")
    result = cli("import", sheet, "--data", folder, "--moyens")
    assert result.returncode == 0, result.stderr
    assert "2 lignes d’action, 3 parts de communes" in result.stdout
    assert (folder / "moyens.csv").read_text(encoding="utf-8").splitlines() == [
        "action_id,annee,code_insee,etp,agents_transferes,cout_fonctionnement,economies,"
        "mode_financement,cle_repartition",
        "CAM,2017,,2.5,,12345.67,,refacturation,",
        "CAM,2017,59001,,,4000.0,,,",
        "RGPD,2017,,1.0,,20000.0,,budget intercommunal,",
        "RGPD,2017,59001,,,500.5,,,",
        "RGPD,2017,59003,,,1000.0,,,",
    ]
    charged = moyens.charges_by_commune(load_dataset(folder), 2017)
    assert dict(charged.select("code_insee", "cout_fonctionnement").iter_rows()) == {
        "59001": 4500.5, "59003": 1000.0}
    again = cli("import", sheet, "--data", folder, "--moyens")
    assert again.returncode == 2 and "existe déjà : --force" in again.stderr


@pytest.mark.parametrize(("line", "expected"), [
    ("CAM;2017;Alfa;;4 000;", "couts.csv, cellule C5, valeur « Alfa » : commune inconnue "
     "(plus proches : Alpha (59001)"),
    ("Centrale d'achat;2017;;;4 000;", "couts.csv, cellule A5, valeur « Centrale d'achat » : "
     "action inconnue (plus proches : Centrale d'achats (CAM)"),
    ("CAM;2017;Gamma;;4 000;", "couts.csv, ligne 5, colonne « code_insee », valeur « 59003 » "
     ": la commune 59003 ne participe pas à l’action CAM en 2017"),
])
def test_a_bad_cost_sheet_is_one_line_and_nothing_is_written(tmp_path: Path, line: str,
                                                             expected: str) -> None:
    folder = write_folder(tmp_path / "d", COMMUNES, ACTIONS, PARTICIPATIONS)
    sheet = tmp_path / "couts.csv"
    sheet.write_text("Titre\n\nAction;Année;Commune;ETP;Coût;Financement\n"
                     "CAM;2017;;1;10 000;refacturation\n" + line + "\n", encoding="utf-8")
    result = cli("import", sheet, "--data", folder, "--moyens")
    assert result.returncode == 2, result.stdout
    assert expected in result.stderr.splitlines()[0]
    assert "Traceback" not in result.stderr and not (folder / "moyens.csv").exists()


def test_legal_forms_group_the_figures_when_the_actions_have_them(data: Path) -> None:
    import dataclasses

    ds = load_dataset(data)
    forms = pl.when(pl.col("action_id").is_in(["CAM", "ASS"])).then(
        pl.lit("groupement de commandes")).otherwise(pl.lit("service unifié"))
    ds = dataclasses.replace(ds, actions=ds.actions.with_columns(forms.alias("forme_juridique")))
    actions = moyens.by_action(ds, 2017, moyens.populations(ds, 2017))
    grouped = moyens.by_form(actions)
    # In the order of the vocabulary (FORMES_JURIDIQUES), as the section « Formes de
    # mutualisation »: « service unifié » before « groupement de commandes ».
    assert grouped.select("forme_juridique", "cout_fonctionnement").rows() == [
        ("service unifié", float(D("20000.5") + D("2500"))),
        ("groupement de commandes", float(D("123456.78") + D("9999.99")))]
    assert moyens.by_form(actions.drop("forme_juridique")) is None
    bilan = Bilan(ds, 2017)
    assert "Par forme juridique : service unifié" in moyens_text.section(bilan)
    assert "Forme juridique" in moyens_text.actions_table(bilan).columns


def test_a_year_with_one_or_no_action_with_figures_reads_well(data: Path, tmp_path: Path) -> None:
    first = Bilan.build(data, 2015)
    assert "Aucune action n’a de moyens renseignés pour 2015 (1 action déployée sans " \
        "chiffres)" in moyens_text.section(first)
    two = moyens_text.section(Bilan.build(data, 2016))
    assert f"En 2016, les 2 actions renseignées représentent un coût de fonctionnement de " \
        f"100{NNBSP}000{NBSP}€ et 4{NBSP}ETP au 31 décembre." in two  # RGPD's cost is empty
    table = moyens_text.key_figures(Bilan.build(data, 2016))
    assert table.row(0) == ("Coût de fonctionnement", f"100{NNBSP}000{NBSP}€", "non renseigné",
                            "—")
    alone = moyens_folder(tmp_path / "one", ["CAM;2016;;3;;100000;;refacturation;"])
    assert "En 2016, l’action renseignée représente" in moyens_text.section(
        Bilan.build(alone, 2016))


def test_an_optional_cell_without_output_leaves_the_page_as_it_was() -> None:
    import nbformat

    from mutualisation.export.page import OPTIONAL_TAG, export_html
    from tests.browser import sample_notebook

    before = sample_notebook()
    after = nbformat.reads(nbformat.writes(before), as_version=4)
    empty = nbformat.v4.new_code_cell("if bilan.moyens is not None: ...",
                                      metadata={"tags": [OPTIONAL_TAG]})
    after.cells.insert(1, empty)
    assert export_html(after, "Bilan") == export_html(before, "Bilan")
    shown_cell = nbformat.v4.new_code_cell("", metadata={"tags": [OPTIONAL_TAG]}, outputs=[
        nbformat.v4.new_output("display_data", {"text/html": "<h2>Moyens et coûts</h2>"})])
    after.cells[1] = shown_cell
    assert "<h2>Moyens et coûts</h2>" in export_html(after, "Bilan")


def test_the_commune_sheet_page_says_what_the_commune_pays(report: Path) -> None:
    folder = report.parents[1] / "data"
    result = cli("fiches", "--year", "2017", "--communes", "59004", "--data", folder,
                 "--out", report.parent)
    assert result.returncode == 0, result.stderr
    sheet = report / "fiches" / "59004"
    page = (sheet / "fiche.html").read_text(encoding="utf-8")
    assert "<h2>Ce que la commune finance</h2>" in page
    assert f"pour 5{NNBSP}000,00{NBSP}€ au total" in page
    figures = json.loads((sheet / "indicators.json").read_text(encoding="utf-8"))
    assert figures["cout_impute"] == 5000.0 and figures["actions_financees"] == ["ASS", "CAM"]
    assert (sheet / "tables" / "finance.csv").is_file()


def test_a_parquet_table_and_a_typographic_minus(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "d", COMMUNES, ACTIONS, PARTICIPATIONS)
    pl.DataFrame({"action_id": ["CAM", "CAM"], "annee": [2017, 2017],
                  "code_insee": [None, "59002"], "etp": [1.5, None],
                  "cout_fonctionnement": [1000.1, 999.99]}).write_parquet(
        folder / "moyens.parquet")
    figures = moyens.indicators(load_dataset(folder), 2017)
    assert (figures["etp"], figures["cout_fonctionnement"]) == (1.5, 1000.1)
    (folder / "moyens.parquet").unlink()
    moyens_folder(folder, ["CAM;2017;;1;;\u22121 000,00 €;;;"])
    with pytest.raises(DataError) as err:
        load_dataset(folder)
    assert "valeur négative" in str(err.value)


def test_an_empty_legal_form_column_groups_nothing(data: Path) -> None:
    import dataclasses

    ds = load_dataset(data)
    ds = dataclasses.replace(ds, actions=ds.actions.with_columns(
        pl.lit(None, pl.String).alias("forme_juridique")))
    bilan = Bilan(ds, 2017)
    assert bilan.moyens.forms is None
    assert "Forme juridique" not in moyens_text.actions_table(bilan).columns
    assert "Par forme juridique" not in moyens_text.section(bilan)


def test_import_of_a_cost_workbook_sheet(tmp_path: Path) -> None:
    import xlsxwriter

    folder = write_folder(tmp_path / "d", COMMUNES, ACTIONS, PARTICIPATIONS)
    path = tmp_path / "couts.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Coûts 2017")
    sheet.write_row(0, 0, ["Suivi des coûts"])
    sheet.write_row(2, 0, ["Libellé", "Exercice", "Code INSEE", "Coût", "Financement"])
    sheet.write_row(3, 0, ["Centrale d'achats", 2017, None, 1234.56, "refacturation"])
    sheet.write_row(4, 0, ["CAM", 2017, 59002, 234.56])
    book.close()
    result = cli("import", path, "--data", folder, "--moyens", "--feuille", "Coûts 2017")
    assert result.returncode == 0, result.stderr
    charged = moyens.charges_by_commune(load_dataset(folder), 2017)
    assert charged.select("code_insee", "cout_fonctionnement").rows() == [("59002", 234.56)]


# ----------------------------------------------------------------- after the review of #19

#: The actions above with legal forms, and OLD: deployed in 2015, abandoned on 30/06/2016.
ACTIONS_FORMS = """\
action_id,libelle,date_inscription,date_deploiement,domaine,forme_juridique,date_abandon
CAM,Centrale d'achats,2015-06-19,2015-09-01,achats,groupement de commandes,
RGPD,Service unifié RGPD,2015-06-19,2016-03-01,numérique,service unifié,
ASS,Assurances,2016-01-01,2017-05-01,finances,,
SIG,Information géographique,2016-01-01,2017-01-01,numérique,service commun,
PDL,Permis de louer,2017-01-01,,habitat,,
OLD,Ancienne action,2015-06-19,2015-09-01,achats,service commun,2016-06-30
"""
PARTICIPATIONS_OLD = PARTICIPATIONS + "59002,OLD,2015-09-01,2016-06-30\n"
#: Amounts whose cents Polars would turn into 256.59000000000003 and the like: 59004 is
#: charged 11 014,37 + 256,59 = 11 270,96 €; RGPD costs 6 900 € for 1 500 inhabitants, 4,60 €
#: each. ASS gives no ETP.
ROWS_PUBLISHED = [
    "OLD;2015;;1;;1 000;;refacturation;",
    "CAM;2016;;1;;50 000;;refacturation;",
    "RGPD;2016;;0,5;;6 000;;mixte;",
    "CAM;2017;;1;;51 352,02;;refacturation;au nombre d’habitants",
    "CAM;2017;59002;;;256,59;;;",
    "CAM;2017;59004;;;11 014,37;;;",
    "RGPD;2017;;0,5;;6 900;;mixte;",
    "ASS;2017;;;;1 000;;budget intercommunal;",
    "ASS;2017;59004;;;256,59;;;",
]


def published_folder(folder: Path, rows: list[str] | None = None,
                     participations: str = PARTICIPATIONS_OLD) -> Path:
    moyens_folder(folder, ROWS_PUBLISHED if rows is None else rows)
    (folder / "actions.csv").write_text(ACTIONS_FORMS, encoding="utf-8")
    (folder / "participations.csv").write_text(participations, encoding="utf-8")
    return folder


def test_the_rules_of_design_are_those_of_the_data_model() -> None:
    from datetime import date

    from mutualisation.compute import indicators
    from mutualisation.data import model

    # One place for each rule: compute re-exports the data layer's expressions.
    assert indicators.is_member is model.is_member and indicators.is_active is model.is_active
    actions = pl.DataFrame({
        "date_inscription": [date(2015, 1, 1)] * 4,
        "date_deploiement": [date(2015, 6, 1), date(2015, 6, 1), None, date(2016, 1, 1)],
        "date_abandon": [None, date(2016, 6, 30), None, None]})
    ref = pl.lit(date(2016, 12, 31))
    assert actions.select(model.is_deployed(ref)).to_series().to_list() == [
        True, False, False, True]
    assert actions.select(model.is_inscribed(ref)).to_series().to_list() == [
        True, False, True, True]
    spans = pl.DataFrame({
        "date_debut": [date(2016, 3, 1), date(2015, 1, 1), date(2015, 1, 1), date(2017, 1, 1),
                       date(2016, 5, 1)],
        "date_fin": [date(2016, 4, 1), date(2016, 1, 1), date(2016, 1, 2), None,
                     date(2016, 5, 1)]})
    during = model.is_active_between(pl.lit(date(2016, 1, 1)), pl.lit(date(2016, 12, 31)))
    # Active a month of 2016; ended on 1 January; active on 1 January; started after; a
    # participation of no day.
    assert spans.select(during).to_series().to_list() == [True, False, True, False, False]
    assert spans.select(model.is_active_between(ref, ref)).to_series().to_list() == \
        spans.select(model.is_active(ref)).to_series().to_list()


def test_an_abandoned_action_is_no_longer_deployed_without_figures(tmp_path: Path) -> None:
    folder = published_folder(tmp_path / "d")
    ds = load_dataset(folder)
    # 2016: CAM and RGPD have figures, OLD was abandoned on 30 June: nothing is missing.
    assert moyens.indicators(ds, 2016)["actions_non_renseignees"] == 0
    # 2017: SIG only (deployed, no row); OLD is neither listed nor « non renseigné ».
    assert moyens.indicators(ds, 2017)["actions_non_renseignees"] == 1
    assert "OLD" not in moyens.by_action(ds, 2017)["action_id"].to_list()
    series = moyens.series(ds, [2015, 2016, 2017])
    assert series["actions_non_renseignees"].to_list() == [1, 0, 1]  # 2015: CAM
    text = describe(ds)
    assert "2016 : 2 actions renseignées, 0 action déployée sans chiffres" in text
    assert "2017 : 3 actions renseignées, 1 action déployée sans chiffres" in text
    assert "pas de moyens renseignés" not in moyens_text.section(Bilan(ds, 2016))
    table = moyens_text.actions_table(Bilan(ds, 2016))
    assert "Ancienne action" not in table["Action"].to_list()


@pytest.mark.parametrize(("end", "accepted"), [
    ("2017-03-31", True),   # left the action during 2017: charged for its part of the year
    ("2017-01-02", True),
    ("2017-01-01", False),  # ended on 1 January: not active on any day of 2017
    ("2016-06-30", False),
])
def test_a_commune_row_needs_a_participation_active_during_the_year(
        tmp_path: Path, end: str, accepted: bool) -> None:
    participations = PARTICIPATIONS.replace("59002,CAM,2015-09-01,", f"59002,CAM,2015-09-01,{end}")
    folder = moyens_folder(tmp_path / "d", ["CAM;2017;;1;;1000;;;", "CAM;2017;59002;;;100;;;"])
    (folder / "participations.csv").write_text(participations, encoding="utf-8")
    if accepted:
        charged = moyens.charges_by_commune(load_dataset(folder), 2017)
        assert charged.select("code_insee", "cout_fonctionnement").rows() == [("59002", 100.0)]
        return
    with pytest.raises(DataError) as err:
        load_dataset(folder)
    assert str(err.value) == (
        "moyens.csv, ligne 3, colonne « code_insee », valeur « 59002 » : la commune 59002 ne "
        "participe pas à l’action CAM en 2017 (aucune participation active en 2017)")


def test_the_section_agrees_with_the_actions_without_figures(tmp_path: Path) -> None:
    one = moyens_text.section(Bilan.build(moyens_folder(tmp_path / "a"), 2017))
    assert ("1 action déployée n’a pas de moyens renseignés (« non renseigné ») : elle n’est "
            "pas comptée dans les totaux, ni comme zéro.") in one
    # 2017 with CAM's row only: RGPD, ASS and SIG lack figures.
    two = moyens_text.section(Bilan.build(moyens_folder(tmp_path / "b", ROWS[:4]), 2017))
    assert ("3 actions déployées n’ont pas de moyens renseignés (« non renseigné ») : elles ne "
            "sont pas comptées dans les totaux") in two


def test_legal_forms_in_vocabulary_order_and_no_zero_for_an_unknown_etp(tmp_path: Path) -> None:
    ds = load_dataset(published_folder(tmp_path / "d"))
    bilan = Bilan(ds, 2017)
    forms = bilan.moyens.forms
    # The order of the section « Formes de mutualisation »: vocabulary, then « non renseignée ».
    assert forms["forme_juridique"].to_list() == bilan.forms.filter(
        pl.col("forme_juridique").is_in(forms["forme_juridique"].implode())
    )["forme_juridique"].to_list() == ["service unifié", "groupement de commandes",
                                       "non renseignée"]
    text = moyens_text.section(bilan)
    assert f"non renseignée : 1{NNBSP}000{NBSP}€." in text  # ASS: no ETP given, not « 0 ETP »
    assert f"(0{NBSP}ETP)" not in text and f"service unifié : 6{NNBSP}900{NBSP}€ (0,5{NBSP}ETP)" \
        in text
    table = moyens_text.actions_table(bilan)
    assert dict(zip(table["Action"], table["Forme juridique"], strict=True))["Assurances"] == \
        "non renseignée"


def test_key_figure_labels_are_key_figures_only(data: Path) -> None:
    from mutualisation.compute.indicators import year_indicators
    from mutualisation.present import labels

    figures = year_indicators(load_dataset(data), 2017)
    assert set(labels.KEY_FIGURES) <= set(figures)
    assert labels.column_label("cout_fonctionnement") == "Coût de fonctionnement (€)"


def test_check_says_a_windows_1252_encoding_of_populations_and_moyens(tmp_path: Path) -> None:
    folder = moyens_folder(tmp_path / "d")
    text = (folder / "moyens.csv").read_text(encoding="utf-8")
    text = text.replace(NBSP, " ").replace(NNBSP, " ").replace("€", "EUR")
    (folder / "moyens.csv").write_bytes(text.replace("au nombre", "réparti au nombre")
                                        .encode("cp1252"))
    (folder / "populations.csv").write_bytes(
        "code_insee;annee;population;commentaire\n59001;2017;1210;recensement rénové\n"
        .encode("cp1252"))
    out = describe(load_dataset(folder))
    assert "moyens          : 11 (moyens.csv, encodage : Windows-1252)" in out
    assert "populations : 1 ligne, années 2017 à 2017 (populations.csv, encodage : " \
        "Windows-1252)" in out


def test_init_names_the_moyens_sheet(tmp_path: Path) -> None:
    from mutualisation.data.init import WORKBOOK_FILE, init_data_folder

    result = init_data_folder("248500415", tmp_path / "d")
    said = "\n".join(result.lines)
    assert "« actions » et « participations » à remplir, « moyens » facultative" in said
    assert "la feuille facultative « moyens » : effectifs et coûts" in said
    assert "moyens" in fastexcel.read_excel(str(tmp_path / "d" / WORKBOOK_FILE)).sheet_names


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 2017 report of :func:`published_folder` and the sheet of 59004."""
    root = tmp_path_factory.mktemp("publie")
    folder = published_folder(root / "data")
    result = cli("report", "--year", "2017", "--data", folder, "--out", root / "out")
    assert result.returncode == 0, result.stderr
    sheet = cli("fiches", "--year", "2017", "--communes", "59004", "--data", folder,
                "--out", root / "out")
    assert sheet.returncode == 0, sheet.stderr
    return root / "out" / "2017"


def test_published_amounts_are_the_shortest_decimals(published: Path) -> None:
    files = {name: (published / name).read_text(encoding="utf-8") for name in (
        "indicators.json", "tables/moyens.csv", "tables/moyens_communes.csv",
        "tables/moyens_series.csv", "donnees/moyens.csv", "fiches/59004/indicators.json",
        "fiches/59004/tables/finance.csv")}
    for name, text in files.items():
        assert not re.search(r"\d\.\d{5,}", text), name  # 256.59000000000003 and the like
    assert json.loads(files["fiches/59004/indicators.json"])["cout_impute"] == 11270.96
    assert '"cout_impute": 11270.96,' in files["fiches/59004/indicators.json"]
    assert "CAM,Centrale d'achats,256.59," in files["tables/moyens_communes.csv"]
    assert "CAM,2017,,1.0,,51352.02," in files["donnees/moyens.csv"]
    rgpd = [line for line in files["tables/moyens.csv"].splitlines() if line.startswith("RGPD")]
    assert rgpd[0].endswith(",1500,4.6")
    figures = json.loads(files["indicators.json"])["moyens"]
    assert figures["cout_fonctionnement"] == 59252.02 and figures["actions_non_renseignees"] == 1


def test_the_datapackage_describes_and_constrains_the_moyens(published: Path,
                                                             tmp_path: Path) -> None:
    import shutil

    frictionless = pytest.importorskip("frictionless")
    report = frictionless.validate(published / "datapackage.json")
    assert report.valid, report.flatten(["type", "message"])[:5]
    package = json.loads((published / "datapackage.json").read_text(encoding="utf-8"))
    resources = {r["name"]: r for r in package["resources"]}
    for name in ("bilan-formes_juridiques", "bilan-moyens", "bilan-moyens_communes",
                 "bilan-moyens_series"):
        assert resources[name]["title"].startswith("Bilan : "), name
        assert resources[name]["description"] != "Table du bilan.", name
    fields = {f["name"]: f for f in resources["moyens"]["schema"]["fields"]}
    assert fields["action_id"]["constraints"]["required"] is True
    assert fields["annee"]["constraints"]["required"] is True
    assert fields["economies"]["constraints"]["minimum"] == 0
    copy = tmp_path / "2017"
    shutil.copytree(published, copy)
    kept = copy / "donnees" / "moyens.csv"
    kept.write_text(kept.read_text(encoding="utf-8") + "SIG,2017,,,,,-5.0,,\n"
               ",2016,,1.0,,,,,\nSIG,,,2.0,,,,,\n",
                    encoding="utf-8")
    for resource in package["resources"]:
        resource.pop("hash")
        resource.pop("bytes")
    (copy / "datapackage.json").write_text(json.dumps(package), encoding="utf-8")
    errors = frictionless.validate(copy / "datapackage.json").flatten(["type", "fieldName"])
    assert ["constraint-error", "economies"] in errors
    assert ["constraint-error", "action_id"] in errors
    assert ["constraint-error", "annee"] in errors


def test_diff_names_the_file_and_line_of_a_moyens_change(published: Path, tmp_path: Path) -> None:
    rows = [row.replace("CAM;2017;59002;;;256,59", "CAM;2017;59002;;;256,58")
            for row in ROWS_PUBLISHED]
    changed = published_folder(tmp_path / "d", rows)
    result = cli("diff", "--depuis", published, "--data", changed)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines()[-1] == (
        "  modifiée — moyens.csv, ligne 6 : CAM, 2017, Beta (59002) : cout_fonctionnement "
        "256.59 → 256.58")
