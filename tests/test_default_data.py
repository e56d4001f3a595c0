"""The default MEL data set reproduces every figure the MEL published (DESIGN.md)."""

from __future__ import annotations

import polars as pl
import pytest

from mutualisation.compute import indicators as ind
from mutualisation.config import DATA_DIR
from mutualisation.data.problems import DataError
from mutualisation.data.validate import check_year, load_dataset

WEPPES = {"59025", "59088", "59257", "59371", "59487"}
HAUTE_DEULE = {"59005", "59011", "59052", "59133", "59477"}
DEPLOYED_2019 = ["AST", "CAM", "CEE", "PDL", "RGPD"]


@pytest.fixture(scope="module")
def mel():
    return load_dataset(DATA_DIR)


def test_communes_and_membership_waves(mel) -> None:
    assert mel.communes.height == 95
    by_date = dict(mel.communes.group_by("date_adhesion").agg(pl.col("code_insee"))
                   .select(pl.col("date_adhesion").dt.strftime("%Y-%m-%d"), "code_insee")
                   .iter_rows())
    assert len(by_date["2015-01-01"]) == 85
    assert set(by_date["2017-01-01"]) == WEPPES
    assert set(by_date["2020-03-14"]) == HAUTE_DEULE
    assert mel.communes["population"].null_count() == 0


def test_metadata(mel) -> None:
    assert mel.illustrative is True
    assert mel.years == [2015, 2016, 2017, 2018, 2019]
    with pytest.raises(DataError):
        check_year(mel, 2020)


def test_published_bilan_2019(mel) -> None:
    figures = ind.year_indicators(mel, 2019)
    assert figures["communes_membres"] == 90
    assert figures["actions_inscrites"] == 37
    assert figures["actions_deployees"] == 25
    assert figures["actions_deployees_annee"] == DEPLOYED_2019
    assert figures["communes_participantes"] == {"1": 90, "2": 90, "5": 86}
    assert figures["part_communes_participantes"]["5"] == 0.9556
    assert figures["participations_par_action"]["PDL"] == 22
    assert figures["participations_par_action"]["ADS"] == 21


def test_about_fifteen_actions_at_the_start(mel) -> None:
    assert ind.year_indicators(mel, 2015)["actions_inscrites"] == 15


def test_every_commune_in_two_actions_since_2016(mel) -> None:
    series = ind.series(mel, mel.years)
    shares = dict(series.select("annee", "part_au_moins_2").iter_rows())
    assert shares[2015] < 1.0
    assert all(shares[y] == 1.0 for y in (2016, 2017, 2018, 2019))


def test_permis_de_louer_from_april_2019(mel) -> None:
    pdl = mel.participations.filter(pl.col("action_id") == "PDL")
    assert pdl.height == 22
    assert pdl["date_debut"].dt.strftime("%Y-%m-%d").unique().to_list() == ["2019-04-01"]


def test_sources_are_marked(mel) -> None:
    assert set(mel.actions["source"].unique()) == {"public", "illustratif"}
    public = set(mel.actions.filter(pl.col("source") == "public")["action_id"])
    assert {"CAM", "RGPD", "PDL", "CEE", "AST", "ADS", "RCL", "PSM"} <= public


def test_illustrative_moyens_leave_the_published_figures_alone(mel) -> None:
    from mutualisation.compute import moyens

    assert mel.moyens is not None and mel.sources["moyens"].name == "moyens.csv"
    assert "moyens" in mel.description and "illustratifs" in mel.description
    figures = moyens.indicators(mel, 2019)
    assert figures["actions_renseignees"] == 21 and figures["actions_non_renseignees"] == 4
    assert set(figures["par_mode_financement"]) == {
        "attribution de compensation", "budget intercommunal", "mixte", "refacturation"}
    # Plausible orders of magnitude: tens of posts, millions of euros, a few euros a head.
    assert 20 <= figures["etp"] <= 150
    assert 1_000_000 <= figures["cout_fonctionnement"] <= 20_000_000
    assert 1 <= figures["cout_par_habitant"] <= 20
    assert 80 <= moyens.charges_by_commune(mel, 2019).height <= 90  # who takes part in one
