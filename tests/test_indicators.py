"""Tests of mutualisation.compute.indicators on small data sets worked out by hand.

The main data set (``scenario``) — every figure asserted below is derived in
the comments here.

Communes (code, name, joined, left):

- 59001 Alpha    2010-01-01  —           member every year from 2010
- 59002 Beta     2010-01-01  2019-12-31  leaves ON D 2019: member in 2018, NOT in 2019
- 59003 Gamma    2019-06-15  —           joins mid-2019: member in 2019, not in 2018
- 59004 Delta    2010-01-01  2020-01-01  leaves the day after D 2019: member in 2019, not 2020
- 59005 Epsilon  2010-01-01  —           member, never takes part in anything

Actions (id, inscribed, deployed, domain):

- ASS   2015-06-19  2017-05-01  (null domain → "non renseigné")
- CAM   2015-06-19  2016-01-01  achats
- FUT   2020-02-01  2020-06-01  énergie    (not inscribed before 2020)
- PDL   2019-03-01  —           habitat    (inscribed, never deployed)
- RGPD  2018-01-01  2019-12-31  numérique  (deployed ON D 2019)

Participations (commune, action, start, end):

- Alpha   CAM   2016-01-01 → 2017-03-01   ends ...
- Alpha   CAM   2017-06-01 → —            ... and restarts: counted once
- Alpha   RGPD  2019-12-31 → —            starts on D 2019: active at D 2019
- Alpha   PDL   2019-04-01 → —            action not deployed
- Alpha   ASS   2017-05-01 → —
- Beta    CAM   2016-01-01 → —            Beta is not a member at D 2019
- Gamma   CAM   2019-07-01 → 2019-12-31   ends ON D 2019: not active
- Gamma   ASS   2019-07-01 → 2020-01-01   ends the day after D 2019: active
- Delta   CAM   2016-01-01 → —
- Delta   PDL   2019-05-01 → —            action not deployed
- Delta   RGPD  2018-02-01 → —            RGPD deployed only at the end of 2019

Year 2019 (D = 2019-12-31):

- members: Alpha, Gamma, Delta, Epsilon → 4 (Beta left on D);
- inscribed: ASS, CAM, PDL, RGPD → 4 (FUT later); deployed: ASS, CAM, RGPD → 3;
  deployed during 2019: RGPD; inscribed but not deployed: PDL;
- nb_actions: Alpha 3 (ASS, CAM, RGPD — PDL is not deployed), Gamma 1 (ASS),
  Delta 2 (CAM, RGPD), Epsilon 0;
- at least 1: 3 (0.75), at least 2: 2 (0.5), at least 3: 1 (0.25), at least 5: 0;
- participations per action (member communes): ASS 2 (Alpha, Gamma),
  CAM 2 (Alpha, Delta), PDL 2 (Alpha, Delta), RGPD 2 (Alpha, Delta);
- active participations in deployed actions: 3 + 1 + 2 = 6; mean 6 / 4 = 1.5.

Year 2018 (D = 2018-12-31): members Alpha, Beta, Delta, Epsilon → 4;
inscribed ASS, CAM, RGPD → 3; deployed ASS, CAM → 2; none deployed during 2018;
nb_actions Alpha 2 (ASS, CAM), Beta 1 (CAM), Delta 1 (CAM; RGPD not deployed
yet), Epsilon 0 → at least 1: 3, at least 2: 1, at least 5: 0; 4 active
participations; per action ASS 1, CAM 3, RGPD 1.

Year 2020 (D = 2020-12-31): members Alpha, Gamma, Epsilon → 3; inscribed 5,
deployed 4 (ASS, CAM, FUT, RGPD), deployed during 2020: FUT; nb_actions
Alpha 3, Gamma 0 (both ended), Epsilon 0 → at least 1 and 2: 1 (1/3 → 0.3333).

Year 2009: no member, no action → every count 0 and every share 0.0.
"""

from __future__ import annotations

import json
from datetime import date

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mutualisation.compute import indicators as ind
from mutualisation.data.model import SCHEMAS, Dataset

# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def make_dataset(
    communes: list[tuple] = (),
    actions: list[tuple] = (),
    participations: list[tuple] = (),
    first_year: int = 2015,
    last_year: int = 2020,
) -> Dataset:
    """Build a Dataset from rows given as tuples in the column order of SCHEMAS.

    Short tuples are padded with None (optional columns left empty).
    """

    def frame(name: str, rows) -> pl.DataFrame:
        schema = SCHEMAS[name]
        width = len(schema)
        padded = [tuple(row) + (None,) * (width - len(row)) for row in rows]
        return pl.DataFrame(padded, schema=schema, orient="row")

    return Dataset(
        communes=frame("communes", communes),
        actions=frame("actions", actions),
        participations=frame("participations", participations),
        first_year=first_year,
        last_year=last_year,
    )


