"""The sheet of a commune nouvelle: the participations it took over from the communes it
absorbed (DESIGN's mergers), from which and since when; the bilan's « Définitions » say
the rule.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from mutualisation.compute.fiche import INHERITED_COLUMNS, Fiche
from mutualisation.present import fiche_text
from mutualisation.present.bilan_text import methods
from tests.conftest import write_folder

# Alpha and Beta merge into Gamma (a commune nouvelle under a code of its own) on
# 1 January 2020. Alpha and Beta were both in CAM: Gamma takes CAM over from both. Beta
# left RGPD before the merger: nothing to take over. Alpha was in SIG, where Gamma already
# takes part: Gamma keeps its own participation. Delta is an ordinary commune.
COMMUNES = """code_insee,nom,date_adhesion,date_sortie,code_successeur,population
59001,Alpha,2015-01-01,2020-01-01,59003,1200
59002,Beta,2015-01-01,2020-01-01,59003,800
59003,Gamma,2015-01-01,,,2500
59004,Delta,2015-01-01,,,900
"""
ACTIONS = """action_id,libelle,date_inscription,date_deploiement,domaine
CAM,Centrale d'achats,2015-06-19,2015-09-01,achats
RGPD,Service unifié RGPD,2015-06-19,2016-03-01,numérique
SIG,Système d'information géographique,2015-06-19,2016-01-01,numérique
"""
PARTICIPATIONS = """code_insee,action_id,date_debut,date_fin
59001,CAM,2015-09-01,
59002,CAM,2016-02-01,
59002,RGPD,2016-03-01,2019-06-30
59001,SIG,2016-01-01,
59003,SIG,2017-01-01,
59004,CAM,2016-01-01,
"""


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return write_folder(tmp_path / "data", COMMUNES, ACTIONS, PARTICIPATIONS)


def test_a_commune_nouvelle_lists_what_it_took_over(data: Path) -> None:
    fiche = Fiche.build(data, 2020, "59003")
    assert fiche.inherited.columns == INHERITED_COLUMNS
    assert fiche.inherited.rows() == [
        ("CAM", "Centrale d'achats", "59001", "Alpha", dt.date(2020, 1, 1)),
        ("CAM", "Centrale d'achats", "59002", "Beta", dt.date(2020, 1, 1)),
    ]
    # Its actions count the one taken over, as the bilan's figures do.
    assert fiche.actions.select("action_id", "depuis").rows() == [
        ("SIG", dt.date(2017, 1, 1)), ("CAM", dt.date(2020, 1, 1))]
    assert fiche.indicators["nb_actions"] == 2
    assert fiche.indicators["actions"] == ["CAM", "SIG"]
    assert fiche.indicators["actions_disponibles"] == ["RGPD"]
    assert fiche.indicators["actions_reprises"] == [
        {"action_id": "CAM", "code_origine": "59001", "depuis": "2020-01-01"},
        {"action_id": "CAM", "code_origine": "59002", "depuis": "2020-01-01"},
    ]
    assert fiche.tables()["reprises"].equals(fiche.inherited)


def test_the_sheet_says_from_which_commune_and_since_when(data: Path) -> None:
    fiche = Fiche.build(data, 2020, "59003")
    text = fiche_text.fiche_actions_text(fiche)
    assert ("<p>Commune nouvelle, Gamma poursuit 1 participation reprise des communes "
            "qu’elle a absorbées : Centrale d&#x27;achats (de Alpha et Beta, depuis la "
            "fusion du 1er janvier 2020).</p>") in text
    assert "Gamma participe à 2 actions déployées" in text
    table = fiche_text.fiche_actions_table(fiche)
    assert table.columns[-1] == "Reprise de"
    assert table.select("Action", "Participation depuis le", "Reprise de").rows() == [
        ("Système d'information géographique", "1er janvier 2017", ""),
        ("Centrale d'achats", "1er janvier 2020", "Alpha (59001), Beta (59002)"),
    ]


def test_before_its_merger_and_for_other_communes_the_sheet_is_unchanged(data: Path) -> None:
    before = Fiche.build(data, 2019, "59003")
    other = Fiche.build(data, 2020, "59004")
    for fiche in (before, other):
        assert fiche.inherited.is_empty()
        assert "actions_reprises" not in fiche.indicators
        assert "reprises" not in fiche.tables()
        assert "Commune nouvelle" not in fiche_text.fiche_actions_text(fiche)
        assert fiche_text.fiche_actions_table(fiche).columns == [
            "Action", "Domaine", "Déployée le", "Participation depuis le"]
    assert before.actions["action_id"].to_list() == ["SIG"]


def test_a_participation_taken_over_then_ended_is_no_longer_listed(tmp_path: Path) -> None:
    ended = PARTICIPATIONS.replace("59001,CAM,2015-09-01,", "59001,CAM,2015-09-01,2020-06-30")
    ended = ended.replace("59002,CAM,2016-02-01,", "59002,CAM,2016-02-01,2020-06-30")
    data = write_folder(tmp_path / "data", COMMUNES, ACTIONS, ended)
    fiche = Fiche.build(data, 2020, "59003")
    assert fiche.inherited.is_empty()
    assert fiche.actions["action_id"].to_list() == ["SIG"]


def test_a_merger_of_a_commune_nouvelle_names_the_last_one(tmp_path: Path) -> None:
    """Gamma merges in turn into Epsilon in 2022: Epsilon took CAM over from Gamma."""
    communes = (COMMUNES.replace("59003,Gamma,2015-01-01,,,2500",
                                 "59003,Gamma,2015-01-01,2022-01-01,59005,2500")
                + "59005,Epsilon,2015-01-01,,,4000\n")
    data = write_folder(tmp_path / "data", communes, ACTIONS, PARTICIPATIONS)
    fiche = Fiche.build(data, 2022, "59005")
    assert fiche.inherited.select("action_id", "code_origine", "depuis").rows() == [
        ("CAM", "59003", dt.date(2022, 1, 1)), ("SIG", "59003", dt.date(2022, 1, 1))]


def test_the_definitions_state_the_merger_rule() -> None:
    text = methods()
    assert ("<li>Une commune qui fusionne dans une <em>commune nouvelle</em> n’est plus "
            "membre à sa date de sortie ; ses participations encore actives ce jour-là "
            "passent à la commune nouvelle à partir de cette date, sauf aux actions "
            "auxquelles celle-ci participe déjà. Le bilan la compte comme une fusion, non "
            "comme un retrait.</li>") in text


def test_terval_sheet_of_the_chataigneraie_shows_what_it_took_over(tmp_path: Path) -> None:
    """The issue's case, end to end: `init` of the CC du Pays de la Châtaigneraie, two
    actions, then Terval's sheet (Breuil-Barret and La Chapelle-aux-Lys merged into it on
    1 January 2023)."""
    data = tmp_path / "chat"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "mutualisation", *args],
                              capture_output=True, text=True, check=False)

    result = cli("init", "--epci", "248500415", "--data", str(data))
    assert result.returncode == 0, result.stderr
    (data / "actions.csv").write_text(
        "action_id,libelle,date_inscription,date_deploiement,domaine\n"
        "CAM,Centrale d'achats,2020-01-01,2020-06-01,achats\n"
        "RGPD,Délégué à la protection des données,2020-01-01,2021-03-01,numérique\n",
        encoding="utf-8")
    (data / "participations.csv").write_text(
        "code_insee,action_id,date_debut,date_fin\n"
        "85059,CAM,2020-06-01,\n85037,CAM,2020-09-01,\n85053,RGPD,2021-04-01,\n"
        "85289,RGPD,2022-01-01,\n", encoding="utf-8")
    year = json.loads((data / "metadata.json").read_text(encoding="utf-8"))["annees"]["fin"]
    out = tmp_path / "out"
    result = cli("fiches", "--year", str(year), "--communes", "85289", "--data", str(data),
                 "--out", str(out))
    assert result.returncode == 0, result.stderr
    sheet = out / str(year) / "fiches" / "85289"
    page = (sheet / "fiche.html").read_text(encoding="utf-8")
    assert ("Commune nouvelle, Terval poursuit 1 participation reprise des communes "
            "qu’elle a absorbées : Centrale d'achats (de Breuil-Barret, depuis la "
            "fusion du 1er janvier 2023).") in page
    assert "Breuil-Barret (85037)" in page  # the actions table's « Reprise de »
    figures = json.loads((sheet / "indicators.json").read_text(encoding="utf-8"))
    assert figures["actions"] == ["CAM", "RGPD"]
    assert figures["actions_reprises"] == [
        {"action_id": "CAM", "code_origine": "85037", "depuis": "2023-01-01"}]
    reprises = pl.read_csv(sheet / "tables" / "reprises.csv", infer_schema=False)
    assert reprises.rows() == [("CAM", "Centrale d'achats", "85037", "Breuil-Barret",
                                "2023-01-01")]
