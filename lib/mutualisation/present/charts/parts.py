"""Pieces shared by the charts: titles, messages, colours and legends of domains and series,
action bars and histograms.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import altair as alt
import polars as pl

from mutualisation.compute.indicators import NO_DOMAIN
from mutualisation.formatting import (
    fr_date,
    french_sorted,
)
from mutualisation.present.charts.theme import (
    BAR_WIDTH,
    EXTRA_DOMAIN_COLOURS,
    GREY,
    PALETTE,
    SERIES_COLOURS,
    TEXT_GREY,
    WIDTH,
)


def require_columns(frame: pl.DataFrame, columns: Sequence[str], name: str) -> None:
    """Raise ValueError when ``frame`` lacks one of ``columns``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing columns {missing}; got {frame.columns}")


def chart_title(text: str, subtitle: str | Sequence[str] | None = None) -> alt.TitleParams:
    if subtitle is None:
        return alt.TitleParams(text)
    return alt.TitleParams(text, subtitle=subtitle)


def message_chart(text: str, title: alt.TitleParams, width: int = WIDTH) -> alt.Chart:
    """A chart holding only a centred message (for empty data)."""
    return (
        alt.Chart(alt.Data(values=[{"message": text}]))
        .mark_text(fontSize=13, color=TEXT_GREY, align="center", baseline="middle")
        .encode(text="message:N", x=alt.value(width / 2), y=alt.value(30))
        .properties(width=width, height=60, title=title)
    )


def room_for_labels(largest: object) -> alt.Scale:
    """A linear scale from 0 leaving room for the value written after the longest bar."""
    top = float(largest) if isinstance(largest, int | float) and largest > 0 else 1.0
    return alt.Scale(domain=[0, top * 1.08], nice=True)


#: Up to this largest value, a scale of counts lists every whole number from 0. Vega's own
#: ticks fall on halves there even with ``tickMinStep=1`` (a span of 1 or 2 units), and
#: ``",d"`` prints 0.5 and 1.5 as whole numbers: "0, 1, 1, 2, 2". Above it, ``tickMinStep``
#: gives whole steps (1, 2, 5, 10…).
SMALL_COUNT = 5


def count_ticks(largest: object) -> dict[str, Any]:
    """Axis or legend options of a scale of counts whose data reach ``largest``: whole
    numbers only, French thousands, never the same label twice."""
    top = math.ceil(largest) if isinstance(largest, int | float) and largest > 0 else 1
    options: dict[str, Any] = {"format": ",d", "tickMinStep": 1}
    if top <= SMALL_COUNT:
        options["values"] = list(range(top + 1))
    return options


def count_axis(largest: object, **options: Any) -> alt.Axis:
    """An axis of counts (see :func:`count_ticks`); ``options`` are other Axis options."""
    return alt.Axis(**count_ticks(largest), **options)


def count_legend(largest: object, **options: Any) -> alt.Legend:
    """A colour legend of counts (see :func:`count_ticks`)."""
    return alt.Legend(**count_ticks(largest), **options)


def series_colour(order: Sequence[str]) -> alt.Color:
    """Colour by series: "Actions inscrites" / "Actions déployées", fixed colours, ``order``."""
    return alt.Color(
        "serie:N",
        sort=list(order),
        scale=alt.Scale(domain=list(order), range=[SERIES_COLOURS[s] for s in order]),
        legend=alt.Legend(title=None, orient="top"),
    )


def series_tooltip(category: alt.Tooltip) -> list[alt.Tooltip]:
    """Tooltip of a bar of the two series: its ``category``, its series, its count."""
    return [
        category,
        alt.Tooltip("serie:N", title="Série"),
        alt.Tooltip("actions:Q", title="Nombre d'actions", format=",d"),
    ]


def domain_colours(domains: Sequence[str]) -> alt.Scale:
    """Colours of the action domains: the palette in order, grey for "non renseigné"."""
    palette = PALETTE + EXTRA_DOMAIN_COLOURS
    colours = [
        GREY if domain == NO_DOMAIN else palette[i % len(palette)]
        for i, domain in enumerate(domains)
    ]
    return alt.Scale(domain=list(domains), range=colours)


#: Most domains a legend under a chart lists on one line; more wrap in
#: :data:`LEGEND_COLUMNS` columns, so that the legend does not widen the chart.
LEGEND_ONE_LINE = 4
LEGEND_COLUMNS = 3


def domain_legend(orient: str, count: int = 0) -> alt.Legend:
    """The legend of the ``count`` domain colours; every domain listed however many there
    are (Vega otherwise stops at 30 and writes "…N entries", in English). Under a chart,
    more than :data:`LEGEND_ONE_LINE` domains wrap instead of widening the chart."""
    if orient == "bottom" and count > LEGEND_ONE_LINE:
        return alt.Legend(title="Domaine", orient=orient, symbolLimit=0,
                          columns=LEGEND_COLUMNS)
    return alt.Legend(title="Domaine", orient=orient, symbolLimit=0)


def domain_order(values: Iterable[str]) -> list[str]:
    """Domains in French order, "non renseigné" last."""
    found = french_sorted(values)
    return [d for d in found if d != NO_DOMAIN] + ([NO_DOMAIN] if NO_DOMAIN in found else [])


def with_domain(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col("domaine").fill_null(NO_DOMAIN))