def d(text: str) -> date:
    """A date from its ISO text."""
    return date.fromisoformat(text)


ALPHA, BETA, GAMMA, DELTA, EPSILON = "59001", "59002", "59003", "59004", "59005"


@pytest.fixture(scope="module")
def scenario() -> Dataset:
    """The data set described in the module docstring."""
    return make_dataset(
        communes=[
            (ALPHA, "Alpha", d("2010-01-01"), None, 1000),
            (BETA, "Beta", d("2010-01-01"), d("2019-12-31"), 2000),
            (GAMMA, "Gamma", d("2019-06-15"), None, 500),
            (DELTA, "Delta", d("2010-01-01"), d("2020-01-01"), None),
            (EPSILON, "Epsilon", d("2010-01-01"), None, 300),
        ],
        actions=[
            ("CAM", "Centrale d'achats", d("2015-06-19"), d("2016-01-01"), "achats"),
            ("RGPD", "Service RGPD", d("2018-01-01"), d("2019-12-31"), "numérique"),
            ("PDL", "Permis de louer", d("2019-03-01"), None, "habitat"),
            ("ASS", "Assurances", d("2015-06-19"), d("2017-05-01"), None),
            ("FUT", "Future action", d("2020-02-01"), d("2020-06-01"), "énergie"),
        ],
        participations=[
            (ALPHA, "CAM", d("2016-01-01"), d("2017-03-01")),
            (ALPHA, "CAM", d("2017-06-01"), None),
            (ALPHA, "RGPD", d("2019-12-31"), None),
            (ALPHA, "PDL", d("2019-04-01"), None),
            (ALPHA, "ASS", d("2017-05-01"), None),
            (BETA, "CAM", d("2016-01-01"), None),
            (GAMMA, "CAM", d("2019-07-01"), d("2019-12-31")),
            (GAMMA, "ASS", d("2019-07-01"), d("2020-01-01")),
            (DELTA, "CAM", d("2016-01-01"), None),
            (DELTA, "PDL", d("2019-05-01"), None),
            (DELTA, "RGPD", d("2018-02-01"), None),
        ],
    )


# --------------------------------------------------------------------------
# Membership
# --------------------------------------------------------------------------


def test_member_communes_2019(scenario):
    # Beta leaves on 2019-12-31 = D: not a member; Gamma joined in June: member;
    # Delta leaves on 2020-01-01 > D: still a member.
    members = ind.member_communes(scenario, 2019)
    assert members.get_column("code_insee").to_list() == [ALPHA, GAMMA, DELTA, EPSILON]
    assert members.columns == list(SCHEMAS["communes"])


def test_member_communes_2018_and_2020(scenario):
    # 2018: Gamma not joined yet, Beta still in. 2020: Delta left on 2020-01-01.
    assert ind.member_communes(scenario, 2018).get_column("code_insee").to_list() == [
        ALPHA,
        BETA,
        DELTA,
        EPSILON,
    ]
    assert ind.member_communes(scenario, 2020).get_column("code_insee").to_list() == [
        ALPHA,
        GAMMA,
        EPSILON,
    ]


def test_member_communes_keeps_extra_columns():
    # An extra column of the file is kept and returned.
    ds = make_dataset(communes=[("59001", "Alpha", d("2010-01-01"))])
    ds = Dataset(
        communes=ds.communes.with_columns(pl.lit("Nord").alias("departement")),
        actions=ds.actions,
        participations=ds.participations,
        first_year=2015,
        last_year=2020,
    )
    members = ind.member_communes(ds, 2019)
    assert members.get_column("departement").to_list() == ["Nord"]


def test_membership_changes(scenario):
    # 2019: Gamma joined on 06-15, Beta left on 12-31 (sorted by date).
    changes = ind.membership_changes(scenario, 2019)
    assert changes.columns == ["code_insee", "nom", "mouvement", "date"]
    assert changes.rows() == [
        (GAMMA, "Gamma", "adhésion", d("2019-06-15")),
        (BETA, "Beta", "sortie", d("2019-12-31")),
    ]
    # 2020: Delta left on 01-01. 2010: the four founding communes joined.
    assert ind.membership_changes(scenario, 2020).rows() == [
        (DELTA, "Delta", "sortie", d("2020-01-01"))
    ]
    joined_2010 = ind.membership_changes(scenario, 2010)
    assert joined_2010.get_column("code_insee").to_list() == [ALPHA, BETA, DELTA, EPSILON]
    assert set(joined_2010.get_column("mouvement")) == {"adhésion"}
    assert ind.membership_changes(scenario, 2017).height == 0


