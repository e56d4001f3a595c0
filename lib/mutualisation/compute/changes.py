"""What changed between two versions of a data set, by key, field by field (``mutualisation
diff``, and the explanation of a revised figure).

Rows are matched by what they are, never by their place in the file: a commune by its
``code_insee``, an action by its ``action_id``, a year's population or means by their
codes and year. A participation has no key of its own: it is a period of a commune in an
action, and periods of a pair never overlap. Its rows are matched first on
(``code_insee``, ``action_id``, ``date_debut``); the periods of a pair left unmatched on
either side are then paired in date order, so that a corrected start date is one change
of ``date_debut``, not a period removed and another added; what is still left is added or
removed. Values are compared as the validated data holds them (typed, trimmed, codes
normalised), so re-sorted, re-encoded or re-saved files with the same content show no
change.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from mutualisation.data.read import LINE
from mutualisation.data.snapshot import LocatedTable

#: The key of each table's rows (a table not listed: the whole row).
KEYS: dict[str, tuple[str, ...]] = {
    "communes": ("code_insee",),
    "actions": ("action_id",),
    "participations": ("code_insee", "action_id"),
    "populations": ("code_insee", "annee"),
    "moyens": ("action_id", "annee", "code_insee"),
}

#: A column matched exactly before the rows of a key are paired in its order.
ANCHORS: dict[str, str] = {"participations": "date_debut"}

#: The kinds of change, as the log names them.
ADDED, REMOVED, CHANGED = "ajout", "suppression", "modification"

#: Columns of the change log (:attr:`Changes.log`).
LOG_SCHEMA: dict[str, pl.DataType] = {
    "table": pl.String(),
    "nature": pl.String(),
    "cle": pl.List(pl.String()),
    "ligne": pl.Int64(),
    "ligne_avant": pl.Int64(),
    "champ": pl.String(),
    "avant": pl.String(),
    "apres": pl.String(),
    "valeurs": pl.List(pl.String()),
}

_OLD, _N = "__avant", "__rang"


def _text(frame: pl.DataFrame) -> pl.DataFrame:
    """Every column but the line as text (dates ``AAAA-MM-JJ``): values compare as written."""
    return frame.with_columns(pl.col(c).cast(pl.String) for c in frame.columns if c != LINE)


def _ranked(frame: pl.DataFrame, by: list[str], order: list[str]) -> pl.DataFrame:
    """``frame`` with the rank of each row among the rows sharing ``by``, in ``order``."""
    ranked = frame.sort(order, nulls_last=False, maintain_order=True)
    if not by:
        return ranked.with_row_index(_N).with_columns(pl.col(_N).cast(pl.Int64))
    return ranked.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).over(by).alias(_N))


def _pair(old: pl.DataFrame, new: pl.DataFrame, on: list[str], order: list[str],
          ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Rows matched on ``on`` (rank within it, in ``order``, for repeated keys): the pairs
    (old columns suffixed ``__avant``), and the rows of each side left alone."""
    left, right = _ranked(old, on, order), _ranked(new, on, order)
    keys = [*on, _N]
    pairs = right.join(left, on=keys, how="inner", suffix=_OLD, nulls_equal=True).with_columns(
        pl.col(c).alias(f"{c}{_OLD}") for c in on)
    alone_old = left.join(right, on=keys, how="anti", nulls_equal=True).drop(_N)
    alone_new = right.join(left, on=keys, how="anti", nulls_equal=True).drop(_N)
    return pairs.drop(_N), alone_old, alone_new


def _key_list(key: list[str]) -> pl.Expr:
    if not key:
        return pl.lit([], pl.List(pl.String))
    return pl.concat_list(pl.col(c).fill_null("") for c in key)


def _rows(frame: pl.DataFrame, table: str, nature: str, key: list[str],
          line: str) -> pl.DataFrame:
    """Added or removed rows as log entries."""
    values = [c for c in frame.columns if c != LINE and c not in key]
    return frame.select(
        pl.lit(table).alias("table"), pl.lit(nature).alias("nature"),
        _key_list(key).alias("cle"),
        (pl.col(LINE) if line == "ligne" else pl.lit(None, pl.Int64)).alias("ligne"),
        (pl.col(LINE) if line == "ligne_avant" else pl.lit(None, pl.Int64)).alias("ligne_avant"),
        pl.lit(None, pl.String).alias("champ"), pl.lit(None, pl.String).alias("avant"),
        pl.lit(None, pl.String).alias("apres"),
        # The row's other values, as « champ valeur » (empty ones left out).
        (pl.concat_list(pl.lit(f"{c} ") + pl.col(c) for c in values).list.drop_nulls()
         if values else pl.lit([], pl.List(pl.String))).alias("valeurs"),
    )


