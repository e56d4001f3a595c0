"""Commune mergers (DESIGN.md, "Definitions"): participations carried over to the commune
nouvelle, hand-worked on a small data set; the loader's new columns and checks."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from mutualisation.compute import indicators
from mutualisation.data.mergers import carried_over, with_mergers
from mutualisation.data.problems import DataError
from mutualisation.data.validate import load_dataset
from tests.conftest import ACTIONS, write_folder
from tests.test_indicators import d, make_dataset

# A and B merge into S (which keeps its code) on 2020-01-01; S merges into U on 2022-01-01;
# T never moves.
A, B, S, T, U = "59001", "59002", "59003", "59004", "59005"


@pytest.fixture(scope="module")
def merged():
    return make_dataset(
        communes=[
            (A, "Alpha", d("2010-01-01"), d("2020-01-01"), 100, S),
            (B, "Beta", d("2010-01-01"), d("2020-01-01"), 200, S),
            (S, "Sigma", d("2010-01-01"), d("2022-01-01"), 300, U),
            (T, "Tau", d("2010-01-01"), None, 400),
            (U, "Upsilon", d("2022-01-01"), None, 1000),
        ],
        actions=[
            ("X", "Action X", d("2015-01-01"), d("2015-01-01")),
            ("Y", "Action Y", d("2015-01-01"), d("2015-01-01")),
            ("Z", "Action Z", d("2015-01-01"), d("2015-01-01")),
        ],
        participations=[
            (A, "X", d("2016-01-01"), None),
            (A, "Y", d("2016-01-01"), d("2021-06-30")),
            (B, "X", d("2017-01-01"), d("2023-01-01")),
            (B, "Z", d("2016-01-01"), d("2019-06-30")),  # ended before the merger
            (S, "Y", d("2018-01-01"), None),  # S already takes part in Y
            (T, "Z", d("2016-01-01"), None),
        ],
        first_year=2015,
        last_year=2023,
    )


def test_carried_over_rows(merged) -> None:
    rows = carried_over(merged.communes, merged.participations)
    assert rows.select("code_origine", "code_insee", "action_id", "date_debut", "date_fin",
                       "reprise").rows() == [
        (A, S, "X", date(2020, 1, 1), None, True),
        (B, S, "X", date(2020, 1, 1), date(2023, 1, 1), True),
        (A, S, "Y", date(2020, 1, 1), date(2021, 6, 30), False),
        # S passes on to U what it has on 2022-01-01: X (taken over) and Y (its own).
        (S, U, "X", date(2022, 1, 1), None, True),
        (S, U, "Y", date(2022, 1, 1), None, True),
    ]
    # One participation of S in X, the longest of the two carried over.
    added = with_mergers(merged.communes, merged.participations).filter(
        pl.col("code_insee") == S, pl.col("action_id") == "X")
    assert added.rows() == [(S, "X", date(2020, 1, 1), None)]


def test_member_count_falls_with_nobody_leaving(merged) -> None:
    # 2019: A {X, Y}, B {X}, S {Y}, T {Z}: 4 members... plus nothing for U (not yet).
    f2019 = indicators.year_indicators(merged, 2019, [1, 2])
    assert f2019["communes_membres"] == 4
    assert f2019["participations_par_action"] == {"X": 2, "Y": 2, "Z": 1}
    assert f2019["communes_participantes"] == {"1": 4, "2": 1}
    # 2020: S {X (from A and B, once), Y (its own)}, T {Z}: 2 members.
    f2020 = indicators.year_indicators(merged, 2020, [1, 2])
    assert f2020["communes_membres"] == 2
    assert f2020["participations_par_action"] == {"X": 1, "Y": 1, "Z": 1}
    assert f2020["communes_participantes"] == {"1": 2, "2": 1}
    assert f2020["part_communes_participantes"] == {"1": 1.0, "2": 0.5}
    assert f2020["moyenne_actions_par_commune"] == 1.5
    # 2022: U {X, Y}, T {Z}.
    f2022 = indicators.year_indicators(merged, 2022, [1, 2])
    assert (f2022["communes_membres"], f2022["participations_par_action"]) == (
        2, {"X": 1, "Y": 1, "Z": 1})
    changes = indicators.membership_changes(merged, 2020)
    assert changes.select("code_insee", "mouvement").rows() == [(A, "fusion"), (B, "fusion")]
    changes = indicators.membership_changes(merged, 2022)
    assert changes.select("code_insee", "mouvement").rows() == [(S, "fusion"), (U, "adhésion")]


def test_no_merger_changes_nothing(merged) -> None:
    plain = merged.communes.with_columns(pl.lit(None, pl.String).alias("code_successeur"))
    assert carried_over(plain, merged.participations).is_empty()
    assert with_mergers(plain, merged.participations).equals(
        merged.participations.select("code_insee", "action_id", "date_debut", "date_fin"))


# --------------------------------------------------------------------------- the loader

_COMMUNES = ("code_insee,nom,date_adhesion,date_sortie,code_successeur,adhesion_borne_inferieure\n"
             "59001,Alpha,2015-01-01,2020-01-01,59002,oui\n59002,Beta,2015-01-01,,,NON\n")
_PARTICIPATIONS = "code_insee,action_id,date_debut\n59001,CAM,2015-09-01\n"


def test_successor_and_lower_bound_columns_are_read(tmp_path: Path) -> None:
    ds = load_dataset(write_folder(tmp_path, _COMMUNES, participations=_PARTICIPATIONS))
    assert ds.communes["code_successeur"].to_list() == ["59002", None]
    assert ds.communes["adhesion_borne_inferieure"].to_list() == [True, False]


@pytest.mark.parametrize(("row", "message"), [
    ("59003,Gamma,2015-01-01,2020-01-01,59009,", "communes.csv, ligne 4, colonne "
     "« code_successeur », valeur « 59009 » : commune nouvelle absente de la table communes"),
    ("59003,Gamma,2015-01-01,,59002,", "code_successeur sans date_sortie"),
    ("59003,Gamma,2015-01-01,2020-01-01,59003,", "la commune nouvelle ne peut pas être"),
    ("59003,Gamma,2015-01-01,,,peut-être", "oui ou non attendu"),
    ("59003,Gamma,2015-01-01,2020-01-01,59X01,", "code INSEE mal formé"),
])
def test_bad_successor_or_flag(tmp_path: Path, row: str, message: str) -> None:
    folder = write_folder(tmp_path, _COMMUNES + row + "\n", ACTIONS, _PARTICIPATIONS)
    with pytest.raises(DataError) as err:
        load_dataset(folder)
    assert message in str(err.value)


def test_actions_and_participations_may_be_empty(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, _COMMUNES, "action_id,libelle,date_inscription\n",
                          "code_insee,action_id,date_debut\n")
    ds = load_dataset(folder)
    assert (ds.actions.height, ds.participations.height) == (0, 0)
    assert (ds.first_year, ds.last_year) == (2020, 2020)  # the last dated event
    assert indicators.year_indicators(ds, 2020)["communes_membres"] == 1