# --------------------------------------------------------------------------
# Actions
# --------------------------------------------------------------------------


def test_actions_status_2019(scenario):
    status = ind.actions_status(scenario, 2019)
    assert status.columns == [
        "action_id",
        "libelle",
        "domaine",
        "date_inscription",
        "date_deploiement",
        "deployee",
        "deployee_annee",
        "nb_communes",
    ]
    # FUT is not inscribed yet; RGPD deployed on D itself counts as deployed this year;
    # PDL is not deployed but its 2 member participations are counted.
    assert status.select("action_id", "deployee", "deployee_annee", "nb_communes").rows() == [
        ("ASS", True, False, 2),
        ("CAM", True, False, 2),
        ("PDL", False, False, 2),
        ("RGPD", True, True, 2),
    ]
    assert status.filter(pl.col("action_id") == "ASS").item(0, "domaine") is None


def test_actions_status_2018_counts_zero_and_former_member(scenario):
    # 2018: CAM has Alpha, Beta (still a member) and Delta; RGPD has Delta only.
    status = ind.actions_status(scenario, 2018)
    assert status.select("action_id", "deployee", "nb_communes").rows() == [
        ("ASS", True, 1),
        ("CAM", True, 3),
        ("RGPD", False, 1),
    ]
    # 2015: CAM and ASS inscribed, nobody takes part yet → 0, not null.
    status_2015 = ind.actions_status(scenario, 2015)
    assert status_2015.select("action_id", "nb_communes").rows() == [("ASS", 0), ("CAM", 0)]


def test_by_domain_2019(scenario):
    # achats: CAM (Alpha, Delta); habitat: PDL not deployed → 0 participations;
    # non renseigné: ASS (Alpha, Gamma); numérique: RGPD (Alpha, Delta).
    table = ind.by_domain(scenario, 2019)
    assert table.columns == ["domaine", "actions_inscrites", "actions_deployees", "participations"]
    assert table.rows() == [
        ("achats", 1, 1, 2),
        ("habitat", 1, 0, 0),
        ("non renseigné", 1, 1, 2),
        ("numérique", 1, 1, 2),
    ]


# --------------------------------------------------------------------------
# Per commune
# --------------------------------------------------------------------------


def test_actions_per_commune_2019(scenario):
    table = ind.actions_per_commune(scenario, 2019)
    assert table.columns == [
        "code_insee",
        "nom",
        "population",
        "nb_actions",
        "actions",
        "actions_disponibles",
    ]
    # Alpha: CAM once despite two rows, RGPD deployed and joined on D, PDL not deployed.
    # Gamma: CAM ended on D (inactive), ASS ends the day after D (active).
    # Epsilon: nothing → 0 and every deployed action available.
    assert table.rows() == [
        (ALPHA, "Alpha", 1000, 3, ["ASS", "CAM", "RGPD"], []),
        (GAMMA, "Gamma", 500, 1, ["ASS"], ["CAM", "RGPD"]),
        (DELTA, "Delta", None, 2, ["CAM", "RGPD"], ["ASS"]),
        (EPSILON, "Epsilon", 300, 0, [], ["ASS", "CAM", "RGPD"]),
    ]


def test_actions_per_commune_2018(scenario):
    # RGPD is not deployed in 2018: Delta's participation does not count and RGPD is
    # not "available" either.
    table = ind.actions_per_commune(scenario, 2018)
    assert table.select("code_insee", "nb_actions", "actions", "actions_disponibles").rows() == [
        (ALPHA, 2, ["ASS", "CAM"], []),
        (BETA, 1, ["CAM"], ["ASS"]),
        (DELTA, 1, ["CAM"], ["ASS"]),
        (EPSILON, 0, [], ["ASS", "CAM"]),
    ]


def test_distribution_2019(scenario):
    # nb_actions: Epsilon 0, Gamma 1, Delta 2, Alpha 3.
    table = ind.distribution(scenario, 2019)
    assert table.columns == ["nb_actions", "communes"]
    assert table.rows() == [(0, 1), (1, 1), (2, 1), (3, 1)]


def test_distribution_2020(scenario):
    # Alpha 3; Gamma and Epsilon 0.
    assert ind.distribution(scenario, 2020).rows() == [(0, 2), (3, 1)]


