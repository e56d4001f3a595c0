"""The commune sheet (mutualisation.compute.fiche) against values worked out by hand.

The small data set of conftest.py (years 2015 to 2017, reference date D = 31/12):

- communes: 59001 Alpha (joined 2015, 1 200 inhabitants), 59002 Beta (2015, 800),
  59003 Gamma (2017, 300): all three "moins de 2 000 hab.";
- actions: CAM deployed 2015-09-01, RGPD deployed 2016-03-01, SIG never deployed;
- participations: Alpha CAM since 2015-09-01 and RGPD since 2016-03-01; Beta CAM
  from 2015-09-01 to 2016-06-30, then again since 2017-01-01; Gamma RGPD since
  2017-02-01.

Numbers of actions at D (deployed actions with an active participation):

======  =====  ====  =====  ==========================
year    Alpha  Beta  Gamma  mean of the members
======  =====  ====  =====  ==========================
2015    1      1     —      (1 + 1) / 2 = 1.0 (RGPD not deployed yet)
2016    2      0     —      (2 + 0) / 2 = 1.0 (Beta left CAM on 30/06)
2017    2      1     1      (2 + 1 + 1) / 3 = 1.333… → 1.33
======  =====  ====  =====  ==========================
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import polars as pl
import pytest

from mutualisation.compute.fiche import Fiche
from mutualisation.compute.sizes import size_classes
from mutualisation.data.parameters import ParameterError
from mutualisation.data.problems import DataError
from mutualisation.data.validate import load_dataset
from mutualisation.present import charts
from mutualisation.present import fiche_text as narrative
from mutualisation.present.figures import fiche_figures

from .conftest import COMMUNES, PARTICIPATIONS, write_folder

SMALL = size_classes()[0]  # "moins de 2 000 hab." (U+202F before 000)


@pytest.fixture
def beta(small_data: Path) -> Fiche:
    return Fiche.build(small_data, 2017, "59002")


def test_actions_and_their_start_dates(beta: Fiche) -> None:
    # Beta is in CAM at D 2017 through its second participation, started 2017-01-01
    # (the first one ended on 2016-06-30): "depuis" is that start, not 2015-09-01.
    assert beta.actions.select("action_id", "depuis").rows() == [("CAM", dt.date(2017, 1, 1))]
    assert beta.actions.columns == ["action_id", "libelle", "domaine", "date_deploiement",
                                    "depuis"]
    assert beta.commune == {"code_insee": "59002", "nom": "Beta", "population": 800,
                            "date_adhesion": dt.date(2015, 1, 1), "date_sortie": None}


def test_available_actions(beta: Fiche) -> None:
    # Deployed at D 2017: CAM and RGPD; Beta has CAM, so RGPD is open to it. RGPD is
    # used by Alpha and Gamma (2 communes). SIG is not deployed, so not offered.
    assert beta.available.select("action_id", "nb_communes").rows() == [("RGPD", 2)]


def test_available_sorted_by_uptake_then_label(small_data: Path) -> None:
    # Gamma (RGPD only) can still join CAM, used by Alpha and Beta at D 2017.
    gamma = Fiche.build(small_data, 2017, 59003)
    assert gamma.available.select("action_id", "nb_communes").rows() == [("CAM", 2)]
    # Alpha takes part in both deployed actions: nothing left to offer.
    alpha = Fiche.build(small_data, 2017, "59001")
    assert alpha.available.is_empty()
    assert alpha.indicators["actions_disponibles"] == []


def test_timeline_with_means(beta: Fiche) -> None:
    # Table of the module docstring; every commune is in the same size class, so the
    # size-class mean equals the mean of all members.
    assert beta.timeline.rows() == [
        (2015, 1, 1.0, 1.0),
        (2016, 0, 1.0, 1.0),
        (2017, 1, 1.33, 1.33),
    ]


def test_timeline_starts_at_adhesion(small_data: Path) -> None:
    # Gamma joined on 2017-01-01: its timeline has 2017 only.
    gamma = Fiche.build(small_data, 2017, "59003")
    assert gamma.timeline.rows() == [(2017, 1, 1.33, 1.33)]


def test_size_class_mean_differs_from_overall_mean(tmp_path: Path) -> None:
    # Alpha with 2 500 inhabitants is alone in "2 000 à 5 000 hab."; Beta's class then
    # holds Beta (and Gamma from 2017): 2015 → 1/1 = 1.0, 2016 → 0/1 = 0.0,
    # 2017 → (1 + 1) / 2 = 1.0, while the mean of all members stays 1.0, 1.0, 1.33.
    data = write_folder(tmp_path / "d", communes=COMMUNES.replace(",1200", ",2500"))
    beta = Fiche.build(data, 2017, "59002")
    assert beta.timeline.rows() == [
        (2015, 1, 1.0, 1.0),
        (2016, 0, 1.0, 0.0),
        (2017, 1, 1.33, 1.0),
    ]
    # Beta and Gamma both have 1 action: both first, ex aequo.
    assert beta.peers == {"classe": SMALL, "communes": 2, "moyenne": 1.0, "minimum": 1,
                          "maximum": 1, "ex_aequo": 1, "rang": 1}


def test_peers(beta: Fiche) -> None:
    # At D 2017 the class "moins de 2 000 hab." holds Alpha (2), Beta (1), Gamma (1):
    # mean 4/3 → 1.33, min 1, max 2; Beta comes after Alpha, tied with Gamma: rank 2.
    assert beta.peers == {"classe": SMALL, "communes": 3, "moyenne": 1.33, "minimum": 1,
                          "maximum": 2, "ex_aequo": 1, "rang": 2}
    assert beta.peer_counts.select("code_insee", "rang").rows() == [
        ("59001", 1), ("59002", 2), ("59003", 2)
    ]


def test_indicators_are_json_ready(beta: Fiche) -> None:
    ind = beta.indicators
    assert json.loads(json.dumps(ind)) == ind
    assert {k: ind[k] for k in ("annee", "date_reference", "code_insee", "nom", "nb_actions",
                                "actions", "actions_disponibles", "rang_dans_la_strate",
                                "moyenne_communes", "moyenne_strate",
                                "donnees_illustratives")} == {
        "annee": 2017, "date_reference": "2017-12-31", "code_insee": "59002", "nom": "Beta",
        "nb_actions": 1, "actions": ["CAM"], "actions_disponibles": ["RGPD"],
        "rang_dans_la_strate": 2, "moyenne_communes": 1.33, "moyenne_strate": 1.33,
        "donnees_illustratives": False,
    }


def test_nb_actions_agrees_with_the_bilan(small_data: Path) -> None:
    # The sheet's figures are those of indicators.actions_per_commune for every commune.
    from mutualisation.compute import indicators

    ds = load_dataset(small_data)
    for year in ds.years:
        rows = indicators.actions_per_commune(ds, year)
        for code, nb, actions in rows.select("code_insee", "nb_actions", "actions").iter_rows():
            fiche = Fiche.from_dataset(ds, year, code)
            assert (fiche.indicators["nb_actions"], fiche.indicators["actions"]) == (nb, actions)


def test_defaults_last_year_and_first_member(small_data: Path) -> None:
    fiche = Fiche.build(small_data)
    assert (fiche.year, fiche.code_insee) == (2017, "59001")


def test_pending_actions_are_not_counted(tmp_path: Path) -> None:
    # Gamma also joins SIG, inscribed but never deployed: not among its actions.
    data = write_folder(tmp_path / "d", participations=PARTICIPATIONS + "59003,SIG,2017-03-01,\n")
    gamma = Fiche.build(data, 2017, "59003")
    assert gamma.indicators["nb_actions"] == 1
    assert gamma.pending["action_id"].to_list() == ["SIG"]
    assert "Système d&#x27;information géographique" in narrative.fiche_actions_text(gamma)


def test_unknown_population(tmp_path: Path) -> None:
    data = write_folder(tmp_path / "d", communes=COMMUNES.replace(",800\n", ",\n"))
    beta = Fiche.build(data, 2017, "59002")
    assert beta.peers["rang"] is None
    assert beta.timeline["moyenne_strate"].null_count() == 3
    assert "pas de comparaison" in narrative.fiche_peers_text(beta)
    assert charts.to_svg(fiche_figures(beta)["comparaison"]).startswith("<svg")


@pytest.mark.parametrize(
    ("year", "code", "message"),
    [
        (2015, "59003", "communes.csv : la commune 59003 (Gamma) n'est pas membre au "
                        "31 décembre 2015 : elle adhère le 1er janvier 2017"),
        (2017, "59999", "communes.csv : la commune 59999 n'est pas dans les données "
                        "(code INSEE inconnu)"),
        (2017, "Lille", "code INSEE « Lille » invalide"),
        (2020, "59001", "aucune donnée complète pour l'année 2020"),
    ],
)
def test_errors(small_data: Path, year: int, code: str, message: str) -> None:
    with pytest.raises((DataError, ParameterError)) as err:
        Fiche.build(small_data, year, code)
    assert message in str(err.value)


def test_a_commune_that_left_is_not_a_member(tmp_path: Path) -> None:
    data = write_folder(tmp_path / "d", communes=COMMUNES.replace(
        "59002,Beta,2015-01-01,,", "59002,Beta,2015-01-01,2016-12-31,"))
    with pytest.raises(DataError, match="elle a quitté l'intercommunalité le 31 décembre 2016"):
        Fiche.build(data, 2017, "59002")
    assert Fiche.build(data, 2015, "59002").indicators["nb_actions"] == 1


def test_integer_codes_get_their_zeros_back(tmp_path: Path) -> None:
    # papermill passes "-p code_insee 01004" as the integer 1004.
    communes = COMMUNES.replace("59001", "01004")
    data = write_folder(tmp_path / "d", communes=communes,
                        participations=PARTICIPATIONS.replace("59001", "01004"))
    assert Fiche.build(data, 2017, 1004).code_insee == "01004"


def test_tables(beta: Fiche) -> None:
    tables = beta.tables()
    assert sorted(tables) == ["actions", "actions_disponibles", "comparaison", "parcours"]
    for frame in tables.values():
        assert isinstance(frame, pl.DataFrame)
        frame.write_csv()  # no nested column left


def test_every_chart_renders(beta: Fiche) -> None:
    assert sorted(fiche_figures(beta)) == ["actions", "actions_disponibles", "comparaison",
                                    "parcours"]
    for chart in fiche_figures(beta).values():
        assert charts.to_svg(chart).startswith("<svg")
    timeline = charts.to_svg(fiche_figures(beta)["parcours"])
    assert ">2017<" in timeline and "2\u202f017" not in timeline


def test_empty_charts_show_a_message(small_data: Path) -> None:
    alpha = Fiche.build(small_data, 2017, "59001")  # takes part in every deployed action
    svg = charts.to_svg(fiche_figures(alpha)["actions_disponibles"])
    assert "La commune participe déjà à toutes les actions déployées" in svg
    empty_actions = alpha.actions.clear()
    svg = charts.to_svg(charts.commune_actions_timeline(empty_actions, alpha.reference))
    assert "ne participe à aucune action déployée" in svg
    svg = charts.to_svg(charts.commune_timeline(alpha.timeline.clear(), "Alpha", SMALL))
    assert "Aucune année à afficher" in svg


def test_headline(small_data: Path) -> None:
    alpha = Fiche.build(small_data, 2017, "59001")
    assert narrative.fiche_title(alpha) == "Fiche 2017 — Alpha (59001)"
    assert narrative.fiche_headline(alpha) == (
        "<h2>Alpha participe à 2 des 2 actions déployées au 31 décembre 2017, contre 1,3 "
        "en moyenne pour les communes membres</h2>"
        f'<p class="chapeau">Parmi les 3 communes membres de {SMALL}, elle se classe 1re '
        "(de 1 à 2 actions, 1,3 en moyenne).</p>"
    )


def test_texts_escape_the_data(tmp_path: Path) -> None:
    data = write_folder(tmp_path / "d", communes=COMMUNES.replace("Beta", "<b>Beta</b>"))
    fiche = Fiche.build(data, 2017, "59002")
    texts = [narrative.fiche_heading(fiche), narrative.fiche_headline(fiche),
             narrative.fiche_actions_text(fiche), narrative.fiche_timeline_text(fiche),
             narrative.fiche_peers_text(fiche), narrative.fiche_available_text(fiche),
             narrative.fiche_notes(fiche)]
    assert all("<b>" not in text for text in texts)
    assert "&lt;b&gt;Beta&lt;/b&gt; participe à 1 des 2 actions" in texts[1]
