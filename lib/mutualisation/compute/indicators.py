"""Yearly indicators of the schéma de mutualisation.

Every figure is taken at the reference date D = 31 December of the year,
inclusive, following the "Definitions" of DESIGN.md:

- a commune is a *member* at D when ``date_adhesion <= D`` and
  (``date_sortie`` is null or ``date_sortie > D``);
- an action is *inscribed* at D when ``date_inscription <= D`` and *deployed*
  at D when ``date_deploiement`` is not null and ``<= D``; it is *deployed
  during* the year when ``date_deploiement`` falls in that year;
- a participation is *active* at D when ``date_debut <= D`` and (``date_fin``
  is null or ``date_fin > D``);
- an action with a ``date_abandon`` on or before D is neither inscribed nor deployed at D
  (the expressions of these rules are in :mod:`mutualisation.data.model`, one place for all);
- the *number of actions* of a member commune counts the distinct actions
  deployed at D in which it has an active participation;
- *mergers*: when a commune leaves with a ``code_successeur``, its participations
  still active on its ``date_sortie`` carry over to the successor from that date,
  unless the successor already takes part in that action
  (:func:`mutualisation.data.mergers.with_mergers`). The member count can then fall
  with nobody leaving the intercommunality.

The work is done once for any number of years: the tables are cross-joined
with a frame of years (see :func:`_prepare`), so that :func:`series` and the
single-year functions share the same code path.

Column names of the returned frames are French snake_case: they end up in the
CSV tables of the report. Rows are always sorted, so the output is
deterministic. Ratios are rounded half up on the exact fraction (integer
arithmetic), so they never depend on floating-point noise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from numbers import Integral
from typing import Any

import polars as pl

from mutualisation.data.mergers import with_mergers
from mutualisation.data.model import (
    Dataset,
    is_active,
    is_deployed,
    is_inscribed,
    is_member,
    reference_date,
)
from mutualisation.data.parameters import DEFAULT_THRESHOLDS

#: Label of actions whose ``domaine`` is empty.
NO_DOMAIN = "non renseigné"

#: Values of the ``mouvement`` column of :func:`membership_changes`.
JOINED = "adhésion"
LEFT = "sortie"
#: A commune that left by merging into a commune nouvelle (it has a ``code_successeur``).
MERGED = "fusion"

_YEAR = "annee"
_REF = "date_reference"
_PAIR = [_YEAR, "code_insee", "action_id"]


# --------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    """True for integers (numpy ones included), False for booleans and the rest."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def _check_year(year: object) -> int:
    """Return ``year`` as an int, or raise ValueError when it is not a valid year."""
    if not _is_int(year):
        raise ValueError(f"year must be an integer, got {year!r}")
    reference_date(int(year))  # raises ValueError outside the calendar
    return int(year)


def _check_years(years: Iterable[int]) -> list[int]:
    """Return the distinct years, sorted, or raise ValueError on a bad one."""
    if isinstance(years, str | bytes) or not isinstance(years, Iterable):
        raise ValueError(f"years must be a sequence of integers, got {years!r}")
    return sorted({_check_year(year) for year in years})


def _check_thresholds(thresholds: Iterable[int]) -> list[int]:
    """Return the distinct thresholds, sorted, or raise ValueError.

    Thresholds must be a non-empty sequence of positive integers.
    """
    if isinstance(thresholds, str | bytes) or not isinstance(thresholds, Iterable):
        raise ValueError(f"thresholds must be a sequence of positive integers, got {thresholds!r}")
    values = list(thresholds)
    if not values:
        raise ValueError("thresholds must contain at least one positive integer")
    bad = [k for k in values if not _is_int(k) or k < 1]
    if bad:
        raise ValueError(f"thresholds must be positive integers (such as 1, 2, 5), got {bad[0]!r}")
    return sorted({int(k) for k in values})


# --------------------------------------------------------------------------
# Definitions as expressions: is_member, is_inscribed, is_deployed and is_active are those of
# :mod:`mutualisation.data.model` (the data layer checks with them too), imported above and
# importable from here.
# --------------------------------------------------------------------------


def _in_year(column: str, year: pl.Expr) -> pl.Expr:
    """The date ``column`` falls in ``year`` (False when the date is null)."""
    return (pl.col(column).dt.year().cast(pl.Int64) == year).fill_null(False)