def test_duplicate_rows_of_one_action_counted_once():
    # Two rows of the same commune and action both active at D (the loader rejects
    # overlaps, but the count must still be of DISTINCT actions): 1 action, 1 commune.
    ds = make_dataset(
        communes=[("59001", "Alpha", d("2010-01-01"))],
        actions=[("CAM", "Centrale", d("2015-01-01"), d("2015-01-01"))],
        participations=[
            ("59001", "CAM", d("2016-01-01"), d("2020-01-01")),
            ("59001", "CAM", d("2019-01-01"), None),
        ],
    )
    assert ind.actions_per_commune(ds, 2019).get_column("nb_actions").to_list() == [1]
    figures = ind.year_indicators(ds, 2019)
    assert figures["participations_par_action"] == {"CAM": 1}
    assert figures["participations_actives"] == 1


def test_participation_ending_and_restarting_on_d():
    # Ends on D and restarts on D: the first is inactive, the second active → 1.
    ds = make_dataset(
        communes=[("59001", "Alpha", d("2010-01-01"))],
        actions=[("CAM", "Centrale", d("2015-01-01"), d("2015-01-01"))],
        participations=[
            ("59001", "CAM", d("2016-01-01"), d("2019-12-31")),
            ("59001", "CAM", d("2019-12-31"), None),
        ],
    )
    assert ind.actions_per_commune(ds, 2019).get_column("nb_actions").to_list() == [1]
    # In 2018 only the first row is active → still 1.
    assert ind.actions_per_commune(ds, 2018).get_column("nb_actions").to_list() == [1]


# --------------------------------------------------------------------------
# Thresholds
# --------------------------------------------------------------------------


def test_communes_with_at_least_default(scenario):
    # 2019: nb_actions 3, 1, 2, 0 over 4 members.
    table = ind.communes_with_at_least(scenario, 2019)
    assert table.columns == ["seuil", "communes", "part"]
    assert table.rows() == [(1, 3, 0.75), (2, 2, 0.5), (5, 0, 0.0)]


def test_communes_with_at_least_custom(scenario):
    # Only Alpha has 3 actions: 1 / 4.
    assert ind.communes_with_at_least(scenario, 2019, (3,)).rows() == [(3, 1, 0.25)]
    # Thresholds are returned sorted and without duplicates.
    assert ind.communes_with_at_least(scenario, 2019, [3, 1, 3]).rows() == [
        (1, 3, 0.75),
        (3, 1, 0.25),
    ]


def test_share_is_rounded_to_four_decimals(scenario):
    # 2020: 1 commune out of 3 → 0.3333.
    assert ind.communes_with_at_least(scenario, 2020, (1,)).rows() == [(1, 1, 0.3333)]


def test_share_rounds_half_up_on_exact_fraction():
    # 1 / 160 = 0.00625 exactly → 0.0063 (half up), whatever the float noise.
    communes = [(f"59{i:03d}", f"C{i}", d("2010-01-01")) for i in range(160)]
    ds = make_dataset(
        communes=communes,
        actions=[("CAM", "Centrale", d("2015-01-01"), d("2015-01-01"))],
        participations=[("59000", "CAM", d("2016-01-01"))],
    )
    assert ind.communes_with_at_least(ds, 2019, (1,)).rows() == [(1, 1, 0.0063)]
    # Mean: 1 / 160 = 0.00625 → 0.01.
    assert ind.year_indicators(ds, 2019)["moyenne_actions_par_commune"] == 0.01


@pytest.mark.parametrize("bad", [(0,), (-1,), (1, 0), ("1",), (1.5,), (True,), (), "12", 5])
def test_bad_thresholds_raise(scenario, bad):
    with pytest.raises(ValueError, match="threshold"):
        ind.communes_with_at_least(scenario, 2019, bad)
    with pytest.raises(ValueError, match="threshold"):
        ind.year_indicators(scenario, 2019, bad)
    with pytest.raises(ValueError, match="threshold"):
        ind.series(scenario, [2019], bad)
    with pytest.raises(ValueError, match="threshold"):
        ind.series_long(scenario, [2019], bad)


def test_bad_year_raises(scenario):
    with pytest.raises(ValueError, match="year"):
        ind.year_indicators(scenario, "2019")
    with pytest.raises(ValueError, match="year"):
        ind.series(scenario, [2019, 2.5])


# --------------------------------------------------------------------------
# indicators.json
# --------------------------------------------------------------------------


