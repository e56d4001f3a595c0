"""Reach by population, legal forms and abandoned actions (DESIGN.md, "Definitions").

- The **population** of a commune for year Y is its ``populations`` value for Y, else for the
  latest earlier year, else the ``population`` column of ``communes``
  (:func:`population_for_year`, the one place this rule lives).
- A **population share** divides the population of the communes counted by that of the member
  communes, rounded like every other share (:func:`~mutualisation.compute.indicators.
  rounded_ratio`, 4 decimals). It is never computed on missing values: when a member commune
  has no population for the year, no population figure is given at all (:func:`known`).
- Actions are grouped by ``forme_juridique`` (« non renseignée » when empty).

The figures of :func:`year_reach` are added to ``indicators.json`` only when the data gives
what they need, so that a data folder without populations, legal forms or abandon dates
writes the same ``indicators.json`` as before these figures existed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import polars as pl

from mutualisation.compute import indicators
from mutualisation.data.model import Dataset
from mutualisation.data.parameters import DEFAULT_THRESHOLDS
from mutualisation.data.vocabulary import FORMES_JURIDIQUES

#: Label of actions whose ``forme_juridique`` is empty.
NO_FORM = "non renseignée"


def population_for_year(dataset: Dataset, year: int) -> pl.DataFrame:
    """The population of every commune of ``communes`` for ``year``, sorted by code_insee.

    Columns: code_insee, population (Int64, null when unknown), annee_population (the year of
    the ``populations`` row used: ``year`` or the latest earlier one; null when the value
    comes from the ``population`` column of ``communes``, or is unknown).
    """
    communes = dataset.communes.select("code_insee", pl.col("population").cast(pl.Int64))
    if dataset.populations is None or dataset.populations.is_empty():
        return communes.with_columns(pl.lit(None, pl.Int64).alias("annee_population"))
    latest = (
        dataset.populations.filter(pl.col("annee") <= year)
        .sort("annee")
        .group_by("code_insee")
        .agg(pl.col("population").last().alias("__pop"),
             pl.col("annee").last().alias("annee_population"))
    )
    return (
        communes.join(latest, on="code_insee", how="left")
        .select("code_insee",
                pl.coalesce("__pop", "population").alias("population"),
                "annee_population")
        .sort("code_insee")
    )


def with_population_of_year(frame: pl.DataFrame, dataset: Dataset, year: int) -> pl.DataFrame:
    """``frame`` (with code_insee and population columns, in its order) whose population is
    that of ``year`` (:func:`population_for_year`): the one rule for every table that shows a
    commune's population or size class. Unchanged when the data has no populations table."""
    if dataset.populations is None:
        return frame
    of_year = population_for_year(dataset, year).select(
        "code_insee", pl.col("population").alias("__population"))
    return (frame.join(of_year, on="code_insee", how="left", maintain_order="left")
            .with_columns(pl.col("__population").cast(frame.schema["population"])
                          .alias("population"))
            .drop("__population"))


def member_populations(dataset: Dataset, year: int) -> pl.DataFrame:
    """:func:`population_for_year` of the communes that are members at D of ``year``."""
    members = indicators.member_communes(dataset, year).select("code_insee")
    return members.join(population_for_year(dataset, year), on="code_insee", how="left")


def known(members: pl.DataFrame) -> bool:
    """Whether population figures can be given: at least one member, all with a population."""
    return members.height > 0 and members["population"].null_count() == 0


def vintage(members: pl.DataFrame) -> tuple[list[int], int]:
    """Which populations were used: the years of the ``populations`` rows (sorted) and how
    many communes took the ``population`` column of ``communes`` instead."""
    with_population = members.filter(pl.col("population").is_not_null())
    years = with_population["annee_population"].drop_nulls().unique().sort().to_list()
    return years, with_population["annee_population"].null_count()


def share(num: int, den: int) -> float:
    """``num / den`` rounded like every share (4 decimals, half up; 0.0 when ``den`` is 0)."""
    return float(pl.select(indicators.rounded_ratio(pl.lit(num), pl.lit(den), 4)).item())


def forms_given(dataset: Dataset) -> bool:
    """Whether any action of the data has a legal form."""
    return dataset.actions["forme_juridique"].null_count() < dataset.actions.height


def abandons_given(dataset: Dataset) -> bool:
    """Whether any action of the data has an abandon date."""
    return dataset.actions["date_abandon"].null_count() < dataset.actions.height


