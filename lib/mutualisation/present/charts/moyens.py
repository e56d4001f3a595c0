"""The charts of « Moyens et coûts »: cost and staff by action, and their evolution."""

from __future__ import annotations

import altair as alt
import polars as pl

from mutualisation.present.charts.parts import (
    chart_title,
    message_chart,
    require_columns,
    room_for_labels,
    text_years,
    unique_labels,
)
from mutualisation.present.charts.theme import BAR_WIDTH, PALETTE

#: The two panels of each chart: the column, its axis title, its number format, its colour.
_PANELS = (
    ("cout_fonctionnement", "Coût de fonctionnement (€)", ",.0f", PALETTE[0]),
    ("etp", "Équivalents temps plein (ETP)", ",.2~f", PALETTE[1]),
)


def cost_and_staff(actions: pl.DataFrame, year: int) -> alt.HConcatChart | alt.Chart:
    """Operating cost and ETP of each action with figures, as two bar panels side by side
    (actions in the order of their cost, largest first).

    ``actions``: :func:`mutualisation.compute.moyens.by_action` (action_id, libelle,
    renseigne, cout_fonctionnement, etp).
    """
    require_columns(actions, ["action_id", "libelle", "renseigne", "cout_fonctionnement", "etp"],
                    "cost_and_staff")
    title = chart_title(f"Coût et personnel de chaque action en {year}",
                        "Actions dont les moyens sont renseignés ; coût de l'année, ETP au "
                        "31 décembre")
    frame = actions.filter(pl.col("renseigne"))
    if frame.is_empty():
        return message_chart("Aucune action n'a de moyens renseignés", title)
    frame = unique_labels(frame.sort(pl.col("cout_fonctionnement").fill_null(-1), "libelle",
                                     "action_id", descending=[True, False, False]))
    order = frame["etiquette"].to_list()
    panels = []
    for index, (column, axis_title, fmt, colour) in enumerate(_PANELS):
        data = frame.select("etiquette", "action_id", column).filter(pl.col(column).is_not_null())
        base = alt.Chart(data).encode(
            y=alt.Y("etiquette:N", sort=order, title=None,
                    axis=alt.Axis(labels=index == 0)),
            x=alt.X(f"{column}:Q", title=axis_title,
                    scale=room_for_labels(data[column].max() if data.height else 0),
                    # A narrow panel: few ticks, so that amounts in millions never overlap.
                    axis=alt.Axis(format=fmt, tickCount=4)),
            tooltip=[alt.Tooltip("etiquette:N", title="Action"),
                     alt.Tooltip(f"{column}:Q", title=axis_title, format=fmt)],
        )
        panels.append(alt.layer(
            base.mark_bar(color=colour),
            base.mark_text(align="left", dx=4).encode(text=alt.Text(f"{column}:Q", format=fmt)),
        ).properties(width=BAR_WIDTH * 2 // 3, height=alt.Step(20)))
    return alt.hconcat(*panels, spacing=40).resolve_scale(y="shared").properties(title=title)


def evolution(series: pl.DataFrame, first_year: int | None) -> alt.HConcatChart | alt.Chart:
    """Total operating cost and ETP of each year since the first year with figures, as two
    line panels (a year without figures has no point).

    ``series``: :func:`mutualisation.compute.moyens.series` (annee, cout_fonctionnement, etp).
    """
    require_columns(series, ["annee", "cout_fonctionnement", "etp"], "evolution")
    title = chart_title("Évolution des moyens du schéma",
                        "Total des actions renseignées, chaque année")
    if first_year is None:
        return message_chart("Aucune année n'a de moyens renseignés", title)
    frame, years = text_years(series.filter(pl.col("annee") >= first_year)
                              .select("annee", "cout_fonctionnement", "etp"))
    panels = []
    for column, axis_title, fmt, colour in _PANELS:
        data = frame.filter(pl.col(column).is_not_null())
        base = alt.Chart(data).encode(
            x=alt.X("annee:N", sort=years, title="Année", axis=alt.Axis(labelAngle=0),
                    scale=alt.Scale(domain=years)),
            y=alt.Y(f"{column}:Q", title=axis_title, axis=alt.Axis(format=fmt)),
            tooltip=[alt.Tooltip("annee:N", title="Année"),
                     alt.Tooltip(f"{column}:Q", title=axis_title, format=fmt)],
        )
        panels.append(alt.layer(
            base.mark_line(color=colour, point=alt.OverlayMarkDef(color=colour, size=50)),
            base.mark_text(dy=-10).encode(text=alt.Text(f"{column}:Q", format=fmt)),
        ).properties(width=BAR_WIDTH, height=200))
    return alt.hconcat(*panels, spacing=40).properties(title=title)