def test_year_indicators_2019(scenario):
    figures = ind.year_indicators(scenario, 2019)
    assert figures == {
        "annee": 2019,
        "date_reference": "2019-12-31",
        "communes_membres": 4,
        "actions_inscrites": 4,
        "actions_deployees": 3,
        "actions_deployees_annee": ["RGPD"],
        "communes_participantes": {"1": 3, "2": 2, "5": 0},
        "part_communes_participantes": {"1": 0.75, "2": 0.5, "5": 0.0},
        "participations_par_action": {"ASS": 2, "CAM": 2, "PDL": 2, "RGPD": 2},
        "actions_inscrites_non_deployees": ["PDL"],
        "participations_actives": 6,
        "moyenne_actions_par_commune": 1.5,
        "participations_par_domaine": {
            "achats": 2,
            "habitat": 0,
            "non renseigné": 2,
            "numérique": 2,
        },
    }
    # The contract's keys come first, in the order of DESIGN.md.
    assert list(figures)[:9] == [
        "annee",
        "date_reference",
        "communes_membres",
        "actions_inscrites",
        "actions_deployees",
        "actions_deployees_annee",
        "communes_participantes",
        "part_communes_participantes",
        "participations_par_action",
    ]


def test_year_indicators_2018(scenario):
    figures = ind.year_indicators(scenario, 2018, thresholds=(2,))
    assert figures["communes_membres"] == 4
    assert figures["actions_inscrites"] == 3
    assert figures["actions_deployees"] == 2
    assert figures["actions_deployees_annee"] == []
    assert figures["actions_inscrites_non_deployees"] == ["RGPD"]
    assert figures["communes_participantes"] == {"2": 1}
    assert figures["part_communes_participantes"] == {"2": 0.25}
    assert figures["participations_par_action"] == {"ASS": 1, "CAM": 3, "RGPD": 1}
    assert figures["participations_actives"] == 4
    assert figures["moyenne_actions_par_commune"] == 1.0  # (2 + 1 + 1 + 0) / 4


def test_year_indicators_are_plain_json(scenario):
    figures = ind.year_indicators(scenario, 2020)

    def plain(value) -> bool:
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        if isinstance(value, list):
            return all(plain(v) for v in value)
        return type(value) in (int, float, str)

    assert plain(figures)
    # Two calls give byte-identical JSON.
    assert json.dumps(figures) == json.dumps(ind.year_indicators(scenario, 2020))
    assert figures["actions_deployees_annee"] == ["FUT"]
    assert figures["part_communes_participantes"] == {"1": 0.3333, "2": 0.3333, "5": 0.0}
    assert list(figures["participations_par_action"]) == ["ASS", "CAM", "FUT", "PDL", "RGPD"]


def test_empty_year(scenario):
    # 2009: nobody has joined and nothing is inscribed.
    figures = ind.year_indicators(scenario, 2009)
    assert figures["communes_membres"] == 0
    assert figures["actions_inscrites"] == 0
    assert figures["actions_deployees"] == 0
    assert figures["communes_participantes"] == {"1": 0, "2": 0, "5": 0}
    assert figures["part_communes_participantes"] == {"1": 0.0, "2": 0.0, "5": 0.0}
    assert figures["participations_par_action"] == {}
    assert figures["moyenne_actions_par_commune"] == 0.0
    assert figures["participations_par_domaine"] == {}
    assert ind.communes_with_at_least(scenario, 2009).rows() == [
        (1, 0, 0.0),
        (2, 0, 0.0),
        (5, 0, 0.0),
    ]
    assert ind.distribution(scenario, 2009).height == 0
    assert ind.actions_per_commune(scenario, 2009).height == 0
    assert ind.actions_status(scenario, 2009).height == 0


def test_empty_dataset():
    # No rows at all: every function still answers with zeros / empty frames.
    ds = make_dataset()
    figures = ind.year_indicators(ds, 2019)
    assert figures["communes_membres"] == 0
    assert figures["part_communes_participantes"] == {"1": 0.0, "2": 0.0, "5": 0.0}
    assert ind.by_domain(ds, 2019).height == 0
    assert ind.series(ds, [2018, 2019]).get_column("communes_membres").to_list() == [0, 0]


# --------------------------------------------------------------------------
# Series
# --------------------------------------------------------------------------

YEARS = [2009, 2015, 2016, 2017, 2018, 2019, 2020]


def test_series_columns_and_values(scenario):
    table = ind.series(scenario, [2020, 2018, 2019])  # years are sorted
    assert table.columns == [
        "annee",
        "communes_membres",
        "actions_inscrites",
        "actions_deployees",
        "actions_deployees_annee",
        "participations_actives",
        "communes_au_moins_1",
        "part_au_moins_1",
        "communes_au_moins_2",
        "part_au_moins_2",
        "communes_au_moins_5",
        "part_au_moins_5",
    ]
    # Worked out in the module docstring.
    assert table.rows() == [
        (2018, 4, 3, 2, 0, 4, 3, 0.75, 1, 0.25, 0, 0.0),
        (2019, 4, 4, 3, 1, 6, 3, 0.75, 2, 0.5, 0, 0.0),
        (2020, 3, 5, 4, 1, 3, 1, 0.3333, 1, 0.3333, 0, 0.0),
    ]