def reach_by_action(dataset: Dataset, year: int) -> pl.DataFrame:
    """For each action inscribed at D: action_id, population (of the member communes with an
    active participation), part_population (of the members' population). Empty when the
    population figures can't be given (:func:`known`)."""
    members = member_populations(dataset, year)
    schema = {"action_id": pl.String, "population": pl.Int64, "part_population": pl.Float64}
    if not known(members):
        return pl.DataFrame(schema=schema)
    total = int(members["population"].sum())
    covered = (
        indicators.active_pairs(dataset, year)
        .join(members, on="code_insee")
        .group_by("action_id")
        .agg(pl.col("population").sum().cast(pl.Int64))
    )
    return (
        indicators.actions_status(dataset, year).select("action_id")
        .join(covered, on="action_id", how="left")
        .with_columns(pl.col("population").fill_null(0))
        .with_columns(indicators.rounded_ratio(pl.col("population"), pl.lit(total), 4)
                      .alias("part_population"))
        .sort("action_id")
    )


def form_order(column: str = "forme_juridique") -> pl.Expr:
    """The rank of a legal form (``column``, nulls given as :data:`NO_FORM`) to sort by: the
    order of the vocabulary (services first, « autre » last), then the actions without a
    form — the one order of every table, chart and object grouped by legal form."""
    return pl.col(column).replace_strict(
        [*FORMES_JURIDIQUES, NO_FORM], list(range(len(FORMES_JURIDIQUES) + 1)),
        return_dtype=pl.Int64)


def by_form(dataset: Dataset, year: int) -> pl.DataFrame:
    """Per legal form of the actions inscribed at D, in the order of
    :data:`~mutualisation.data.vocabulary.FORMES_JURIDIQUES` (« non renseignée » last):
    actions_inscrites, actions_deployees, communes (member communes with an active
    participation in one of its actions), population (of those communes; null when the
    population figures can't be given)."""
    members = member_populations(dataset, year)
    status = indicators.actions_status(dataset, year).join(
        dataset.actions.select("action_id", "forme_juridique"), on="action_id")
    form = pl.col("forme_juridique").fill_null(NO_FORM)
    status = status.with_columns(form)
    counts = status.group_by("forme_juridique").agg(
        pl.len().cast(pl.Int64).alias("actions_inscrites"),
        pl.col("deployee").sum().cast(pl.Int64).alias("actions_deployees"),
    )
    communes = (
        indicators.active_pairs(dataset, year)
        .join(status.select("action_id", "forme_juridique"), on="action_id")
        .select("forme_juridique", "code_insee").unique()
        .join(members, on="code_insee", how="left")
        .group_by("forme_juridique")
        .agg(pl.len().cast(pl.Int64).alias("communes"),
             pl.col("population").sum().cast(pl.Int64).alias("population"))
    )
    out = (
        counts.join(communes, on="forme_juridique", how="left")
        .with_columns(pl.col("communes").fill_null(0), pl.col("population").fill_null(0))
        .sort(form_order())
    )
    if not known(members):
        out = out.with_columns(pl.lit(None, pl.Int64).alias("population"))
    return out


def abandoned_in(dataset: Dataset, year: int) -> pl.DataFrame:
    """Actions whose ``date_abandon`` falls in ``year``: action_id, libelle, date_abandon,
    sorted by date then action_id."""
    return (
        dataset.actions.filter(pl.col("date_abandon").dt.year() == year)
        .select("action_id", "libelle", "date_abandon")
        .sort("date_abandon", "action_id")
    )


def year_reach(dataset: Dataset, year: int,
               thresholds: Iterable[int] = DEFAULT_THRESHOLDS) -> dict[str, Any]:
    """The keys ``indicators.json`` gains from populations, legal forms and abandon dates.

    - population_membres (int), population_communes_participantes {str(k): int},
      part_population_communes_participantes {str(k): float, 4 decimals}: only when every
      member commune has a population for the year;
    - actions_par_forme_juridique {forme: {actions_inscrites, actions_deployees, communes,
      population (only with the population figures)}}: only when an action has a legal form;
    - actions_abandonnees_annee (sorted ids): only when an action has an abandon date.
    """
    out: dict[str, Any] = {}
    members = member_populations(dataset, year)
    if known(members):
        total = int(members["population"].sum())
        per_commune = indicators.actions_per_commune(dataset, year).select(
            "code_insee", "nb_actions").join(members, on="code_insee")
        reached = {str(k): int(per_commune.filter(pl.col("nb_actions") >= k)["population"].sum())
                   for k in sorted(set(thresholds))}
        out["population_membres"] = total
        out["population_communes_participantes"] = reached
        out["part_population_communes_participantes"] = {
            k: share(v, total) for k, v in reached.items()}
    if forms_given(dataset):
        forms = by_form(dataset, year)
        out["actions_par_forme_juridique"] = {
            row["forme_juridique"]: {
                key: row[key] for key in ("actions_inscrites", "actions_deployees", "communes",
                                          "population")
                if key != "population" or known(members)}
            for row in forms.iter_rows(named=True)}
    if abandons_given(dataset):
        out["actions_abandonnees_annee"] = abandoned_in(dataset, year)["action_id"].sort().to_list()
    return out
