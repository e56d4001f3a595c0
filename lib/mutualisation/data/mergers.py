"""Commune mergers (DESIGN.md, "Definitions"): what a commune nouvelle takes over.

When a commune leaves with a ``code_successeur``, its participations still active on its
``date_sortie`` carry over to the successor from that date, unless the successor already
takes part in that action then. Mergers are applied in date order, so that a commune
nouvelle that itself merges later passes on what it took over.

Data layer only (Polars): the indicators (:mod:`mutualisation.compute.indicators`) count
the participations of :func:`with_mergers`; ``mutualisation check`` tells what
:func:`carried_over` found (:func:`mutualisation.data.validate.describe`).
"""

from __future__ import annotations

import polars as pl

_COLUMNS = ("code_insee", "action_id", "date_debut", "date_fin")


def mergers(communes: pl.DataFrame) -> pl.DataFrame:
    """The communes that left by a merger: code_insee, nom, date_sortie, code_successeur,
    nom_successeur; sorted by date_sortie, code_insee."""
    names = communes.select("code_insee", pl.col("nom").alias("nom_successeur"))
    return (
        communes.filter(pl.col("code_successeur").is_not_null()
                        & pl.col("date_sortie").is_not_null())
        .select("code_insee", "nom", "date_sortie", "code_successeur")
        .join(names, left_on="code_successeur", right_on="code_insee", how="left")
        .sort("date_sortie", "code_insee")
    )


def _active_on(day: pl.Expr) -> pl.Expr:
    end = pl.col("date_fin")
    return (pl.col("date_debut") <= day) & (end.is_null() | (end > day))


def carried_over(communes: pl.DataFrame, participations: pl.DataFrame) -> pl.DataFrame:
    """Every participation of an absorbed commune active on its merger date.

    Columns: code_origine (the absorbed commune), code_insee (its successor), action_id,
    date_debut (the merger date), date_fin (that of the original participation), reprise
    (False when the successor already took part in the action on that date: nothing is
    carried over). Sorted by date_debut, code_insee, action_id, code_origine.
    """
    schema = {"code_origine": pl.String, "code_insee": pl.String, "action_id": pl.String,
              "date_debut": pl.Date, "date_fin": pl.Date, "reprise": pl.Boolean}
    merged = mergers(communes)
    found = [pl.DataFrame(schema=schema)]
    if merged.is_empty():
        return found[0]
    current = participations.select(_COLUMNS)
    for day in sorted(set(merged["date_sortie"].to_list())):
        moves = merged.filter(pl.col("date_sortie") == day).select(
            pl.col("code_insee").alias("code_origine"), "code_successeur")
        active = current.filter(_active_on(pl.lit(day)))
        already = active.select("code_insee", "action_id").unique().with_columns(
            pl.lit(False).alias("reprise"))
        rows = (
            active.join(moves, left_on="code_insee", right_on="code_origine")
            .select(
                pl.col("code_insee").alias("code_origine"),
                pl.col("code_successeur").alias("code_insee"),
                "action_id",
                pl.lit(day).alias("date_debut"),
                "date_fin",
            )
            .join(already, on=["code_insee", "action_id"], how="left")
            .with_columns(pl.col("reprise").fill_null(True))
            .select(list(schema))
            .cast(schema)
        )
        found.append(rows)
        current = pl.concat([current, _one_per_pair(rows)])
    return pl.concat(found).sort("date_debut", "code_insee", "action_id", "code_origine")


def _one_per_pair(rows: pl.DataFrame) -> pl.DataFrame:
    """The carried-over participations, one per successor, action and date (the longest)."""
    return (
        rows.filter(pl.col("reprise"))
        .group_by("code_insee", "action_id", "date_debut")
        .agg(pl.when(pl.col("date_fin").is_null().any()).then(None)
             .otherwise(pl.col("date_fin").max()).first().alias("date_fin"))
        .select(_COLUMNS)
    )


def with_mergers(communes: pl.DataFrame, participations: pl.DataFrame) -> pl.DataFrame:
    """``participations`` (code_insee, action_id, date_debut, date_fin) plus those carried
    over to communes nouvelles (:func:`carried_over`); unchanged without a merger."""
    own = participations.select(_COLUMNS)
    carried = carried_over(communes, participations)
    if carried.is_empty():
        return own
    return pl.concat([own, _one_per_pair(carried)]).sort(_COLUMNS, nulls_last=True)


__all__ = ["carried_over", "mergers", "with_mergers"]