def test_series_matches_year_indicators(scenario):
    thresholds = (1, 2, 3)
    table = ind.series(scenario, YEARS, thresholds)
    assert table.get_column("annee").to_list() == YEARS
    for row in table.iter_rows(named=True):
        figures = ind.year_indicators(scenario, row["annee"], thresholds)
        assert row["communes_membres"] == figures["communes_membres"]
        assert row["actions_inscrites"] == figures["actions_inscrites"]
        assert row["actions_deployees"] == figures["actions_deployees"]
        assert row["actions_deployees_annee"] == len(figures["actions_deployees_annee"])
        assert row["participations_actives"] == figures["participations_actives"]
        for k in thresholds:
            assert row[f"communes_au_moins_{k}"] == figures["communes_participantes"][str(k)]
            assert row[f"part_au_moins_{k}"] == figures["part_communes_participantes"][str(k)]


def test_series_long_matches_series(scenario):
    wide = ind.series(scenario, YEARS)
    long = ind.series_long(scenario, YEARS)
    assert long.columns == ["annee", "seuil", "communes", "part"]
    assert long.height == len(YEARS) * 3
    assert long.select("annee", "seuil").rows() == sorted(long.select("annee", "seuil").rows())
    for annee, seuil, communes, part in long.iter_rows():
        row = wide.filter(pl.col("annee") == annee).row(0, named=True)
        assert communes == row[f"communes_au_moins_{seuil}"]
        assert part == row[f"part_au_moins_{seuil}"]
    # 2019 rows, by hand.
    assert long.filter(pl.col("annee") == 2019).rows() == [
        (2019, 1, 3, 0.75),
        (2019, 2, 2, 0.5),
        (2019, 5, 0, 0.0),
    ]


# --------------------------------------------------------------------------
# Property test against a naive pure-Python count
# --------------------------------------------------------------------------

CODES = ["59001", "59002", "59003", "59004"]
IDS = ["A1", "A2", "A3"]
#: Year ends (the reference dates D) are drawn often: a ``<=`` turned into ``<`` only shows there.
YEAR_ENDS = [date(y, 12, 31) for y in range(2015, 2022)]
DATES = st.dates(min_value=date(2016, 1, 1), max_value=date(2020, 12, 31)) | st.sampled_from(
    [d for d in YEAR_ENDS if d.year <= 2020])


def dates_from(start: date) -> st.SearchStrategy[date]:
    """A date on or after ``start`` (an end date), year ends included."""
    return st.dates(min_value=start, max_value=date(2021, 12, 31)) | st.sampled_from(
        [start, *(d for d in YEAR_ENDS if d >= start)])


@st.composite
def random_datasets(draw) -> Dataset:
    """Small random data sets: dates around the tested years, ends after starts."""
    communes = []
    for code in draw(st.lists(st.sampled_from(CODES), unique=True, max_size=len(CODES))):
        joined = draw(DATES)
        left = draw(st.none() | dates_from(joined))
        communes.append(
            (code, f"Commune {code}", joined, left, draw(st.none() | st.integers(0, 9)))
        )
    actions = []
    for action_id in draw(st.lists(st.sampled_from(IDS), unique=True, max_size=len(IDS))):
        inscribed = draw(DATES)
        deployed = draw(st.none() | dates_from(inscribed))
        domain = draw(st.sampled_from([None, "achats", "numérique"]))
        actions.append((action_id, f"Action {action_id}", inscribed, deployed, domain))
    participations = []
    if communes and actions:
        for _ in range(draw(st.integers(0, 8))):
            code = draw(st.sampled_from([c[0] for c in communes]))
            action_id = draw(st.sampled_from([a[0] for a in actions]))
            start = draw(DATES)
            end = draw(st.none() | dates_from(start))
            participations.append((code, action_id, start, end))
    return make_dataset(communes, actions, participations)


