"""Staff and money of the schéma: the indicators of the optional ``moyens`` table.

Definitions (DESIGN.md): the figures of an action for a year are its own row (``code_insee``
empty); commune rows are the parts charged to participating communes. An action deployed at
D without its own row is « non renseigné »: it is counted apart, never as zero. Totals add
only what is written: an empty cell is unknown, and a total over nothing but empty cells is
null.

Amounts are added in whole cents and ETP in hundredths (integer arithmetic), so that totals
are exact to the cent whatever the number of rows; results are given back as euros (floats
with 2 decimals). A cost per inhabitant divides a cost by the population of the communes
taking part in the action on 31 December, rounded half up to the cent; it is null when one
of those populations is unknown (a share is never computed on missing populations).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from mutualisation.compute import population
from mutualisation.data.mergers import with_mergers
from mutualisation.data.model import Dataset, is_active, is_deployed, is_member, reference_date

#: Label of actions without a ``moyens`` row, and of rows without a financing mode.
NOT_GIVEN = "non renseigné"

#: The summed figures, in their output order.
FIGURES: tuple[str, ...] = ("etp", "agents_transferes", "cout_fonctionnement", "economies")

#: Scale of each figure for exact sums (cents, hundredths of an ETP, whole agents).
_SCALE = {"etp": 100, "agents_transferes": 1, "cout_fonctionnement": 100, "economies": 100}


def _scaled(column: str) -> pl.Expr:
    return (pl.col(column) * _SCALE[column]).round(0).cast(pl.Int64)


def _unscaled(total: pl.Expr, scale: int = 100) -> pl.Expr:
    """A sum of cents (hundredths) back to euros (units): rounded to 2 decimals, because
    Polars divides by a constant as it multiplies by its inverse (25659 / 100 would be
    256.59000000000003 in the published files)."""
    return (total / scale).round(2)


def _sums() -> list[pl.Expr]:
    """Exact sums of the figures (null when every value summed is null)."""
    out = []
    for column in FIGURES:
        total = pl.when(pl.col(column).is_not_null().any()).then(_scaled(column).sum())
        out.append((total if _SCALE[column] == 1 else _unscaled(total, _SCALE[column]))
                   .alias(column))
    return out


def _moyens(ds: Dataset) -> pl.DataFrame:
    if ds.moyens is None:
        raise ValueError("the data set has no moyens table")
    return ds.moyens


def action_rows(ds: Dataset) -> pl.DataFrame:
    """The actions' own rows (code_insee empty), every year."""
    return _moyens(ds).filter(pl.col("code_insee").is_null()).drop("code_insee")


def commune_rows(ds: Dataset) -> pl.DataFrame:
    """The communes' parts, every year."""
    return _moyens(ds).filter(pl.col("code_insee").is_not_null())


def _deployed(ds: Dataset, year: int) -> pl.DataFrame:
    """The actions deployed at D of ``year`` (an abandoned action no longer is)."""
    return ds.actions.filter(is_deployed(pl.lit(reference_date(year))))


def populations(ds: Dataset, year: int) -> pl.DataFrame | None:
    """The population of each commune for ``year`` (code_insee, population), or None when
    the data has none: the one place populations enter the indicators of ``moyens``, the
    same vintage rule as the rest of the bilan (:func:`population.population_for_year`)."""
    frame = (population.population_for_year(ds, year)
             .select("code_insee", "population").drop_nulls("population"))
    return None if frame.is_empty() else frame


def participants(ds: Dataset, year: int) -> pl.DataFrame:
    """Member communes with an active participation at D of ``year``: code_insee,
    action_id (mergers applied)."""
    ref = pl.lit(reference_date(year))
    members = ds.communes.filter(is_member(ref)).select("code_insee")
    return (with_mergers(ds.communes, ds.participations).filter(is_active(ref))
            .select("code_insee", "action_id").unique()
            .join(members, on="code_insee", how="semi").sort("action_id", "code_insee"))


def per_inhabitant(cost: pl.Expr, population: pl.Expr) -> pl.Expr:
    """``cost`` (euros) ÷ ``population``, rounded half up to the cent (exact, in integers);
    null when the population is null or zero."""
    cents = (cost * 100).round(0).cast(pl.Int64)
    pop = population.cast(pl.Int64)
    rounded = (cents * 2 + pop) // (pop * 2)
    return pl.when(pop > 0).then(_unscaled(rounded))


def covered_population(ds: Dataset, year: int, action_ids: list[str],
                       pops: pl.DataFrame | None) -> pl.DataFrame:
    """For each action of ``action_ids``: the population of the member communes taking part
    at D (action_id, population; null when one of them has no population)."""
    frame = pl.DataFrame({"action_id": action_ids}, schema={"action_id": pl.String})
    if pops is None:
        return frame.with_columns(pl.lit(None, pl.Int64).alias("population"))
    joined = participants(ds, year).join(pops, on="code_insee", how="left")
    summed = joined.group_by("action_id").agg(
        pl.when(pl.col("population").is_not_null().all())
        .then(pl.col("population").sum()).alias("population"))
    return frame.join(summed, on="action_id", how="left")


