"""Populations by year, legal forms and abandoned actions: loading, bad values, indicators.

The hand-worked data set (``folder``), year 2017 (D = 31/12/2017):

- communes: Alpha (column 1000; populations 2016 → 1100, 2018 → 1200), Beta (2000, column
  only), Gamma (500, joins 01/01/2017), Delta (no column; populations 2017 → 400), Epsilon
  (300, leaves 01/06/2018). 2017 uses Alpha 1100 (2016, latest before), Beta 2000, Gamma 500,
  Delta 400 (2017), Epsilon 300: members' population 4 300.
- actions: CAM (groupement de commandes, deployed 2016), RGPD (« Service Unifie », deployed
  2016), OLD (entente, deployed 2016, abandoned 01/07/2017), PDL (no form, inscribed 2017, not
  deployed).
- at D: Alpha has CAM and RGPD (2 actions), Beta CAM, Gamma RGPD, Delta CAM (its OLD ended
  with the action), Epsilon only PDL (0 deployed action).
  ≥1: Alpha, Beta, Gamma, Delta = 4 000 / 4 300 = 0.93023… → 0.9302;
  ≥2: Alpha = 1 100 / 4 300 = 0.25581… → 0.2558; ≥5: 0.
  CAM: 1 100 + 2 000 + 400 = 3 500 → 0.81395… → 0.8140; RGPD: 1 600 → 0.3721; PDL: 300 → 0.0698.
- 2015: Delta has no population at all → no population figure.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from mutualisation.compute import indicators, population
from mutualisation.data.problems import DataError
from mutualisation.data.validate import load_dataset
from tests.conftest import write_folder

COMMUNES = """code_insee,nom,date_adhesion,date_sortie,population
59001,Alpha,2010-01-01,,1000
59002,Beta,2010-01-01,,2000
59003,Gamma,2017-01-01,,500
59004,Delta,2010-01-01,,
59005,Epsilon,2010-01-01,2018-06-01,300
"""
ACTIONS = """\
action_id,libelle,date_inscription,date_deploiement,domaine,forme_juridique,date_abandon
CAM,Groupement de commandes,2015-06-19,2016-01-01,achats,groupement de commandes,
RGPD,Service unifié RGPD,2015-06-19,2016-01-01,numérique,Service  Unifie,
OLD,Ancienne entente,2015-06-19,2016-01-01,,ENTENTE,2017-07-01
PDL,Permis de louer,2017-01-01,,habitat,,
"""
PARTICIPATIONS = """code_insee,action_id,date_debut,date_fin
59001,CAM,2016-01-01,
59001,RGPD,2016-01-01,
59002,CAM,2016-01-01,
59003,RGPD,2017-03-01,
59004,CAM,2016-01-01,
59004,OLD,2016-01-01,2017-07-01
59005,PDL,2017-01-01,
"""
POPULATIONS = """code_insee,annee,population
59001,2016,1100
59001,2018,1200
59004,2017,400
"""


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mutualisation", *map(str, args)],
                          capture_output=True, text=True, check=False)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    data = write_folder(tmp_path / "data", COMMUNES, ACTIONS, PARTICIPATIONS)
    (data / "populations.csv").write_text(POPULATIONS, encoding="utf-8")
    return data


def test_loading_canonical_forms_and_populations(folder: Path) -> None:
    ds = load_dataset(folder)
    forms = dict(ds.actions.select("action_id", "forme_juridique").iter_rows())
    assert forms == {"CAM": "groupement de commandes", "OLD": "entente", "PDL": None,
                     "RGPD": "service unifié"}
    assert ds.actions.schema["forme_juridique"].is_(indicators.pl.String())
    assert ds.populations.rows() == [("59001", 2016, 1100), ("59001", 2018, 1200),
                                     ("59004", 2017, 400)]


def test_population_for_year_latest_earlier_then_column(folder: Path) -> None:
    ds = load_dataset(folder)
    assert population.population_for_year(ds, 2017).rows() == [
        ("59001", 1100, 2016), ("59002", 2000, None), ("59003", 500, None),
        ("59004", 400, 2017), ("59005", 300, None)]
    assert population.population_for_year(ds, 2015).rows() == [
        ("59001", 1000, None), ("59002", 2000, None), ("59003", 500, None),
        ("59004", None, None), ("59005", 300, None)]
    assert population.population_for_year(ds, 2019)["population"][0] == 1200


def test_abandon_takes_the_action_out(folder: Path) -> None:
    ds = load_dataset(folder)
    assert "OLD" in indicators.year_indicators(ds, 2016)["participations_par_action"]
    figures = indicators.year_indicators(ds, 2017)
    assert figures["actions_inscrites"] == 3
    assert figures["actions_deployees"] == 2
    assert figures["participations_par_action"] == {"CAM": 3, "PDL": 1, "RGPD": 2}


def test_year_reach_hand_worked(folder: Path) -> None:
    ds = load_dataset(folder)
    assert population.year_reach(ds, 2017) == {
        "population_membres": 4300,
        "population_communes_participantes": {"1": 4000, "2": 1100, "5": 0},
        "part_population_communes_participantes": {"1": 0.9302, "2": 0.2558, "5": 0.0},
        "actions_par_forme_juridique": {
            "groupement de commandes": {"actions_inscrites": 1, "actions_deployees": 1,
                                        "communes": 3, "population": 3500},
            "service unifié": {"actions_inscrites": 1, "actions_deployees": 1,
                               "communes": 2, "population": 1600},
            "non renseignée": {"actions_inscrites": 1, "actions_deployees": 0,
                               "communes": 1, "population": 300},
        },
        "actions_abandonnees_annee": ["OLD"],
    }
    assert population.by_form(ds, 2017)["forme_juridique"].to_list() == [
        "service unifié", "groupement de commandes", "non renseignée"]
    assert population.reach_by_action(ds, 2017).rows() == [
        ("CAM", 3500, 0.814), ("PDL", 300, 0.0698), ("RGPD", 1600, 0.3721)]


def test_without_population_counts_alone(folder: Path) -> None:
    ds = load_dataset(folder)
    reach = population.year_reach(ds, 2015)
    assert "population_membres" not in reach
    assert "part_population_communes_participantes" not in reach
    assert all("population" not in v for v in reach["actions_par_forme_juridique"].values())
    assert reach["actions_abandonnees_annee"] == []
    assert population.reach_by_action(ds, 2015).is_empty()


def test_plain_folder_gains_nothing(small_data: Path) -> None:
    # No population anywhere, no form, no abandon: no new key at all.
    folder = write_folder(small_data, communes=COMMUNES.replace(",1000", ",")
                          .replace(",2000", ",").replace(",500", ",").replace(",300", ","),
                          actions="action_id,libelle,date_inscription,date_deploiement\n"
                          "CAM,Centrale,2015-01-01,2016-01-01\n",
                          participations="code_insee,action_id,date_debut\n59001,CAM,2016-01-01\n")
    assert population.year_reach(load_dataset(folder), 2017) == {}


@pytest.mark.parametrize(("table", "text", "expected"), [
    ("actions", ACTIONS.replace("ENTENTE", "service comun"),
     "actions.csv, ligne 4, colonne « forme_juridique », valeur « service comun » : forme "
     "juridique inconnue : « service commun » ? (valeurs admises : « service commun », "),
    ("actions", ACTIONS.replace("2017-07-01", "2015-01-01"),
     "actions.csv, ligne 4, colonne « date_abandon », valeur « 2015-01-01 » : date_abandon "
     "antérieure à date_inscription (19/06/2015)"),
    ("actions", ACTIONS.replace("2017-07-01", "2017-06-30"),
     "participations.csv, ligne 7, colonne « date_fin », valeur « 2017-07-01 » : participation "
     "encore active après l'abandon de l'action OLD le 30/06/2017 (actions.csv, ligne 4, "
     "colonne « date_abandon ») : lui donner une date_fin au plus tard le 30/06/2017"),
    ("populations", POPULATIONS + "59001,2016,1150\n",
     "populations.csv, ligne 5, colonne « annee », valeur « 2016 » : population de 59001 pour "
     "2016 en double (déjà ligne 2)"),
    ("populations", POPULATIONS + "59999,2016,1150\n",
     "populations.csv, ligne 5, colonne « code_insee », valeur « 59999 » : commune absente de "
     "la table communes"),
    ("populations", POPULATIONS + "59002,2016,beaucoup\n",
     "populations.csv, ligne 5, colonne « population », valeur « beaucoup » : nombre entier "
     "attendu"),
    ("populations", POPULATIONS + "59002,16,10\n",
     "populations.csv, ligne 5, colonne « annee », valeur « 16 » : année hors de 1900 à 2100"),
])
def test_bad_values_one_line_exit_2(folder: Path, tmp_path: Path, table: str, text: str,
                                    expected: str) -> None:
    (folder / f"{table}.csv").write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_dataset(folder)
    assert [line for line in caught.value.lines() if line.startswith(expected)], \
        caught.value.lines()
    for command in (("check", "--data", folder),
                    ("report", "--year", "2017", "--data", folder, "--out", tmp_path / "out")):
        result = cli(*command)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(expected), result.stderr
        # One line per problem (an early abandon also strands the action's participations).
        assert result.stderr.strip().splitlines() == caught.value.lines()
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "2017").exists()


def test_lower_bound_refusal_says_how_to_fix(folder: Path) -> None:
    communes = (COMMUNES.replace("population\n", "population,adhesion_borne_inferieure\n")
                .replace("59003,Gamma,2017-01-01,,500", "59003,Gamma,2017-01-01,,500,oui"))
    (folder / "communes.csv").write_text(communes, encoding="utf-8")
    (folder / "participations.csv").write_text(
        PARTICIPATIONS + "59003,CAM,2016-06-01,\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_dataset(folder)
    (line,) = caught.value.lines()
    assert line.startswith("participations.csv, ligne 9, colonne « date_debut », valeur "
                           "« 2016-06-01 » : participation antérieure à l'adhésion de la "
                           "commune 59003 (01/01/2017), qui n'est qu'une borne")
    assert "mutualisation init --membres-depuis" in line


def test_check_summarises_new_columns(folder: Path) -> None:
    result = cli("check", "--data", folder)
    assert result.returncode == 0, result.stderr
    assert "formes juridiques : 3 actions sur 4" in result.stdout
    assert "abandonnées : 1 action (OLD, le 01/07/2017)" in result.stdout
    assert "populations : 3 lignes, années 2016 à 2018" in result.stdout
    json.dumps(result.stdout)


def test_commune_sheet_says_its_legal_forms(folder: Path) -> None:
    from mutualisation.compute.fiche import Fiche
    from mutualisation.present.fiche_text import fiche_actions_text

    text = fiche_actions_text(Fiche.build(folder, 2017, "59001"))
    assert ("Formes juridiques de ces actions : groupement de commandes (1) et service "
            "unifié (1).") in text


def test_template_offers_the_legal_forms_as_a_list(folder: Path, tmp_path: Path) -> None:
    import zipfile

    from mutualisation.data.template import write_template
    from mutualisation.data.vocabulary import FORMES_JURIDIQUES

    book = write_template(tmp_path / "modele.xlsx", load_dataset(folder))
    with zipfile.ZipFile(book) as z:
        names = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        xml = "".join(z.read(n).decode("utf-8") for n in sorted(names))
    listed = '"' + ",".join(FORMES_JURIDIQUES) + '"'
    assert f"<formula1>{listed}</formula1>" in xml
    assert "date_abandon" in "".join(
        zipfile.ZipFile(book).read("xl/sharedStrings.xml").decode("utf-8").split())


def test_communes_table_takes_the_population_of_the_year(folder: Path) -> None:
    from mutualisation.compute.bilan import Bilan

    communes = Bilan.build(folder, 2017).communes
    assert dict(communes.select("code_insee", "population").iter_rows()) == {
        "59001": 1100, "59002": 2000, "59003": 500, "59004": 400, "59005": 300}


def test_commune_sheet_takes_the_population_of_each_year(folder: Path) -> None:
    # The sheet and the bilan put a commune in the same size class: Delta has no population
    # column, only a populations row of 2017 (400); Alpha takes 1 100 (2016) then 1 200 (2018).
    from mutualisation.compute.bilan import Bilan
    from mutualisation.compute.fiche import Fiche, member_counts

    delta = Fiche.build(folder, 2017, "59004")
    assert (delta.commune["population"], delta.known_size, delta.size_class) == (
        400, True, "moins de 2\u202f000 hab.")
    counts = member_counts(load_dataset(folder), [2016, 2017, 2018])
    rows = counts.filter(pl.col("code_insee").is_in(["59001", "59004"]))
    assert rows.select("annee", "code_insee", "population").rows() == [
        (2016, "59001", 1100), (2016, "59004", None), (2017, "59001", 1100),
        (2017, "59004", 400), (2018, "59001", 1200), (2018, "59004", 400)]
    bilan = Bilan.build(folder, 2017).communes
    assert dict(bilan.select("code_insee", "population").iter_rows()) == dict(
        counts.filter(pl.col("annee") == 2017).select("code_insee", "population").iter_rows())


def test_bad_membres_depuis_in_metadata_is_one_line(folder: Path) -> None:
    (folder / "metadata.json").write_text('{"membres_depuis": "01/01/2015"}', encoding="utf-8")
    result = cli("check", "--data", folder)
    assert result.returncode == 2
    assert result.stderr.strip() == ("metadata.json, colonne « membres_depuis », valeur "
                                     "« 01/01/2015 » : « membres_depuis » doit être une date "
                                     "AAAA-MM-JJ")


def test_bilan_says_which_populations_and_the_abandoned_actions(folder: Path) -> None:
    from mutualisation.compute.bilan import Bilan
    from mutualisation.present import bilan_text, reach_text

    bilan = Bilan.build(folder, 2017)
    assert reach_text.notes(bilan) == [
        "Populations retenues pour 2017 : table populations, millésimes 2016, 2017 "
        "(2 communes) ; colonne population de la table communes (3 communes, sans population "
        "dans la table populations jusqu’à 2017).",
        "Une action abandonnée ou suspendue (date_abandon) n’est plus comptée, ni inscrite ni "
        "déployée, à partir de cette date.",
    ]
    assert reach_text.abandoned_text(bilan) == (
        "<p>1 action a quitté le schéma en 2017 (abandon ou suspension) : Ancienne entente "
        "(OLD), le 1er juillet 2017. Elle n’est plus comptée à partir de cette date.</p>")
    # 4 communes of 5, 4 000 of 4 300 inhabitants (93,02 %, said 93 %); in 2016 Gamma was not
    # a member and Delta had no population: no figure to compare with.
    assert ("4 communes sur 5, représentant 93\u00a0% de la population, participent à au "
            "moins 1 action.") in bilan_text.headline(bilan)
    rows = {label: (now, before) for label, now, before, _ in bilan_text.key_figure_rows(bilan)}
    assert rows["Population des communes membres"] == (4300, None)
    assert rows["Part de la population dans au moins 2 actions"] == (0.2558, None)
    assert "Population inconnue pour 1 commune membre en 2015" in bilan_text.data_notes(
        Bilan.build(folder, 2015))


def test_charts_of_forms_and_population_by_action(folder: Path) -> None:
    from mutualisation.compute.bilan import Bilan
    from mutualisation.present.figures import bilan_figures

    bilan = Bilan.build(folder, 2017)
    figures = bilan_figures(bilan)
    forms = figures["formes_juridiques"].to_dict()
    assert forms["title"]["text"] == "Actions et communes par forme de mutualisation"
    reach = figures["population_par_action"].to_dict()
    shown = {row["action_id"]: row["valeur"] for row in reach["datasets"][
        reach["data"]["name"]]} if "data" in reach else {
        row["action_id"]: row["valeur"] for rows in reach["datasets"].values() for row in rows}
    # Deployed actions only (PDL is not), shares in French.
    assert shown == {"CAM": "81\u00a0%", "RGPD": "37\u00a0%"}
    assert "population_par_action" not in bilan_figures(Bilan.build(folder, 2015))
