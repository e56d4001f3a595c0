"""The charts of the yearly bilan: the series, the actions, the distribution of the communes."""

from __future__ import annotations

import altair as alt
import polars as pl

from mutualisation.formatting import (
    sort_key,
)
from mutualisation.present.charts.parts import (
    STATUS_COLUMNS,
    action_bars,
    chart_title,
    count_axis,
    domain_colours,
    domain_legend,
    domain_order,
    every_count,
    histogram_axis,
    histogram_width,
    message_chart,
    require_columns,
    room_for_labels,
    series_colour,
    series_tooltip,
    text_years,
    with_date_label,
    with_domain,
)
from mutualisation.present.charts.theme import (
    DEPLOYED,
    INSCRIBED,
    NO_DEPLOYMENT,
    PALETTE,
    TEXT_COLOUR,
    WIDTH,
)
from mutualisation.present.labels import at_least

# --------------------------------------------------------------------------
# Charts of the yearly series
# --------------------------------------------------------------------------


def actions_by_year(series: pl.DataFrame) -> alt.LayerChart:
    """Inscribed and deployed actions at the end of each year, as grouped bars.

    ``series``: columns annee, actions_inscrites, actions_deployees (extra columns
    are ignored), one row per year.
    """
    require_columns(series, ["annee", "actions_inscrites", "actions_deployees"], "actions_by_year")
    frame, years = text_years(series.select("annee", "actions_inscrites", "actions_deployees"))
    long = (
        frame.rename({"actions_inscrites": INSCRIBED, "actions_deployees": DEPLOYED})
        .unpivot(index="annee", variable_name="serie", value_name="actions")
        .sort("annee", "serie")
    )
    order = [INSCRIBED, DEPLOYED]
    base = alt.Chart(long).encode(
        x=alt.X("annee:N", sort=years, title="Année", axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("serie:N", sort=order),
        y=alt.Y(
            "actions:Q",
            title="Nombre d'actions",
            axis=count_axis(long["actions"].max()),
        ),
        color=series_colour(order),
        tooltip=series_tooltip(alt.Tooltip("annee:N", title="Année")),
    )
    bars = base.mark_bar()
    labels = base.mark_text(dy=-7).encode(
        text=alt.Text("actions:Q", format=",d"), color=alt.value(TEXT_COLOUR)
    )
    return alt.layer(bars, labels).properties(
        width=WIDTH,
        height=300,
        title=chart_title(
            "Actions inscrites et déployées",
            "Nombre d'actions du schéma de mutualisation au 31 décembre de chaque année",
        ),
    )


def participation_shares(series_long: pl.DataFrame) -> alt.LayerChart:
    """Share of member communes taking part in at least k actions, one line per k.

    ``series_long``: columns annee, seuil, communes, part (a fraction of 1).
    """
    require_columns(series_long, ["annee", "seuil", "communes", "part"], "participation_shares")
    frame, years = text_years(series_long.select("annee", "seuil", "communes", "part"))
    thresholds = sorted(set(frame["seuil"].to_list()))
    labels = [at_least(k) for k in thresholds]
    frame = frame.with_columns(
        pl.col("seuil")
        .replace_strict(thresholds, labels, return_dtype=pl.String)
        .alias("seuil_libelle")
    ).sort("annee", "seuil")
    colours = [PALETTE[i % len(PALETTE)] for i in range(len(labels))]
    colour = alt.Color(
        "seuil_libelle:N",
        sort=labels,
        scale=alt.Scale(domain=labels, range=colours),
        legend=alt.Legend(title="Communes participant à", orient="top"),
    )
    base = alt.Chart(frame).encode(
        x=alt.X("annee:N", sort=years, title="Année", axis=alt.Axis(labelAngle=0)),
        y=alt.Y(
            "part:Q",
            title="Part des communes membres",
            scale=alt.Scale(domain=[0, 1]),
            axis=alt.Axis(format=".0%", tickCount=5),
        ),
        color=colour,
        tooltip=[
            alt.Tooltip("annee:N", title="Année"),
            alt.Tooltip("seuil_libelle:N", title="Participation"),
            alt.Tooltip("communes:Q", title="Communes", format=",d"),
            alt.Tooltip("part:Q", title="Part des communes membres", format=".1%"),
        ],
    )
    lines = base.mark_line()
    points = base.mark_point().encode(
        shape=alt.Shape("seuil_libelle:N", sort=labels, scale=alt.Scale(domain=labels))
    )
    return alt.layer(lines, points).properties(
        width=WIDTH,
        height=300,
        title=chart_title(
            "Participation des communes aux actions déployées",
            "Part des communes membres participant à au moins 1, 2 ou 5 actions, "
            "au 31 décembre de chaque année",
        ),
    )


# --------------------------------------------------------------------------
# Charts of the actions
# --------------------------------------------------------------------------

def _deployed(actions_status: pl.DataFrame, name: str, column: str) -> pl.DataFrame:
    require_columns(actions_status, [*STATUS_COLUMNS, column], name)
    frame = with_domain(actions_status.filter(pl.col(column)).select(STATUS_COLUMNS))
    return with_date_label(frame, "date_deploiement", "deploiement").drop("date_deploiement")


def deployed_this_year(actions_status: pl.DataFrame) -> alt.LayerChart | alt.Chart:
    """Actions deployed during the year (deployee_annee), with their participating communes.

    When no action was deployed during the year, a chart holding only the message
    "Aucune action déployée cette année".
    """
    frame = _deployed(actions_status, "deployed_this_year", "deployee_annee")
    title = chart_title(
        "Actions déployées dans l'année",
        "Nombre de communes membres participant à chaque action au 31 décembre",
    )
    if frame.is_empty():
        return message_chart(NO_DEPLOYMENT, title)
    return action_bars(frame, alt.ColorValue(PALETTE[0])).properties(title=title)


def participations_by_action(actions_status: pl.DataFrame) -> alt.LayerChart | alt.Chart:
    """Member communes taking part in each deployed action, coloured by domain."""
    frame = _deployed(actions_status, "participations_by_action", "deployee")
    title = chart_title(
        "Participation des communes à chaque action déployée",
        "Nombre de communes membres participant à l'action au 31 décembre",
    )
    if frame.is_empty():
        return message_chart("Aucune action déployée", title)
    domains = domain_order(frame["domaine"].to_list())
    colour = alt.Color(
        "domaine:N",
        sort=domains,
        scale=domain_colours(domains),
        legend=domain_legend("right"),
    )
    return action_bars(frame, colour).properties(title=title)


def by_domain(frame: pl.DataFrame) -> alt.HConcatChart | alt.Chart:
    """Actions (inscribed, deployed) and active participations per domain, side by side.

    ``frame``: columns domaine, actions_inscrites, actions_deployees, participations.
    Domains are ordered by number of inscribed actions, then alphabetically.
    """
    columns = ["domaine", "actions_inscrites", "actions_deployees", "participations"]
    require_columns(frame, columns, "by_domain")
    title = chart_title(
        "Actions et participations par domaine",
        "Actions inscrites et déployées, participations actives des communes membres",
    )
    frame = with_domain(frame.select(columns))
    if frame.is_empty():
        return message_chart("Aucune action inscrite", title)
    keys = {d: sort_key(d) for d in frame["domaine"].to_list()}
    rows = sorted(
        frame.iter_rows(named=True), key=lambda r: (-r["actions_inscrites"], keys[r["domaine"]])
    )
    order = [r["domaine"] for r in rows]
    y = alt.Y("domaine:N", sort=order, title=None)
    height = 30 * len(order)

    series = [INSCRIBED, DEPLOYED]
    long = (
        frame.select("domaine", "actions_inscrites", "actions_deployees")
        .rename({"actions_inscrites": INSCRIBED, "actions_deployees": DEPLOYED})
        .unpivot(index="domaine", variable_name="serie", value_name="actions")
        .sort("domaine", "serie")
    )
    actions = alt.Chart(long).encode(
        y=y,
        yOffset=alt.YOffset("serie:N", sort=series),
        x=alt.X(
            "actions:Q",
            title="Nombre d'actions",
            scale=room_for_labels(frame["actions_inscrites"].max()),
            axis=count_axis(frame["actions_inscrites"].max()),
        ),
        color=series_colour(series),
        tooltip=series_tooltip(alt.Tooltip("domaine:N", title="Domaine")),
    )
    left = alt.layer(
        actions.mark_bar(),
        actions.mark_text(align="left", dx=3, fontSize=10).encode(
            text=alt.Text("actions:Q", format=",d"), color=alt.value(TEXT_COLOUR)
        ),
    ).properties(width=240, height=height)

    part = alt.Chart(frame).encode(
        y=alt.Y("domaine:N", sort=order, title=None, axis=alt.Axis(labels=False, ticks=False)),
        x=alt.X(
            "participations:Q",
            title="Participations actives",
            scale=room_for_labels(frame["participations"].max()),
            axis=count_axis(frame["participations"].max()),
        ),
        tooltip=[
            alt.Tooltip("domaine:N", title="Domaine"),
            alt.Tooltip("participations:Q", title="Participations actives", format=",d"),
        ],
    )
    right = alt.layer(
        part.mark_bar(color=PALETTE[2]),
        part.mark_text(align="left", dx=3, fontSize=10).encode(
            text=alt.Text("participations:Q", format=",d")
        ),
    ).properties(width=200, height=height)
    return alt.hconcat(left, right, spacing=24).properties(title=title)


def actions_distribution(distribution: pl.DataFrame) -> alt.LayerChart | alt.Chart:
    """How many member communes take part in exactly n actions (histogram).

    ``distribution``: columns nb_actions, communes. Every n from 0 to the largest
    one is shown, missing ones with 0 communes.
    """
    require_columns(distribution, ["nb_actions", "communes"], "actions_distribution")
    title = chart_title(
        "Nombre d'actions par commune",
        "Communes membres selon le nombre d'actions déployées auxquelles elles participent",
    )
    if distribution.is_empty():
        return message_chart("Aucune commune membre", title)
    counts = every_count(distribution)
    order = [str(n) for n in counts["nb_actions"].to_list()]
    counts = counts.with_columns(pl.col("nb_actions").cast(pl.String))
    width, dense = histogram_width(len(order), WIDTH)
    base = alt.Chart(counts).encode(
        x=alt.X(
            "nb_actions:N",
            sort=order,
            scale=alt.Scale(domain=order),
            title="Nombre d'actions par commune",
            axis=histogram_axis(dense),
        ),
        y=alt.Y(
            "communes:Q", title="Nombre de communes", axis=count_axis(counts["communes"].max())
        ),
        tooltip=[
            alt.Tooltip("nb_actions:N", title="Nombre d'actions"),
            alt.Tooltip("communes:Q", title="Nombre de communes", format=",d"),
        ],
    )
    bars = base.mark_bar()
    labels = (
        base.transform_filter(alt.datum.communes > 0)
        .mark_text(dy=-7, **({"fontSize": 9} if dense else {}))
        .encode(text=alt.Text("communes:Q", format=",d"))
    )
    return alt.layer(bars, labels).properties(width=width, height=280, title=title)