def naive_counts(ds: Dataset, year: int) -> tuple[dict[str, int], dict[str, int]]:
    """nb_actions per member commune and member communes per inscribed action, by hand."""
    ref = date(year, 12, 31)
    members = {
        code
        for code, _, joined, left, *_ in ds.communes.iter_rows()
        if joined <= ref and (left is None or left > ref)
    }
    inscribed = {a for a, _, ins, *_ in ds.actions.iter_rows() if ins <= ref}
    deployed = {a for a, _, _, dep, *_ in ds.actions.iter_rows() if dep is not None and dep <= ref}
    active = {
        (code, action)
        for code, action, start, end in ds.participations.iter_rows()
        if start <= ref and (end is None or end > ref) and code in members
    }
    per_commune = {c: sum(1 for c2, a in active if c2 == c and a in deployed) for c in members}
    per_action = {a: sum(1 for _, a2 in active if a2 == a) for a in inscribed}
    return per_commune, per_action


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ds=random_datasets(), year=st.integers(2015, 2021))
def test_property_matches_naive_count(ds, year):
    per_commune, per_action = naive_counts(ds, year)
    thresholds = (1, 2, 3, 5)
    figures = ind.year_indicators(ds, year, thresholds)

    assert figures["communes_membres"] == len(per_commune)
    expected = {str(k): sum(1 for n in per_commune.values() if n >= k) for k in thresholds}
    assert figures["communes_participantes"] == expected
    assert figures["participations_par_action"] == dict(sorted(per_action.items()))
    assert figures["participations_actives"] == sum(per_commune.values())

    table = ind.actions_per_commune(ds, year)
    assert dict(table.select("code_insee", "nb_actions").rows()) == per_commune
    assert table.get_column("code_insee").to_list() == sorted(per_commune)

    at_least = ind.communes_with_at_least(ds, year, thresholds)
    communes = at_least.get_column("communes").to_list()
    assert communes == sorted(communes, reverse=True)  # non-increasing in k
    # Shares: the exact fraction rounded half up to 4 decimals (0.0 without members).
    members = len(per_commune)
    expected_parts = [
        (c * 20000 + members) // (2 * members) / 10000 if members else 0.0 for c in communes
    ]
    assert at_least.get_column("part").to_list() == expected_parts

    # The multi-year series agrees with the single-year computation.
    row = ind.series(ds, [year - 1, year], thresholds).row(1, named=True)
    assert row["communes_au_moins_1"] == expected["1"]
    assert row["participations_actives"] == figures["participations_actives"]


# --------------------------------------------------------------------------
# Every definition on its boundary, D = 31 December (issue 11)
# --------------------------------------------------------------------------


def test_every_date_on_31_december_is_inclusive_or_exclusive_as_defined():
    """Joining, inscription, deployment and start on D count at D; leaving and ending on D
    do not. The day before D and the day after show each boundary from both sides."""
    ds = make_dataset(
        communes=[
            ("59001", "Jointe le 31", d("2019-12-31")),
            ("59002", "Sortie le 31", d("2010-01-01"), d("2019-12-31")),
            ("59003", "Toujours", d("2010-01-01")),
        ],
        actions=[
            ("INS", "Inscrite le 31", d("2019-12-31"), d("2019-12-31")),
            ("DEP", "Déployée le 31", d("2015-01-01"), d("2019-12-31")),
            ("OLD", "Ancienne", d("2015-01-01"), d("2015-01-01")),
        ],
        participations=[
            ("59001", "OLD", d("2019-12-31"), None),
            ("59003", "DEP", d("2019-12-31"), None),
            ("59003", "OLD", d("2016-01-01"), d("2019-12-31")),
            ("59003", "INS", d("2019-12-31"), None),
            ("59002", "OLD", d("2016-01-01"), None),
        ],
    )
    assert ind.member_communes(ds, 2019).get_column("code_insee").to_list() == [
        "59001", "59003"]
    assert ind.member_communes(ds, 2018).get_column("code_insee").to_list() == [
        "59002", "59003"]
    figures = ind.year_indicators(ds, 2019)
    assert figures["communes_membres"] == 2
    assert figures["actions_inscrites"] == 3
    assert figures["actions_deployees"] == 3
    assert figures["actions_deployees_annee"] == ["DEP", "INS"]
    assert figures["actions_inscrites_non_deployees"] == []
    assert figures["participations_par_action"] == {"DEP": 1, "INS": 1, "OLD": 1}
    assert figures["participations_actives"] == 3
    assert figures["communes_participantes"] == {"1": 2, "2": 1, "5": 0}
    table = ind.actions_per_commune(ds, 2019)
    assert table.select("code_insee", "nb_actions", "actions").rows() == [
        ("59001", 1, ["OLD"]), ("59003", 2, ["DEP", "INS"])]

    before = ind.year_indicators(ds, 2018)
    assert before["communes_membres"] == 2  # 59002 still in, 59001 not yet
    assert before["actions_inscrites"] == 2
    assert before["actions_deployees"] == 1
    assert before["actions_deployees_annee"] == []
    assert before["actions_inscrites_non_deployees"] == ["DEP"]
    assert before["participations_par_action"] == {"DEP": 0, "OLD": 2}
    assert before["participations_actives"] == 2

    assert ind.series(ds, [2018, 2019, 2020]).select(
        "annee", "communes_membres", "actions_inscrites", "actions_deployees",
        "actions_deployees_annee", "participations_actives").rows() == [
        (2018, 2, 2, 1, 0, 2), (2019, 2, 3, 3, 2, 3), (2020, 2, 3, 3, 0, 3)]
    assert ind.membership_changes(ds, 2019).rows() == [
        ("59001", "Jointe le 31", ind.JOINED, d("2019-12-31")),
        ("59002", "Sortie le 31", ind.LEFT, d("2019-12-31")),
    ]