def rounded_ratio(num: pl.Expr, den: pl.Expr, decimals: int,
                  empty: float | None = 0.0) -> pl.Expr:
    """``num / den`` rounded half up to ``decimals`` places, exactly; ``empty`` when ``den``
    is 0.

    Both operands are non-negative integers: the rounding is done in integer
    arithmetic, then the result is the float closest to the rounded decimal (the
    final ``round`` removes the error of Polars' division by a constant, which
    would give 0.33330000000000004 for 3333 / 10000).
    """
    scale = 10**decimals
    num, den = num.cast(pl.Int64), den.cast(pl.Int64)
    scaled = (num * (2 * scale) + den) // (2 * den)
    ratio = (scaled / scale).round(decimals)
    return pl.when(den > 0).then(ratio).otherwise(pl.lit(empty)).cast(pl.Float64)


# --------------------------------------------------------------------------
# Shared intermediate frames, for any number of years at once
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Frames:
    """Intermediate frames for a set of years, each keyed by ``annee`` and sorted.

    - ``years``: annee, date_reference;
    - ``members``: annee, code_insee (member communes at D);
    - ``actions``: annee, action_id, domaine, deployee, deployee_annee (inscribed at D);
    - ``pairs``: annee, code_insee, action_id, deployee — distinct (commune, action)
      pairs with an active participation at D, member communes and inscribed
      actions only;
    - ``counts``: annee, code_insee, nb_actions — every member commune, 0 allowed.
    """

    years: pl.DataFrame
    members: pl.DataFrame
    actions: pl.DataFrame
    pairs: pl.DataFrame
    counts: pl.DataFrame


def _years_frame(years: list[int]) -> pl.LazyFrame:
    """One row per year: annee (Int64) and its reference date D."""
    return pl.LazyFrame({_YEAR: years}, schema={_YEAR: pl.Int64}).with_columns(
        pl.date(pl.col(_YEAR), 12, 31).alias(_REF)
    )


def _members_by_year(ds: Dataset, years: pl.LazyFrame) -> pl.LazyFrame:
    """Member communes at D of every year: annee, code_insee."""
    return (
        ds.communes.lazy()
        .select("code_insee", "date_adhesion", "date_sortie")
        .join(years, how="cross")
        .filter(is_member(pl.col(_REF)))
        .select(_YEAR, "code_insee")
    )


def _actions_by_year(ds: Dataset, years: pl.LazyFrame) -> pl.LazyFrame:
    """Actions inscribed at D of every year, with their deployment status."""
    ref = pl.col(_REF)
    return (
        ds.actions.lazy()
        .select("action_id", "domaine", "date_inscription", "date_deploiement", "date_abandon")
        .join(years, how="cross")
        .filter(is_inscribed(ref))
        .select(
            _YEAR,
            "action_id",
            "domaine",
            is_deployed(ref).alias("deployee"),
            _in_year("date_deploiement", pl.col(_YEAR)).alias("deployee_annee"),
        )
    )


def _pairs_by_year(
    ds: Dataset, years: pl.LazyFrame, members: pl.LazyFrame, actions: pl.LazyFrame
) -> pl.LazyFrame:
    """Distinct active (member commune, inscribed action) pairs at D of every year."""
    return (
        with_mergers(ds.communes, ds.participations).lazy()
        .join(years, how="cross")
        .filter(is_active(pl.col(_REF)))
        .select(_PAIR)
        .unique()
        .join(members, on=[_YEAR, "code_insee"], how="semi")
        .join(actions.select(_YEAR, "action_id", "deployee"), on=[_YEAR, "action_id"])
    )


def _counts_by_year(members: pl.LazyFrame, pairs: pl.LazyFrame) -> pl.LazyFrame:
    """Number of actions of every member commune at D of every year (0 allowed)."""
    counted = (
        pairs.filter(pl.col("deployee"))
        .group_by(_YEAR, "code_insee")
        .agg(pl.len().cast(pl.Int64).alias("nb_actions"))
    )
    return members.join(counted, on=[_YEAR, "code_insee"], how="left").with_columns(
        pl.col("nb_actions").fill_null(0)
    )


def _prepare(ds: Dataset, years: list[int]) -> _Frames:
    """Compute the shared intermediate frames for ``years`` (already checked)."""
    years_lf = _years_frame(years)
    members = _members_by_year(ds, years_lf)
    actions = _actions_by_year(ds, years_lf)
    pairs = _pairs_by_year(ds, years_lf, members, actions)
    counts = _counts_by_year(members, pairs)
    collected = pl.collect_all(
        [
            years_lf.sort(_YEAR),
            members.sort(_YEAR, "code_insee"),
            actions.sort(_YEAR, "action_id"),
            pairs.sort(_PAIR),
            counts.sort(_YEAR, "code_insee"),
        ]
    )
    return _Frames(*collected)


