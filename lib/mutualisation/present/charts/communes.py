"""The charts of the communes of the bilan: the map, the commune × action matrix and the
uptake by size class.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import polars as pl

from mutualisation.compute.sizes import UNKNOWN_SIZE, size_class, size_classes
from mutualisation.formatting import (
    french_sorted,
    plural,
)
from mutualisation.present.charts.parts import (
    chart_title,
    count_axis,
    count_legend,
    message_chart,
    require_columns,
)
from mutualisation.present.charts.theme import GREY, LIGHT_GREY, PALETTE, SEQUENTIAL_SCHEME, WIDTH

# --------------------------------------------------------------------------
# Charts of the communes
# --------------------------------------------------------------------------


def commune_map(
    features: Sequence[Mapping[str, Any]], actions_per_commune: pl.DataFrame
) -> alt.LayerChart:
    """Map of the communes coloured by their number of actions; non-members in grey.

    ``features``: GeoJSON Feature dicts whose properties hold ``code_insee`` and
    ``nom`` (WGS84 coordinates). ``actions_per_commune``: columns code_insee, nom,
    nb_actions (one row per member commune). A feature whose code is not in the
    frame is a commune that is not a member at the reference date. Polygon rings
    are rewound to the orientation d3-geo expects (see :func:`_rewind`).
    """
    require_columns(actions_per_commune, ["code_insee", "nom", "nb_actions"], "commune_map")
    counts = dict(actions_per_commune.select("code_insee", "nb_actions").iter_rows())
    values = []
    for feature in features:
        props = feature.get("properties") or {}
        code = str(props.get("code_insee"))
        nb = counts.get(code)
        values.append(
            {
                "type": "Feature",
                "geometry": _rewind(feature["geometry"]),
                "properties": {
                    "code_insee": code,
                    "nom": props.get("nom", code),
                    "membre": nb is not None,
                    "nb_actions": nb,
                    "info": "non membre" if nb is None else plural(nb, "action", "actions"),
                },
            }
        )
    outside = sum(1 for v in values if not v["properties"]["membre"])
    subtitle = ["Nombre d'actions déployées auxquelles participe chaque commune membre"]
    if outside:
        subtitle.append(
            f"En gris : {plural(outside, 'commune non membre', 'communes non membres')} "
            "à la date du bilan"
        )
    base = alt.Chart(alt.Data(values=values)).mark_geoshape(stroke="white", strokeWidth=0.6)
    tooltip = [
        alt.Tooltip("properties.nom:N", title="Commune"),
        alt.Tooltip("properties.info:N", title="Participation"),
    ]
    grey = base.transform_filter("!datum.properties.membre").encode(
        color=alt.value(GREY), tooltip=tooltip
    )
    largest = max((n for n in counts.values() if n is not None), default=0)
    coloured = base.transform_filter("datum.properties.membre").encode(
        color=alt.Color(
            "properties.nb_actions:Q",
            title="Nombre d'actions",
            scale=alt.Scale(scheme=SEQUENTIAL_SCHEME, domain=[0, max(largest, 1)]),
            legend=count_legend(largest, orient="right", gradientLength=200),
        ),
        tooltip=tooltip,
    )
    return (
        alt.layer(grey, coloured)
        .project(type="mercator")
        .properties(width=WIDTH, height=480,
                    title=chart_title("Carte des participations", subtitle))
    )


def _ring_area(ring: Sequence[Sequence[float]]) -> float:
    """Twice the signed planar area of a ring (positive when counter-clockwise)."""
    return sum(
        x0 * y1 - x1 * y0 for (x0, y0, *_), (x1, y1, *_) in zip(ring, ring[1:], strict=False)
    )


def _rewind_polygon(rings: Sequence[Sequence[Sequence[float]]]) -> list[list[list[float]]]:
    """Exterior ring clockwise, holes counter-clockwise (d3-geo's spherical convention).

    RFC 7946 GeoJSON uses the opposite; d3-geo would read such a polygon as the
    whole globe minus the commune and paint the map in one colour.
    """
    out = []
    for i, ring in enumerate(rings):
        ring = [list(p) for p in ring]
        clockwise = _ring_area(ring) < 0
        if clockwise != (i == 0):
            ring.reverse()
        out.append(ring)
    return out


def _rewind(geometry: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a Polygon/MultiPolygon geometry with rings in d3-geo order."""
    kind = geometry.get("type")
    if kind == "Polygon":
        return {"type": kind, "coordinates": _rewind_polygon(geometry["coordinates"])}
    if kind == "MultiPolygon":
        return {"type": kind, "coordinates": [_rewind_polygon(p) for p in geometry["coordinates"]]}
    return dict(geometry)


def _commune_labels(actions_per_commune: pl.DataFrame) -> pl.DataFrame:
    """Add ``commune``: the name, with the INSEE code when two communes share it."""
    return actions_per_commune.with_columns(
        pl.when(pl.len().over("nom") > 1)
        .then(pl.format("{} ({})", "nom", "code_insee"))
        .otherwise(pl.col("nom"))
        .alias("commune")
    )


#: Above this many cells (member communes × deployed actions), :func:`commune_action_matrix`
#: draws one shape per participation over grey rows cut into cells by white rules, instead
#: of one shape per cell: the same picture in a fraction of the SVG (158 communes × 91
#: actions: 14,000 cells, 3,700 participations).
MATRIX_FULL_GRID_CELLS = 5_000
#: Width the matrix's columns aim at together (pixels): with many actions the columns
#: narrow (from 14 down to 8 pixels) to keep the chart within a page of the report.
MATRIX_COLUMNS_WIDTH = 640
#: Above this many communes, the matrix's legend goes to the top, beside the action ids.
MATRIX_LEGEND_TOP_ROWS = 100
#: Widest commune name on the matrix's rows (pixels, cut with "…" beyond).
MATRIX_LABEL_LIMIT = 160


def _matrix_steps(columns: int) -> tuple[int, int]:
    """Width of a column of the matrix and the font size of the action ids above it."""
    step = min(14, max(8, MATRIX_COLUMNS_WIDTH // max(columns, 1)))
    return step, 9 if step >= 10 else 8


def _matrix_x(columns: list[str], font_size: int, **position: Any) -> alt.X:
    """The columns of the matrix, their action ids above it."""
    return alt.X(
        "action_id:N",
        sort=columns,
        scale=alt.Scale(domain=columns),
        title="Actions déployées",
        axis=alt.Axis(orient="top", labelAngle=-90, labelFontSize=font_size, ticks=False,
                      domain=False),
        **position,
    )


def commune_action_matrix(
    actions_per_commune: pl.DataFrame, actions_status: pl.DataFrame
) -> alt.Chart | alt.LayerChart:
    """Which member commune takes part in which deployed action (a grid of cells).

    Rows: communes in French alphabetical order; columns: deployed actions (their ids),
    the most joined first. 10 pixels per row, so 90 communes or 158 stay readable;
    columns of 14 pixels, narrower with many actions (:func:`_matrix_steps`). Every
    commune and every action has its row or column, whatever the size. Beyond
    :data:`MATRIX_FULL_GRID_CELLS` cells, see :func:`_sparse_matrix`.
    """
    require_columns(actions_per_commune, ["code_insee", "nom", "actions"], "commune_action_matrix")
    require_columns(
        actions_status, ["action_id", "libelle", "deployee", "nb_communes"], "commune_action_matrix"
    )
    title = chart_title(
        "Participation de chaque commune aux actions déployées",
        "Une ligne par commune membre, une colonne par action déployée "
        "(de la plus suivie à la moins suivie)",
    )
    deployed = actions_status.filter(pl.col("deployee")).sort(
        pl.col("nb_communes"), pl.col("action_id"), descending=[True, False]
    )
    if deployed.is_empty() or actions_per_commune.is_empty():
        return message_chart("Aucune action déployée ou aucune commune membre", title)
    columns = deployed["action_id"].to_list()
    communes = _commune_labels(actions_per_commune.select("code_insee", "nom", "actions"))
    rows = french_sorted(communes["commune"].to_list())
    taking_part = "participe"
    not_taking_part = "ne participe pas"
    states = [taking_part, not_taking_part]
    step, id_font = _matrix_steps(len(columns))
    y = alt.Y(
        "commune:N",
        sort=rows,
        scale=alt.Scale(domain=rows),
        title=None,
        axis=alt.Axis(labelFontSize=8, ticks=False, domain=False,
                      labelLimit=MATRIX_LABEL_LIMIT),
    )
    legend = alt.Legend(title=None, orient="top" if len(rows) > MATRIX_LEGEND_TOP_ROWS
                        else "bottom")
    colour = alt.Color(
        "participation:N",
        sort=states,
        scale=alt.Scale(domain=states, range=[PALETTE[0], LIGHT_GREY]),
        legend=legend,
    )
    tooltip = [
        alt.Tooltip("commune:N", title="Commune"),
        alt.Tooltip("libelle:N", title="Action"),
        alt.Tooltip("action_id:N", title="Identifiant"),
        alt.Tooltip("participation:N", title="Participation"),
    ]
    size = {"width": alt.Step(step), "height": alt.Step(10), "title": title}
    if len(rows) * len(columns) > MATRIX_FULL_GRID_CELLS:
        return _sparse_matrix(communes, deployed, id_font, y, colour, tooltip, taking_part,
                              size)
    cells = (
        communes.join(deployed.select("action_id", "libelle"), how="cross")
        .with_columns(
            pl.when(pl.col("actions").list.contains(pl.col("action_id")))
            .then(pl.lit(taking_part))
            .otherwise(pl.lit(not_taking_part))
            .alias("participation")
        )
        .select("commune", "action_id", "libelle", "participation")
        .sort("commune", "action_id")
    )
    return (
        alt.Chart(cells)
        # No ARIA label per cell: it would triple the size of the SVG (2,000+ cells).
        .mark_rect(stroke="white", strokeWidth=0.5, aria=False)
        .encode(x=_matrix_x(columns, id_font), y=y, color=colour, tooltip=tooltip)
        .properties(**size)
    )


class _ManyRowsLayerChart(alt.LayerChart):
    """A layered chart whose data may pass Altair's 5,000-row limit (``MaxRowsError``).

    The limit is lifted deliberately, for this chart only and only while its spec is
    written (``alt.data_transformers.disable_max_rows()`` around :meth:`to_dict`, which
    every renderer, ``save`` and :func:`to_dict` go through); copies made by
    ``properties`` keep the class. The data stays polars frames, which Altair neither
    copies nor checks row by row until then.
    """

    def to_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        with alt.data_transformers.disable_max_rows():
            return super().to_dict(*args, **kwargs)


def _sparse_matrix(
    communes: pl.DataFrame,
    deployed: pl.DataFrame,
    id_font: int,
    y: alt.Y,
    colour: alt.Color,
    tooltip: list[alt.Tooltip],
    taking_part: str,
    size: dict[str, Any],
) -> alt.LayerChart:
    """The matrix of a large intercommunality: one shape per participation only.

    Three layers on the scales of the full grid: a light grey band per commune (the
    cells where it takes no part), a white rule at the left edge of every column (the
    cells' borders), and the cells of the participations. One row of data per
    participation, at most communes × deployed actions: the chart lifts Altair's
    5,000-row limit for itself (:class:`_ManyRowsLayerChart`); its SVG stays about
    100 bytes a participation.
    """
    columns = deployed["action_id"].to_list()
    cells = (
        communes.select("commune", pl.col("actions").alias("action_id"))
        .explode("action_id")
        .join(deployed.select("action_id", "libelle"), on="action_id", how="inner")
        .with_columns(pl.lit(taking_part).alias("participation"))
        .select("commune", "action_id", "libelle", "participation")
        .sort("commune", "action_id")
    )
    background = (
        alt.Chart(communes.select("commune").sort("commune"))
        .mark_rect(color=LIGHT_GREY, stroke="white", strokeWidth=0.5, aria=False)
        .encode(y=y, tooltip=[alt.Tooltip("commune:N", title="Commune")])
    )
    borders = (
        alt.Chart(deployed.select("action_id"))
        .mark_rule(color="white", strokeWidth=1, aria=False)
        .encode(x=_matrix_x(columns, id_font, bandPosition=0))  # same axis: merged
    )
    participations = (
        alt.Chart(cells)
        .mark_rect(stroke="white", strokeWidth=0.5, aria=False)
        .encode(x=_matrix_x(columns, id_font), y=y, color=colour, tooltip=tooltip)
    )
    return _ManyRowsLayerChart(layer=[background, borders, participations]).properties(**size)


def uptake_by_size(actions_per_commune: pl.DataFrame) -> alt.LayerChart | alt.Chart:
    """Mean number of actions per member commune, by population size class.

    ``actions_per_commune``: columns population, nb_actions. The number of
    communes of each class is written inside its bar.
    """
    require_columns(actions_per_commune, ["population", "nb_actions"], "uptake_by_size")
    title = chart_title(
        "Nombre moyen d'actions selon la taille de la commune",
        "Communes membres regroupées par population municipale",
    )
    if actions_per_commune.is_empty():
        return message_chart("Aucune commune membre", title)
    classes = size_classes()
    grouped = (
        actions_per_commune.select(
            size_class(pl.col("population")).alias("classe"), pl.col("nb_actions")
        )
        .group_by("classe")
        .agg(
            pl.len().cast(pl.Int64).alias("communes"),
            pl.col("nb_actions").mean().alias("moyenne"),
            pl.col("nb_actions").min().alias("minimum"),
            pl.col("nb_actions").max().alias("maximum"),
        )
    )
    if UNKNOWN_SIZE in grouped["classe"].to_list():
        classes.append(UNKNOWN_SIZE)
    grouped = grouped.with_columns(
        pl.col("classe").replace_strict(classes, list(range(len(classes)))).alias("rang")
    ).sort("rang")
    grouped = grouped.with_columns(
        pl.Series(
            "effectif",
            [plural(n, "commune", "communes") for n in grouped["communes"].to_list()],
            dtype=pl.String,
        )
    ).drop("rang")
    base = alt.Chart(grouped).encode(
        x=alt.X(
            "classe:N",
            sort=classes,
            scale=alt.Scale(domain=classes),
            title="Population municipale",
            axis=alt.Axis(labelAngle=0),
        ),
        y=alt.Y(
            "moyenne:Q",
            title="Nombre moyen d'actions par commune",
            # Up to the next whole number: means below 1 still get a "1" on the axis.
            scale=alt.Scale(domainMax=max(1, math.ceil(grouped["moyenne"].max() or 0))),
            axis=count_axis(grouped["moyenne"].max()),
        ),
        tooltip=[
            alt.Tooltip("classe:N", title="Taille"),
            alt.Tooltip("communes:Q", title="Communes", format=",d"),
            alt.Tooltip("moyenne:Q", title="Nombre moyen d'actions", format=",.1f"),
            alt.Tooltip("minimum:Q", title="Minimum", format=",d"),
            alt.Tooltip("maximum:Q", title="Maximum", format=",d"),
        ],
    )
    bars = base.mark_bar(width={"band": 0.7})
    means = base.mark_text(dy=-7).encode(text=alt.Text("moyenne:Q", format=",.1f"))
    sizes = base.mark_text(baseline="bottom", dy=-4, color="white").encode(
        y=alt.datum(0), text="effectif:N"
    )
    return alt.layer(bars, means, sizes).properties(width=WIDTH, height=300, title=title)