def _fields(pairs: pl.DataFrame, table: str, key: list[str], columns: list[str]) -> pl.DataFrame:
    """One entry per field that differs in a matched pair."""
    parts = [
        pairs.filter(pl.col(f"{c}{_OLD}").ne_missing(pl.col(c))).select(
            pl.lit(table).alias("table"), pl.lit(CHANGED).alias("nature"),
            _key_list(key).alias("cle"), pl.col(LINE).alias("ligne"),
            pl.col(f"{LINE}{_OLD}").alias("ligne_avant"), pl.lit(c).alias("champ"),
            pl.col(f"{c}{_OLD}").alias("avant"), pl.col(c).alias("apres"),
            pl.lit([], pl.List(pl.String)).alias("valeurs"),
        )
        for c in columns
    ]
    return pl.concat(parts) if parts else pl.DataFrame(schema=LOG_SCHEMA)


def compare_table(table: str, old: pl.DataFrame, new: pl.DataFrame) -> pl.DataFrame:
    """The change log of one table between ``old`` and ``new`` (validated frames with a
    ``LINE`` column); columns :data:`LOG_SCHEMA`, sorted by line."""
    old, new = _text(old), _text(new)
    common = [c for c in new.columns if c in old.columns and c != LINE]
    # A column only one side has (an extra column added or dropped) is not compared.
    old, new = old.select(*common, LINE), new.select(*common, LINE)
    key = [c for c in KEYS.get(table, tuple(common)) if c in common]
    anchor = ANCHORS.get(table)
    order = [*key, *([anchor] if anchor in common else []),
             *(c for c in common if c not in key and c != anchor)]
    first = [*key, anchor] if anchor in common else key
    pairs, alone_old, alone_new = _pair(old, new, first, order)
    if anchor in common:  # periods of a pair left over on both sides: paired in date order
        more, alone_old, alone_new = _pair(alone_old, alone_new, key, order)
        pairs = pl.concat([pairs, more], how="diagonal")
    values = [c for c in common if c not in key]
    log = pl.concat([
        _rows(alone_new, table, ADDED, key, "ligne"),
        _rows(alone_old, table, REMOVED, key, "ligne_avant"),
        _fields(pairs, table, key, values),
    ]).cast(LOG_SCHEMA)
    return log.with_columns(pl.col("cle").list.join("\x1f").alias("__k")).sort(
        pl.coalesce("ligne", "ligne_avant"), "__k", "champ", nulls_last=True,
        maintain_order=True).drop("__k")


@dataclass(frozen=True)
class Changes:
    """The change log between two versions of a data set."""

    #: One row per added or removed row, and per changed field of a matched row
    #: (columns :data:`LOG_SCHEMA`), table by table in :attr:`tables` order.
    log: pl.DataFrame
    #: The tables compared, in order.
    tables: tuple[str, ...]
    #: How messages name each table's file, current version then earlier one.
    labels: dict[str, tuple[str, str]]
    #: Commune names by code, to show (the current name when both sides have one).
    names: dict[str, str]

    @property
    def empty(self) -> bool:
        """True when nothing changed."""
        return self.log.height == 0

    def of_table(self, table: str) -> pl.DataFrame:
        """The entries of one table."""
        return self.log.filter(pl.col("table") == table)


def _names(tables: dict[str, LocatedTable], column: str, key: str, label: str) -> dict[str, str]:
    located = tables.get(column)
    if located is None or label not in located.frame.columns:
        return {}
    return dict(located.frame.select(key, label).iter_rows())


def compare(old: dict[str, LocatedTable], new: dict[str, LocatedTable]) -> Changes:
    """The change log from the tables ``old`` to the tables ``new``
    (:func:`mutualisation.data.snapshot.located_tables`).

    A table only one side has is compared with an empty table (all its rows added or
    removed).
    """
    known = list(KEYS)
    tables = tuple(sorted(set(old) | set(new),
                          key=lambda t: (known.index(t) if t in known else len(known), t)))
    logs, labels = [], {}
    for table in tables:
        before, after = old.get(table), new.get(table)
        template = (after or before).frame.clear()
        logs.append(compare_table(table, before.frame if before else template,
                                  after.frame if after else template))
        labels[table] = ((after or before).label, (before or after).label)
    names = {**_names(old, "communes", "code_insee", "nom"),
             **_names(new, "communes", "code_insee", "nom")}
    log = pl.concat(logs) if logs else pl.DataFrame(schema=LOG_SCHEMA)
    return Changes(log, tables, labels, names)
