"""Illustrative ``moyens`` (staff and costs) of the MEL's deployed actions, for the default
data set: written by ``generate_default_data.py`` from the tables it has just written.

Nothing here is published by the MEL: orders of magnitude only (a full-time post costs about
52 000 € a year loaded; a shared service runs from a fraction of a post to some twenty posts;
purchasing actions declare savings of a few percent of what they buy). Deterministic: no
random draw, every figure follows from the action, the year and the participations.

The figures of an action start the year it is deployed (its cost then counts the months
left), grow by 2 % a year, and four deployed actions are left without figures so that the
bilan shows actions « non renseignées ». For the actions re-billed to the communes or
deducted from their *attribution de compensation*, 60 % of the cost is charged to the
communes taking part on 31 December, by population (in cents, rounded down, so the parts
never add up past the action's cost).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

#: Loaded cost of one full-time post for a year (euros).
POST_COST = 52_000
#: Yearly growth of the costs.
GROWTH = 1.02
#: Share of the cost charged to the communes when it is re-billed or deducted.
CHARGED_SHARE = 0.6
#: The key written in ``cle_repartition`` for those actions.
KEY = "au prorata de la population municipale"


@dataclass(frozen=True)
class Profile:
    """How an action is staffed and financed."""

    etp: float
    mode: str
    #: Operating costs beyond staff (software, premises, licences), euros a year.
    other: int
    #: Agents transferred or put at disposal the year the action is deployed.
    agents: int = 0
    #: Savings declared, euros a year (None: not declared).
    savings: int | None = None


REFACTURATION, AC, BUDGET, MIXTE = ("refacturation", "attribution de compensation",
                                    "budget intercommunal", "mixte")

#: Every deployed action with figures (those missing are « non renseignées »).
PROFILES: dict[str, Profile] = {
    "ADS": Profile(18.0, AC, 180_000, agents=12),
    "AJU": Profile(2.0, REFACTURATION, 15_000),
    "AST": Profile(1.5, BUDGET, 20_000, savings=180_000),
    "CAM": Profile(6.0, BUDGET, 60_000, agents=2, savings=950_000),
    "CEE": Profile(1.0, MIXTE, 10_000, savings=120_000),
    "CEP": Profile(3.5, REFACTURATION, 25_000, savings=210_000),
    "CPU": Profile(1.0, BUDGET, 8_000, savings=75_000),
    "DEM": Profile(2.5, BUDGET, 140_000),
    "FOR": Profile(1.5, REFACTURATION, 90_000),
    "FOU": Profile(0.5, BUDGET, 5_000, savings=30_000),
    "GCE": Profile(1.0, BUDGET, 12_000, savings=420_000),
    "GCF": Profile(0.5, BUDGET, 4_000, savings=60_000),
    "MPR": Profile(0.8, MIXTE, 6_000),
    "NUM": Profile(4.0, REFACTURATION, 230_000, agents=1),
    "PAI": Profile(3.0, AC, 45_000, agents=3),
    "PDL": Profile(8.0, MIXTE, 70_000, agents=4),
    "REM": Profile(1.0, MIXTE, 8_000),
    "RGPD": Profile(4.0, AC, 35_000, agents=2),
    "SIG": Profile(3.0, BUDGET, 110_000, agents=1),
    "TEL": Profile(0.5, BUDGET, 3_000, savings=45_000),
    "ADP": Profile(1.0, REFACTURATION, 40_000),
}

SCHEMA = {"action_id": pl.String, "annee": pl.Int64, "code_insee": pl.String,
          "etp": pl.Float64, "agents_transferes": pl.Int64, "cout_fonctionnement": pl.Float64,
          "economies": pl.Float64, "mode_financement": pl.String, "cle_repartition": pl.String}


def _action_rows(actions: pl.DataFrame, years: list[int]) -> list[dict]:
    rows = []
    for action_id, deployed in actions.select("action_id", "date_deploiement").iter_rows():
        profile = PROFILES.get(action_id)
        if profile is None or deployed is None:
            continue
        for year in years:
            if year < deployed.year:
                continue
            growth = GROWTH ** (year - deployed.year)
            months = 12 - deployed.month + 1 if year == deployed.year else 12
            cost = round((profile.etp * POST_COST + profile.other) * growth * months / 12)
            savings = (None if profile.savings is None
                       else round(profile.savings * growth * months / 12))
            rows.append({
                "action_id": action_id, "annee": year, "code_insee": None,
                "etp": profile.etp, "agents_transferes": profile.agents if year == deployed.year
                else 0, "cout_fonctionnement": float(cost),
                "economies": None if savings is None else float(savings),
                "mode_financement": profile.mode,
                "cle_repartition": KEY if profile.mode in (REFACTURATION, AC) else None,
            })
    return rows


def _commune_rows(action_rows: list[dict], communes: pl.DataFrame,
                  participations: pl.DataFrame) -> list[dict]:
    rows = []
    for action in action_rows:
        if action["mode_financement"] not in (REFACTURATION, AC):
            continue
        day = date(action["annee"], 12, 31)
        taking_part = (
            participations.filter(pl.col("action_id") == action["action_id"],
                                  pl.col("date_debut") <= day,
                                  pl.col("date_fin").is_null() | (pl.col("date_fin") > day))
            .join(communes.filter(pl.col("date_adhesion") <= day,
                                  pl.col("date_sortie").is_null()
                                  | (pl.col("date_sortie") > day)),
                  on="code_insee")
            .select("code_insee", "population").unique().sort("code_insee")
        )
        total = int(taking_part["population"].sum())
        if total == 0:
            continue
        charged = round(action["cout_fonctionnement"] * CHARGED_SHARE * 100)
        for code, population in taking_part.iter_rows():
            rows.append({
                "action_id": action["action_id"], "annee": action["annee"], "code_insee": code,
                "etp": None, "agents_transferes": None,
                "cout_fonctionnement": (charged * population // total) / 100,
                "economies": None, "mode_financement": None, "cle_repartition": None,
            })
    return rows


def build_moyens(out: Path, years: list[int]) -> pl.DataFrame:
    """The illustrative table for the tables written in ``out``, every year of ``years``."""
    actions = pl.read_csv(out / "actions.csv", try_parse_dates=True)
    # Explicit types: a column left empty (no commune has left) reads as text otherwise.
    communes = pl.read_csv(out / "communes.csv", schema_overrides={
        "code_insee": pl.String, "date_adhesion": pl.Date, "date_sortie": pl.Date})
    participations = pl.read_csv(out / "participations.csv", schema_overrides={
        "code_insee": pl.String, "date_debut": pl.Date, "date_fin": pl.Date})
    own = _action_rows(actions, years)
    rows = own + _commune_rows(own, communes, participations)
    return (pl.DataFrame(rows, schema=SCHEMA, orient="row")
            .sort("annee", "action_id", "code_insee", nulls_last=False))


def write_moyens(out: Path, years: list[int]) -> pl.DataFrame:
    """Write ``out``/moyens.csv (the format of the other tables) and return it."""
    frame = build_moyens(out, years)
    frame.write_csv(out / "moyens.csv", null_value="", line_terminator="\n")
    return frame