def by_action(ds: Dataset, year: int, pops: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per action deployed at D or with a row for ``year``: action_id, libelle,
    (forme_juridique when the data has it), renseigne, the figures, mode_financement,
    cle_repartition, population_couverte, cout_par_habitant; sorted by action_id."""
    rows = action_rows(ds).filter(pl.col("annee") == year).drop("annee")
    listed = pl.concat([_deployed(ds, year).select("action_id"), rows.select("action_id")]
                       ).unique()
    keep = ["action_id", "libelle"] + (["forme_juridique"] if "forme_juridique"
                                       in ds.actions.columns else [])
    frame = (ds.actions.select(keep).join(listed, on="action_id", how="semi")
             .join(rows, on="action_id", how="left")
             .with_columns(pl.col("action_id").is_in(rows["action_id"].implode())
                           .alias("renseigne")))
    covered = covered_population(ds, year, frame["action_id"].to_list(), pops)
    frame = frame.join(covered.rename({"population": "population_couverte"}), on="action_id",
                       how="left")
    return frame.select(
        *keep, "renseigne", *FIGURES, "mode_financement", "cle_repartition",
        "population_couverte",
        per_inhabitant(pl.col("cout_fonctionnement"), pl.col("population_couverte"))
        .alias("cout_par_habitant"),
    ).sort("action_id")


def _grouped(actions: pl.DataFrame, key: str, missing: str = NOT_GIVEN,
             order: pl.Expr | None = None) -> pl.DataFrame:
    """The actions with figures summed per value of ``key`` (``missing`` for an empty one),
    sorted by ``order`` (default: ``key``)."""
    given = actions.filter(pl.col("renseigne"))
    return (given.with_columns(pl.col(key).fill_null(missing))
            .group_by(key).agg(pl.len().cast(pl.Int64).alias("actions"), *_sums())
            .sort(pl.col(key) if order is None else order))


def by_mode(actions: pl.DataFrame) -> pl.DataFrame:
    """Per financing mode, over the actions with figures (:func:`by_action`):
    mode_financement, actions, the figures."""
    return _grouped(actions, "mode_financement")


def by_form(actions: pl.DataFrame) -> pl.DataFrame | None:
    """Per legal form, over the actions with figures, in the order of the legal forms'
    section (:func:`population.form_order`, « non renseignée » last); None when the data
    gives no legal form (no ``forme_juridique`` column, or one left empty)."""
    if ("forme_juridique" not in actions.columns
            or actions["forme_juridique"].is_not_null().sum() == 0):
        return None
    return _grouped(actions, "forme_juridique", population.NO_FORM, population.form_order())


def totals(actions: pl.DataFrame, pops: pl.DataFrame | None, ds: Dataset,
           year: int) -> dict[str, Any]:
    """The year's totals over the actions with figures (:func:`by_action`), plain values:
    actions_renseignees, actions_non_renseignees (deployed at D without a row), the figures,
    population_couverte (member communes taking part in an action with a cost) and
    cout_par_habitant (null when a population is missing)."""
    given = actions.filter(pl.col("renseigne"))
    sums = given.select(_sums()).row(0, named=True) if given.height else dict.fromkeys(FIGURES)
    costed = given.filter(pl.col("cout_fonctionnement").is_not_null())["action_id"].to_list()
    population = None
    if pops is not None and costed:
        communes = participants(ds, year).filter(pl.col("action_id").is_in(costed))
        covered = communes.select("code_insee").unique().join(pops, on="code_insee", how="left")
        if covered.height and covered["population"].null_count() == 0:
            population = int(covered["population"].sum())
    cost = sums["cout_fonctionnement"]
    per_head = None
    if cost is not None and population:
        per_head = pl.select(per_inhabitant(pl.lit(cost), pl.lit(population))).item()
    return {
        "actions_renseignees": given.height,
        "actions_non_renseignees": actions.filter(~pl.col("renseigne")).height,
        **sums,
        "population_couverte": population,
        "cout_par_habitant": per_head,
    }


def charges(ds: Dataset, year: int | None = None) -> pl.DataFrame:
    """What each commune is charged, per action: annee, code_insee, nom, action_id, libelle,
    cout_fonctionnement, etp, mode_financement, cle_repartition; every year, or only
    ``year``; sorted."""
    rows = commune_rows(ds)
    if year is not None:
        rows = rows.filter(pl.col("annee") == year)
    return (rows.join(ds.communes.select("code_insee", "nom"), on="code_insee", how="left")
            .join(ds.actions.select("action_id", "libelle"), on="action_id", how="left")
            .select("annee", "code_insee", "nom", "action_id", "libelle", "cout_fonctionnement",
                    "etp", "mode_financement", "cle_repartition")
            .sort("annee", "code_insee", "action_id"))


def charges_by_commune(ds: Dataset, year: int) -> pl.DataFrame:
    """Per commune charged in ``year``: code_insee, nom, actions (count), cout_fonctionnement
    (exact sum; null when no part has an amount)."""
    rows = charges(ds, year)
    return (rows.group_by("code_insee", "nom")
            .agg(pl.len().cast(pl.Int64).alias("actions"),
                 pl.when(pl.col("cout_fonctionnement").is_not_null().any())
                 .then(_unscaled(_scaled("cout_fonctionnement").sum())).alias("cout_fonctionnement"))
            .sort("code_insee"))


def series(ds: Dataset, years: list[int], pops_of: Any = None) -> pl.DataFrame:
    """One row per year: annee, actions_renseignees, actions_non_renseignees, the figures,
    cout_par_habitant; then the change of each figure since the year before
    (``evolution_<figure>``, null when either year is unknown). ``pops_of(year)`` gives
    a year's populations (default :func:`populations`)."""
    pops_of = pops_of or (lambda y: populations(ds, y))
    rows = []
    for year in years:
        pops = pops_of(year)
        figures = totals(by_action(ds, year, pops), pops, ds, year)
        rows.append({"annee": year, **{k: v for k, v in figures.items()
                                       if k != "population_couverte"}})
    schema = {"annee": pl.Int64, "actions_renseignees": pl.Int64,
              "actions_non_renseignees": pl.Int64, "etp": pl.Float64,
              "agents_transferes": pl.Int64, "cout_fonctionnement": pl.Float64,
              "economies": pl.Float64, "cout_par_habitant": pl.Float64}
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return frame.with_columns(
        (pl.col(c) - pl.col(c).shift(1)).round(2).alias(f"evolution_{c}") for c in FIGURES)


def commune_series(ds: Dataset, code_insee: str, years: list[int]) -> pl.DataFrame:
    """What one commune is charged each year (annee, cout_fonctionnement, actions): every
    year of ``years``, null cost when it has no part that year."""
    rows = charges(ds).filter(pl.col("code_insee") == code_insee)
    summed = rows.group_by("annee").agg(
        pl.len().cast(pl.Int64).alias("actions"),
        pl.when(pl.col("cout_fonctionnement").is_not_null().any())
        .then(_unscaled(_scaled("cout_fonctionnement").sum())).alias("cout_fonctionnement"))
    frame = pl.DataFrame({"annee": years}, schema={"annee": pl.Int64})
    return (frame.join(summed, on="annee", how="left")
            .with_columns(pl.col("actions").fill_null(0))
            .select("annee", "cout_fonctionnement", "actions").sort("annee"))


def indicators(ds: Dataset, year: int) -> dict[str, Any]:
    """The ``moyens`` object of ``indicators.json`` (README, « indicators.json »)."""
    pops = populations(ds, year)
    actions = by_action(ds, year, pops)
    figures = totals(actions, pops, ds, year)
    modes = by_mode(actions)
    return {
        **figures,
        "par_mode_financement": {
            row["mode_financement"]: {k: row[k] for k in ("actions", *FIGURES)}
            for row in modes.iter_rows(named=True)
        },
    }


@dataclass(frozen=True)
class Moyens:
    """Everything the bilan shows of the ``moyens`` table for one year."""

    year: int
    #: :func:`by_action` of the year.
    actions: pl.DataFrame
    #: :func:`by_mode` and :func:`by_form` (None without legal forms) of the year.
    modes: pl.DataFrame
    forms: pl.DataFrame | None
    #: :func:`charges` of the year (one row per commune and action).
    charges: pl.DataFrame
    #: :func:`series` from the first year of the data to the bilan's.
    series: pl.DataFrame
    #: The ``moyens`` object of indicators.json.
    indicators: dict[str, Any]

    @property
    def first_year_with_figures(self) -> int | None:
        """The first year some action has figures, or None."""
        given = self.series.filter(pl.col("actions_renseignees") > 0)
        return None if given.is_empty() else int(given["annee"][0])


def build(ds: Dataset, year: int, years: list[int]) -> Moyens | None:
    """The :class:`Moyens` of ``year`` (None when the data has no ``moyens`` table)."""
    if ds.moyens is None:
        return None
    pops = populations(ds, year)
    actions = by_action(ds, year, pops)
    return Moyens(year, actions, by_mode(actions), by_form(actions), charges(ds, year),
                  series(ds, years), indicators(ds, year))