def _prepare_year(ds: Dataset, year: int) -> _Frames:
    """:func:`_prepare` for a single year, after checking it."""
    return _prepare(ds, [_check_year(year)])


# --------------------------------------------------------------------------
# Aggregations on the intermediate frames
# --------------------------------------------------------------------------


def _count_by_year(
    frame: pl.DataFrame, name: str, condition: pl.Expr | None = None
) -> pl.LazyFrame:
    """Number of rows of ``frame`` per year (optionally those meeting ``condition``)."""
    lf = frame.lazy()
    if condition is not None:
        lf = lf.filter(condition)
    return lf.group_by(_YEAR).agg(pl.len().cast(pl.Int64).alias(name))


def _totals(frames: _Frames) -> pl.DataFrame:
    """Per-year totals: annee, communes_membres, actions_inscrites, actions_deployees,
    actions_deployees_annee (count), participations_actives — every year, 0 allowed."""
    parts = [
        _count_by_year(frames.members, "communes_membres"),
        _count_by_year(frames.actions, "actions_inscrites"),
        _count_by_year(frames.actions, "actions_deployees", pl.col("deployee")),
        _count_by_year(frames.actions, "actions_deployees_annee", pl.col("deployee_annee")),
        _count_by_year(frames.pairs, "participations_actives", pl.col("deployee")),
    ]
    totals = frames.years.lazy().select(_YEAR)
    for part in parts:
        totals = totals.join(part, on=_YEAR, how="left")
    return totals.fill_null(0).sort(_YEAR).collect()


def _thresholds_long(frames: _Frames, thresholds: list[int]) -> pl.DataFrame:
    """annee, seuil, communes (members with nb_actions >= seuil), part — every year."""
    seuils = pl.LazyFrame({"seuil": thresholds}, schema={"seuil": pl.Int64})
    reached = (
        frames.counts.lazy()
        .join(seuils, how="cross")
        .group_by(_YEAR, "seuil")
        .agg((pl.col("nb_actions") >= pl.col("seuil")).sum().cast(pl.Int64).alias("communes"))
    )
    members = _count_by_year(frames.members, "communes_membres")
    return (
        frames.years.lazy()
        .select(_YEAR)
        .join(seuils, how="cross")
        .join(reached, on=[_YEAR, "seuil"], how="left")
        .join(members, on=_YEAR, how="left")
        .with_columns(pl.col("communes", "communes_membres").fill_null(0))
        .select(
            _YEAR,
            "seuil",
            "communes",
            rounded_ratio(pl.col("communes"), pl.col("communes_membres"), 4).alias("part"),
        )
        .sort(_YEAR, "seuil")
        .collect()
    )


def _series(frames: _Frames, thresholds: list[int]) -> pl.DataFrame:
    """The wide per-year table of :func:`series`."""
    long = _thresholds_long(frames, thresholds).lazy()
    columns = [
        pl.col(name).filter(pl.col("seuil") == k).first().alias(f"{name}_au_moins_{k}")
        for k in thresholds
        for name in ("communes", "part")
    ]
    wide = long.group_by(_YEAR).agg(columns)
    return _totals(frames).lazy().join(wide, on=_YEAR, how="left").sort(_YEAR).collect()


def _participations_by_action(frames: _Frames) -> pl.DataFrame:
    """action_id, nb_communes: member communes active in each inscribed action (0 allowed)."""
    active = frames.pairs.group_by(_YEAR, "action_id").agg(
        pl.len().cast(pl.Int64).alias("nb_communes")
    )
    return (
        frames.actions.select(_YEAR, "action_id")
        .join(active, on=[_YEAR, "action_id"], how="left")
        .with_columns(pl.col("nb_communes").fill_null(0))
        .sort(_YEAR, "action_id")
    )


def _by_domain(frames: _Frames) -> pl.DataFrame:
    """Per domain: actions_inscrites, actions_deployees, participations (one year only)."""
    domain = pl.col("domaine").fill_null(NO_DOMAIN)
    actions = frames.actions.lazy().with_columns(domain)
    counts = actions.group_by("domaine").agg(
        pl.len().cast(pl.Int64).alias("actions_inscrites"),
        pl.col("deployee").sum().cast(pl.Int64).alias("actions_deployees"),
    )
    participations = (
        frames.pairs.lazy()
        .filter(pl.col("deployee"))
        .join(actions.select(_YEAR, "action_id", "domaine"), on=[_YEAR, "action_id"])
        .group_by("domaine")
        .agg(pl.len().cast(pl.Int64).alias("participations"))
    )
    return (
        counts.join(participations, on="domaine", how="left")
        .with_columns(pl.col("participations").fill_null(0))
        .sort("domaine")
        .collect()
    )


