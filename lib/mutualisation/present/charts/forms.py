"""The chart of the section « Formes de mutualisation »: actions and communes by legal form."""

from __future__ import annotations

import altair as alt
import polars as pl

from mutualisation.present.charts.parts import (
    chart_title,
    message_chart,
    require_columns,
    room_for_labels,
    series_colour,
    series_tooltip,
)
from mutualisation.present.charts.theme import DEPLOYED, INSCRIBED, PALETTE, TEXT_COLOUR


def by_legal_form(frame: pl.DataFrame) -> alt.HConcatChart | alt.Chart:
    """Actions (inscribed, deployed) and member communes taking part, per legal form.

    ``frame``: columns forme_juridique, actions_inscrites, actions_deployees, communes (as
    :func:`mutualisation.compute.population.by_form` gives them, in their order: most actions
    first is left to the reader, the order of the table is kept so both agree).
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
                axis=alt.Axis(format=",d", tickMinStep=1)),
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
                axis=alt.Axis(format=",d", tickMinStep=1)),
        tooltip=[alt.Tooltip("forme_juridique:N", title="Forme juridique"),
                 alt.Tooltip("communes:Q", title="Communes participantes", format=",d")],
    )
    right = alt.layer(
        part.mark_bar(color=PALETTE[2]),
        part.mark_text(align="left", dx=3, fontSize=10).encode(
            text=alt.Text("communes:Q", format=",d")),
    ).properties(width=200, height=height)
    return alt.hconcat(left, right, spacing=24).properties(title=title)
