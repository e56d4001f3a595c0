"""Size classes of communes by population: the peers a commune is compared with."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from mutualisation.formatting import fr_int

#: Population bounds of the size classes of the bilan and the sheets.
SIZE_BOUNDS: tuple[int, ...] = (2_000, 5_000, 20_000)

#: Label of communes without a population.
UNKNOWN_SIZE = "population inconnue"


def size_classes(bounds: Sequence[int] = SIZE_BOUNDS) -> list[str]:
    """French labels of the population classes, smallest first.

    With the default bounds: "moins de 2 000 hab.", "2 000 à 5 000 hab.",
    "5 000 à 20 000 hab.", "20 000 hab. et plus" (numbers written by
    :func:`~mutualisation.formatting.fr_int`).
    """
    labels = [f"moins de {fr_int(bounds[0])} hab."]
    labels += [
        f"{fr_int(lo)} à {fr_int(hi)} hab." for lo, hi in zip(bounds, bounds[1:], strict=False)
    ]
    labels.append(f"{fr_int(bounds[-1])} hab. et plus")
    return labels


def size_class(population: pl.Expr, bounds: Sequence[int] = SIZE_BOUNDS) -> pl.Expr:
    """The size class of :func:`size_classes` of each population (lower bound included).

    A null population gives "population inconnue".
    """
    labels = size_classes(bounds)
    expr = pl.when(population.is_null()).then(pl.lit(UNKNOWN_SIZE))
    for bound, label in zip(bounds, labels, strict=False):
        expr = expr.when(population < bound).then(pl.lit(label))
    return expr.otherwise(pl.lit(labels[-1]))