def test_rows_come_sorted_whatever_the_input_order():
    ds = make_dataset(
        communes=[("59003", "Gamma", d("2010-01-01")), ("59001", "Alpha", d("2010-01-01")),
                  ("59002", "Beta", d("2010-01-01"))],
        actions=[("Z", "Zeta", d("2015-01-01"), d("2015-01-01"), "b"),
                 ("A", "Alpha", d("2015-01-01"), d("2015-01-01"), "a"),
                 ("FUT", "Future", d("2030-01-01"))],
        participations=[("59003", "Z", d("2016-01-01")), ("59001", "A", d("2016-01-01")),
                        ("59001", "Z", d("2016-01-01"))],
    )
    assert ind.member_communes(ds, 2019).get_column("code_insee").to_list() == [
        "59001", "59002", "59003"]
    assert ind.actions_status(ds, 2019).get_column("action_id").to_list() == ["A", "Z"]
    assert ind.actions_per_commune(ds, 2019).select("code_insee", "actions").rows() == [
        ("59001", ["A", "Z"]), ("59002", []), ("59003", ["Z"])]
    assert ind.by_domain(ds, 2019).get_column("domaine").to_list() == ["a", "b"]
    assert list(ind.year_indicators(ds, 2019)["participations_par_action"]) == ["A", "Z"]


def test_years_given_as_text_are_refused_as_a_whole():
    with pytest.raises(ValueError, match="years must be a sequence of integers, got '2019'"):
        ind.series(make_dataset(), "2019")
    with pytest.raises(ValueError, match="years must be a sequence of integers, got 2019"):
        ind.series(make_dataset(), 2019)


@pytest.mark.parametrize(("num", "den", "decimals", "expected"), [
    (2, 9, 4, 0.2222), (7, 9, 4, 0.7778), (5, 12, 4, 0.4167), (1, 3, 4, 0.3333),
    (1, 8, 2, 0.13), (3, 8, 2, 0.38), (1, 20000, 4, 0.0001), (1, 20001, 4, 0.0),
    (9, 9, 4, 1.0), (0, 9, 4, 0.0), (5, 0, 4, 0.0), (17, 8, 2, 2.13),
])
def test_rounded_ratio_is_exact_half_up(num, den, decimals, expected):
    value = pl.select(ind.rounded_ratio(pl.lit(num), pl.lit(den), decimals)).item()
    assert value == expected and isinstance(value, float)


def test_membership_changes_sorted_by_date_then_code_then_movement():
    ds = make_dataset(communes=[
        ("59005", "Rejoint", d("2019-06-01")),
        ("59004", "Part", d("2010-01-01"), d("2019-03-01")),
        ("59002", "Fusion", d("2010-01-01"), d("2019-06-01")),
        ("59001", "Aller-retour", d("2019-06-01"), d("2019-06-01")),
    ])
    assert ind.membership_changes(ds, 2019).rows() == [
        ("59004", "Part", ind.LEFT, d("2019-03-01")),
        ("59001", "Aller-retour", ind.JOINED, d("2019-06-01")),
        ("59001", "Aller-retour", ind.LEFT, d("2019-06-01")),
        ("59002", "Fusion", ind.LEFT, d("2019-06-01")),
        ("59005", "Rejoint", ind.JOINED, d("2019-06-01")),
    ]


def test_the_first_bad_threshold_is_named():
    with pytest.raises(ValueError, match=r"got 0$"):
        ind.communes_with_at_least(make_dataset(), 2019, (2, 0, -1))
    with pytest.raises(ValueError, match="at least one positive integer"):
        ind.communes_with_at_least(make_dataset(), 2019, [])