def with_date_label(frame: pl.DataFrame, column: str, label: str) -> pl.DataFrame:
    """Add ``label``: the date ``column`` in French words ("" when null)."""
    dates = frame[column].to_list()
    return frame.with_columns(
        pl.Series(label, [fr_date(d) if d is not None else "" for d in dates], dtype=pl.String)
    )


def text_years(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """``annee`` as strings (no number format may touch a year) and their order."""
    years = sorted(set(frame["annee"].to_list()))
    return frame.with_columns(pl.col("annee").cast(pl.String)), [str(y) for y in years]


STATUS_COLUMNS = ["action_id", "libelle", "domaine", "date_deploiement", "nb_communes"]


#: Longest label (characters) of an action whose id is appended to tell it from another
#: action of the same libelle: the libelle is cut before the id, so that Vega's
#: ``labelLimit`` never cuts the id off.
LABEL_CHARS = 60


def unique_labels(frame: pl.DataFrame) -> pl.DataFrame:
    """Add ``etiquette``: the libelle, with the id when two actions share it.

    Such a label longer than :data:`LABEL_CHARS` has its libelle shortened ("…") and keeps
    the id whole.
    """
    shared = frame.select(pl.len().over("libelle") > 1).to_series().to_list()
    labels = []
    for (libelle, action_id), twin in zip(
        frame.select("libelle", "action_id").iter_rows(), shared, strict=True
    ):
        if not twin:
            labels.append(libelle)
            continue
        suffix = f" ({action_id})"
        room = LABEL_CHARS - len(suffix)
        if len(libelle) > room:
            libelle = libelle[: room - 1].rstrip() + "…"
        labels.append(libelle + suffix)
    return frame.with_columns(pl.Series("etiquette", labels, dtype=pl.String))


#: Above this many bars, a chart of actions gets thinner bars and smaller text.
MANY_BARS = 40


def action_bars(frame: pl.DataFrame, colour: alt.Color | alt.ColorValue) -> alt.LayerChart:
    """Horizontal bars of nb_communes per action (libelle), largest first, value at the end.

    Every action has its bar however many there are; the chart grows in height (20 pixels
    a bar, 16 and smaller text above :data:`MANY_BARS` bars).
    """
    frame = unique_labels(  # two actions with the same label must not share a bar
        frame.sort(
            pl.col("nb_communes"),
            pl.col("libelle"),
            pl.col("action_id"),
            descending=[True, False, False],
        )
    )
    order = frame["etiquette"].to_list()
    many = len(order) > MANY_BARS
    base = alt.Chart(frame).encode(
        y=alt.Y("etiquette:N", sort=order, title=None,
                axis=alt.Axis(labelFontSize=10) if many else alt.Undefined),
        x=alt.X(
            "nb_communes:Q",
            title="Nombre de communes participantes",
            scale=room_for_labels(frame["nb_communes"].max()),
            axis=count_axis(frame["nb_communes"].max()),
        ),
        tooltip=[
            alt.Tooltip("libelle:N", title="Action"),
            alt.Tooltip("action_id:N", title="Identifiant"),
            alt.Tooltip("domaine:N", title="Domaine"),
            alt.Tooltip("deploiement:N", title="Déployée le"),
            alt.Tooltip("nb_communes:Q", title="Communes participantes", format=",d"),
        ],
    )
    bars = base.mark_bar().encode(color=colour)
    values = base.mark_text(align="left", dx=4, **({"fontSize": 10} if many else {})).encode(
        text=alt.Text("nb_communes:Q", format=",d")
    )
    return alt.layer(bars, values).properties(width=BAR_WIDTH,
                                              height=alt.Step(16 if many else 20))


#: Narrowest bar of a histogram (pixels of its band): a two-digit value still fits.
HISTOGRAM_STEP = 16


#: Widest a histogram grows (pixels), to stay within a page of the report.
HISTOGRAM_MAX_WIDTH = 840


def every_count(counts: pl.DataFrame) -> pl.DataFrame:
    """The bars of a histogram of numbers of actions: ``counts`` (nb_actions, communes) with a
    row for every n from 0 to the largest, 0 communes where it had none; sorted by n."""
    counts = counts.select(pl.col("nb_actions").cast(pl.Int64), "communes")
    largest = int(counts["nb_actions"].max())
    return (
        pl.DataFrame({"nb_actions": list(range(largest + 1))}, schema={"nb_actions": pl.Int64})
        .join(counts, on="nb_actions", how="left")
        .with_columns(pl.col("communes").fill_null(0))
        .sort("nb_actions")
    )


def histogram_width(bars: int, width: int) -> tuple[int, bool]:
    """The width of a histogram of ``bars`` bars, and whether it is *dense*.

    ``width``, or wider when the bars would get less than :data:`HISTOGRAM_STEP` pixels,
    up to :data:`HISTOGRAM_MAX_WIDTH`; dense beyond that: smaller values on the bars and
    every other label of the axis when they would overlap.
    """
    wide = max(width, HISTOGRAM_STEP * bars)
    if wide <= HISTOGRAM_MAX_WIDTH:
        return wide, False
    return HISTOGRAM_MAX_WIDTH, True


def histogram_axis(dense: bool) -> alt.Axis:
    """Axis of the numbers of actions of a histogram (see :func:`histogram_width`)."""
    if dense:
        return alt.Axis(labelAngle=0, labelOverlap="parity")
    return alt.Axis(labelAngle=0)