def _ids(frame: pl.DataFrame, condition: pl.Expr) -> list[str]:
    """Sorted ``action_id`` values of the rows of ``frame`` meeting ``condition``."""
    return frame.filter(condition).get_column("action_id").sort().to_list()


def _as_dict(frame: pl.DataFrame, key: str, value: str) -> dict[Any, Any]:
    """Two columns of ``frame`` as a plain dict, in the frame's row order."""
    return dict(
        zip(frame.get_column(key).to_list(), frame.get_column(value).to_list(), strict=True)
    )


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def member_communes(ds: Dataset, year: int) -> pl.DataFrame:
    """Communes that are members at D of ``year``: every column of ``communes``,
    sorted by code_insee."""
    ref = pl.lit(reference_date(_check_year(year)))
    return ds.communes.filter(is_member(ref)).sort("code_insee")


def actions_status(ds: Dataset, year: int) -> pl.DataFrame:
    """One row per action inscribed at D, sorted by action_id.

    Columns: action_id, libelle, domaine, date_inscription, date_deploiement,
    deployee (deployed at D), deployee_annee (deployed during the year),
    nb_communes (member communes with an active participation at D, 0 if none;
    counted for non-deployed actions too).
    """
    frames = _prepare_year(ds, year)
    details = ds.actions.select(
        "action_id", "libelle", "domaine", "date_inscription", "date_deploiement"
    )
    return (
        details.join(
            frames.actions.select("action_id", "deployee", "deployee_annee"), on="action_id"
        )
        .join(_participations_by_action(frames).drop(_YEAR), on="action_id", how="left")
        .sort("action_id")
    )


def active_pairs(ds: Dataset, year: int) -> pl.DataFrame:
    """Distinct (member commune, inscribed action) pairs with an active participation at D
    (mergers applied), sorted: code_insee, action_id, deployee."""
    return _prepare_year(ds, year).pairs.drop(_YEAR)


def actions_per_commune(ds: Dataset, year: int) -> pl.DataFrame:
    """One row per member commune at D, sorted by code_insee.

    Columns: code_insee, nom, population, nb_actions (distinct deployed actions
    with an active participation, 0 allowed), actions (those action ids,
    sorted), actions_disponibles (deployed actions it does not take part in,
    sorted).
    """
    frames = _prepare_year(ds, year)
    empty = pl.lit([], dtype=pl.List(pl.String))
    members = member_communes(ds, year).lazy().select("code_insee", "nom", "population")
    pairs = frames.pairs.lazy().filter(pl.col("deployee")).select("code_insee", "action_id")
    taken = pairs.group_by("code_insee").agg(pl.col("action_id").sort().alias("actions"))
    deployed = frames.actions.lazy().filter(pl.col("deployee")).select("action_id")
    available = (
        members.select("code_insee")
        .join(deployed, how="cross")
        .join(pairs, on=["code_insee", "action_id"], how="anti")
        .group_by("code_insee")
        .agg(pl.col("action_id").sort().alias("actions_disponibles"))
    )
    return (
        members.join(frames.counts.lazy().select("code_insee", "nb_actions"), on="code_insee")
        .join(taken, on="code_insee", how="left")
        .join(available, on="code_insee", how="left")
        .with_columns(pl.col("actions", "actions_disponibles").fill_null(empty))
        .sort("code_insee")
        .collect()
    )


def communes_with_at_least(
    ds: Dataset, year: int, thresholds: Iterable[int] = DEFAULT_THRESHOLDS
) -> pl.DataFrame:
    """One row per threshold k, sorted: seuil, communes (member communes with at
    least k actions), part (communes / members, rounded to 4 decimals, 0.0 when
    there is no member).

    Raises ValueError when a threshold is not a positive integer.
    """
    checked = _check_thresholds(thresholds)
    return _thresholds_long(_prepare_year(ds, year), checked).drop(_YEAR)


def distribution(ds: Dataset, year: int) -> pl.DataFrame:
    """How many member communes have exactly n actions at D: nb_actions, communes,
    sorted by nb_actions (only the values that occur, 0 included)."""
    counts = _prepare_year(ds, year).counts
    return (
        counts.group_by("nb_actions")
        .agg(pl.len().cast(pl.Int64).alias("communes"))
        .sort("nb_actions")
    )


