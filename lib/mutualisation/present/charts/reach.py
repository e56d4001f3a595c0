"""The charts of issue #18: actions and communes by legal form (section « Formes de
mutualisation »), and the share of the population each deployed action reaches."""

from __future__ import annotations

import altair as alt
import polars as pl

from mutualisation.formatting import fr_int, fr_percent
from mutualisation.present.charts.parts import (
    BAR_WIDTH,
    MANY_BARS,
    chart_title,
    count_axis,
    message_chart,
    require_columns,
    room_for_labels,
    series_colour,
    series_tooltip,
    unique_labels,
)
from mutualisation.present.charts.theme import DEPLOYED, INSCRIBED, PALETTE, TEXT_COLOUR


def by_legal_form(frame: pl.DataFrame) -> alt.HConcatChart | alt.Chart:
    """Actions (inscribed, deployed) and member communes taking part, per legal form.

    ``frame``: columns forme_juridique, actions_inscrites, actions_deployees, communes (as
    :func:`mutualisation.compute.population.by_form` gives them; the chart keeps that order,
    the one of the table beside it).
    """
    columns = ["forme_juridique", "actions_inscrites", "actions_deployees", "communes"]
    require_columns(frame, columns, "by_legal_form")
    title = chart_title("Actions et communes par forme de mutualisation",
                        "Actions inscrites et déployées, communes membres participantes")
    frame = frame.select(columns)
    if frame.is_empty():
        return message_chart("Aucune action inscrite", title)
    order = frame["forme_juridique"].to_list()
    y = alt.Y("forme_juridique:N", sort=order, title=None)
    height = 30 * len(order)
    series = [INSCRIBED, DEPLOYED]
    long = (
        frame.select("forme_juridique", "actions_inscrites", "actions_deployees")
        .rename({"actions_inscrites": INSCRIBED, "actions_deployees": DEPLOYED})
        .unpivot(index="forme_juridique", variable_name="serie", value_name="actions")
        .sort("forme_juridique", "serie")
    )
    actions = alt.Chart(long).encode(
        y=y,
        yOffset=alt.YOffset("serie:N", sort=series),
        x=alt.X("actions:Q", title="Nombre d'actions",
                scale=room_for_labels(frame["actions_inscrites"].max()),
                axis=count_axis(frame["actions_inscrites"].max())),
        color=series_colour(series),
        tooltip=series_tooltip(alt.Tooltip("forme_juridique:N", title="Forme juridique")),
    )
    left = alt.layer(
        actions.mark_bar(),
        actions.mark_text(align="left", dx=3, fontSize=10).encode(
            text=alt.Text("actions:Q", format=",d"), color=alt.value(TEXT_COLOUR)),
    ).properties(width=240, height=height)
    part = alt.Chart(frame).encode(
        y=alt.Y("forme_juridique:N", sort=order, title=None,
                axis=alt.Axis(labels=False, ticks=False)),
        x=alt.X("communes:Q", title="Communes participantes",
                scale=room_for_labels(frame["communes"].max()),
                axis=count_axis(frame["communes"].max())),
        tooltip=[alt.Tooltip("forme_juridique:N", title="Forme juridique"),
                 alt.Tooltip("communes:Q", title="Communes participantes", format=",d")],
    )
    right = alt.layer(
        part.mark_bar(color=PALETTE[2]),
        part.mark_text(align="left", dx=3, fontSize=10).encode(
            text=alt.Text("communes:Q", format=",d")),
    ).properties(width=200, height=height)
    return alt.hconcat(left, right, spacing=24).properties(title=title)


def population_by_action(actions: pl.DataFrame) -> alt.LayerChart | alt.Chart:
    """The share of the members' population living in a commune that takes part in each
    deployed action, largest first, the share written at the end of its bar.

    ``actions``: columns action_id, libelle, deployee, population, part_population (the
    actions table of the bilan with the figures of
    :func:`mutualisation.compute.population.reach_by_action`).
    """
    columns = ["action_id", "libelle", "deployee", "population", "part_population"]
    require_columns(actions, columns, "population_by_action")
    title = chart_title("Population couverte par chaque action déployée",
                        "Part de la population des communes membres qui participent à "
                        "l'action, au 31 décembre")
    frame = actions.filter(pl.col("deployee")).select(columns)
    if frame.is_empty():
        return message_chart("Aucune action déployée", title)
    frame = unique_labels(frame.sort(pl.col("part_population"), pl.col("libelle"),
                                     pl.col("action_id"), descending=[True, False, False]))
    frame = frame.with_columns(
        pl.Series("valeur", [fr_percent(v) for v in frame["part_population"]], pl.String),
        pl.Series("habitants", [fr_int(v) for v in frame["population"]], pl.String))
    order = frame["etiquette"].to_list()
    many = len(order) > MANY_BARS
    base = alt.Chart(frame).encode(
        y=alt.Y("etiquette:N", sort=order, title=None,
                axis=alt.Axis(labelFontSize=10) if many else alt.Undefined),
        x=alt.X("part_population:Q", title="Part de la population des communes membres",
                scale=alt.Scale(domain=[0, 1.12]),
                axis=alt.Axis(format=".0%", values=[0, 0.25, 0.5, 0.75, 1])),
        tooltip=[alt.Tooltip("libelle:N", title="Action"),
                 alt.Tooltip("habitants:N", title="Population couverte"),
                 alt.Tooltip("valeur:N", title="Part de la population")],
    )
    bars = base.mark_bar(color=PALETTE[0])
    values = base.mark_text(align="left", dx=4, **({"fontSize": 10} if many else {})).encode(
        text="valeur:N", color=alt.value(TEXT_COLOUR))
    return alt.layer(bars, values).properties(width=BAR_WIDTH,
                                              height=alt.Step(16 if many else 20), title=title)