def by_domain(ds: Dataset, year: int) -> pl.DataFrame:
    """Per domain of the actions inscribed at D, sorted by domaine ("non renseigné"
    for a null one): actions_inscrites, actions_deployees, participations
    (active member participations in deployed actions of the domain)."""
    return _by_domain(_prepare_year(ds, year))


def membership_changes(ds: Dataset, year: int) -> pl.DataFrame:
    """Communes that joined (date_adhesion in the year) or left (date_sortie in the
    year): code_insee, nom, mouvement ("adhésion", "sortie", or "fusion" for a commune
    that left with a ``code_successeur``), date; sorted by date, code_insee (then
    mouvement)."""
    year = _check_year(year)
    communes = ds.communes.lazy()
    joined = communes.filter(_in_year("date_adhesion", pl.lit(year))).select(
        "code_insee",
        "nom",
        pl.lit(JOINED).alias("mouvement"),
        pl.col("date_adhesion").alias("date"),
    )
    movement = pl.when(pl.col("code_successeur").is_not_null()).then(pl.lit(MERGED))
    left = communes.filter(_in_year("date_sortie", pl.lit(year))).select(
        "code_insee", "nom", movement.otherwise(pl.lit(LEFT)).alias("mouvement"),
        pl.col("date_sortie").alias("date"),
    )
    return pl.concat([joined, left]).sort("date", "code_insee", "mouvement").collect()


def year_indicators(
    ds: Dataset, year: int, thresholds: Iterable[int] = DEFAULT_THRESHOLDS
) -> dict[str, Any]:
    """The key figures of ``indicators.json`` (DESIGN.md, "Output contract").

    Keys: annee, date_reference, communes_membres, actions_inscrites,
    actions_deployees, actions_deployees_annee (sorted ids),
    communes_participantes {str(k): int}, part_communes_participantes
    {str(k): float}, participations_par_action {action_id: int} for every
    action inscribed at D; plus actions_inscrites_non_deployees (sorted ids),
    participations_actives, moyenne_actions_par_commune (rounded to 2
    decimals) and participations_par_domaine {domaine: int}. Only plain Python
    values, ready for ``json.dumps``.
    """
    checked = _check_thresholds(thresholds)
    frames = _prepare_year(ds, year)
    totals = _totals(frames).row(0, named=True)
    long = _thresholds_long(frames, checked)
    seuils = long.with_columns(pl.col("seuil").cast(pl.String))
    members = totals["communes_membres"]
    mean = pl.select(
        rounded_ratio(
            pl.lit(int(frames.counts.get_column("nb_actions").sum())), pl.lit(members), 2
        )
    ).item()
    return {
        "annee": int(year),
        "date_reference": reference_date(int(year)).isoformat(),
        "communes_membres": members,
        "actions_inscrites": totals["actions_inscrites"],
        "actions_deployees": totals["actions_deployees"],
        "actions_deployees_annee": _ids(frames.actions, pl.col("deployee_annee")),
        "communes_participantes": _as_dict(seuils, "seuil", "communes"),
        "part_communes_participantes": _as_dict(seuils, "seuil", "part"),
        "participations_par_action": _as_dict(
            _participations_by_action(frames), "action_id", "nb_communes"
        ),
        "actions_inscrites_non_deployees": _ids(frames.actions, ~pl.col("deployee")),
        "participations_actives": totals["participations_actives"],
        "moyenne_actions_par_commune": float(mean),
        "participations_par_domaine": _as_dict(_by_domain(frames), "domaine", "participations"),
    }


def series(
    ds: Dataset, years: Iterable[int], thresholds: Iterable[int] = DEFAULT_THRESHOLDS
) -> pl.DataFrame:
    """One row per year, sorted: annee, communes_membres, actions_inscrites,
    actions_deployees, actions_deployees_annee (count), participations_actives,
    then communes_au_moins_{k} and part_au_moins_{k} for every threshold k.

    All years are computed at once (one cross join with a frame of years).
    """
    checked = _check_thresholds(thresholds)
    return _series(_prepare(ds, _check_years(years)), checked)


def series_long(
    ds: Dataset, years: Iterable[int], thresholds: Iterable[int] = DEFAULT_THRESHOLDS
) -> pl.DataFrame:
    """Long form of the threshold figures, for charts: annee, seuil, communes, part,
    sorted by annee, seuil."""
    checked = _check_thresholds(thresholds)
    return _thresholds_long(_prepare(ds, _check_years(years)), checked)
