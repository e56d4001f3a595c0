"""The charts of the commune sheet (:mod:`mutualisation.compute.fiche`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import altair as alt
import polars as pl

from mutualisation.formatting import (
    fr_date,
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
    text_years,
    unique_labels,
    with_date_label,
    with_domain,
)
from mutualisation.present.charts.theme import (
    BAR_WIDTH,
    LABEL_LIMIT,
    PALETTE,
    TEXT_COLOUR,
    TEXT_GREY,
    WIDTH,
)

# --------------------------------------------------------------------------
# Charts of the commune sheet (mutualisation.compute.fiche)
# --------------------------------------------------------------------------

#: Label of the mean of all member communes on :func:`commune_timeline`.
ALL_COMMUNES_MEAN = "Moyenne des communes membres"


def _strate_label(size_class_label: str) -> str:
    """"Moyenne des communes de 5 000 à 20 000 hab." from a size class label."""
    return f"Moyenne des communes de {size_class_label}"


def _stable_domain_colours(present: Iterable[str], every: Sequence[str] | None) -> alt.Scale:
    """Colours of the ``present`` domains as :func:`domain_colours` gives them for
    ``every`` domain: a domain keeps its colour from one chart of a sheet to the next,
    and the legend lists only the domains shown."""
    full = domain_order([*present, *(every or [])])
    shown = set(present)
    scale = domain_colours(full)
    pairs = [(d, c) for d, c in zip(full, scale.range, strict=True) if d in shown]
    return alt.Scale(domain=[d for d, _ in pairs], range=[c for _, c in pairs])


def commune_timeline(
    timeline: pl.DataFrame, name: str, size_class_label: str
) -> alt.LayerChart | alt.Chart:
    """A commune's number of actions each year beside the mean of all member communes
    and the mean of the member communes of its size class (one line each).

    ``timeline``: columns annee, nb_actions, moyenne_communes, moyenne_strate (null
    values are left out, e.g. the size class mean of a commune without population).
    The commune's own values are written above its points.
    """
    columns = ["annee", "nb_actions", "moyenne_communes", "moyenne_strate"]
    require_columns(timeline, columns, "commune_timeline")
    title = chart_title(
        f"Nombre d'actions de {name} depuis son adhésion",
        "Actions déployées auxquelles la commune participe au 31 décembre de chaque année, "
        "comparées aux moyennes",
    )
    if timeline.is_empty():
        return message_chart("Aucune année à afficher", title)
    frame, years = text_years(timeline.select(columns))
    order = [name, ALL_COMMUNES_MEAN, _strate_label(size_class_label)]
    long = (
        frame.select(
            "annee",
            pl.col("nb_actions").cast(pl.Float64).alias(order[0]),
            pl.col("moyenne_communes").alias(order[1]),
            pl.col("moyenne_strate").alias(order[2]),
        )
        .unpivot(index="annee", variable_name="serie", value_name="actions")
        .drop_nulls("actions")
        .with_columns(
            pl.col("serie").replace_strict(order, list(range(len(order)))).alias("rang")
        )
        .sort("rang", "annee")
    )
    present = [s for s in order if s in set(long["serie"].to_list())]
    colours = {order[0]: PALETTE[0], order[1]: PALETTE[1], order[2]: PALETTE[2]}
    dashes = {order[0]: [1, 0], order[1]: [6, 4], order[2]: [2, 3]}
    base = alt.Chart(long).encode(
        x=alt.X("annee:N", sort=years, scale=alt.Scale(domain=years), title="Année",
                axis=alt.Axis(labelAngle=0)),
        y=alt.Y(
            "actions:Q",
            title="Nombre d'actions",
            scale=alt.Scale(zero=True, nice=True),
            axis=count_axis(long["actions"].max()),
        ),
        color=alt.Color(
            "serie:N",
            sort=present,
            scale=alt.Scale(domain=present, range=[colours[s] for s in present]),
            legend=alt.Legend(title=None, orient="top", direction="vertical",
                              labelLimit=LABEL_LIMIT),
        ),
        strokeDash=alt.StrokeDash(
            "serie:N",
            sort=present,
            scale=alt.Scale(domain=present, range=[dashes[s] for s in present]),
            legend=None,
        ),
        tooltip=[
            alt.Tooltip("annee:N", title="Année"),
            alt.Tooltip("serie:N", title="Série"),
            alt.Tooltip("actions:Q", title="Nombre d'actions", format=",.1f"),
        ],
    )
    lines = base.mark_line()
    points = base.mark_point()
    labels = (
        base.transform_filter(alt.datum.serie == name)
        .mark_text(dy=-10, fontWeight="bold")
        .encode(text=alt.Text("actions:Q", format=",d"), color=alt.value(TEXT_COLOUR))
    )
    return alt.layer(lines, points, labels).properties(width=WIDTH, height=280, title=title)


def commune_actions_timeline(
    actions: pl.DataFrame, reference: Any, domains: Sequence[str] | None = None
) -> alt.LayerChart | alt.Chart:
    """When a commune joined each of its actions: one bar per action, from the start of
    its current participation (``depuis``) to the reference date, coloured by domain.

    ``actions``: columns action_id, libelle, domaine, depuis (a date), in the order
    the bars are drawn (top first). ``reference``: the reference date D. The start
    date is written after each bar. ``domains``: every domain of the data, so that a
    domain has the same colour on every chart of a sheet (default: those of the frame).
    """
    require_columns(actions, ["action_id", "libelle", "domaine", "depuis"],
                    "commune_actions_timeline")
    title = chart_title(
        "Les actions auxquelles la commune participe",
        f"De son entrée dans l'action au {fr_date(reference)}, par domaine",
    )
    if actions.is_empty():
        return message_chart("La commune ne participe à aucune action déployée", title)
    frame = unique_labels(
        with_date_label(with_domain(actions.select("action_id", "libelle", "domaine",
                                                     "depuis")), "depuis", "depuis_texte")
    ).with_columns(
        pl.lit(reference).alias("fin"),
        pl.format("depuis le {}", "depuis_texte").alias("mention"),
    )
    order = frame["etiquette"].to_list()
    colour_scale = _stable_domain_colours(frame["domaine"].to_list(), domains)
    domains = colour_scale.domain
    start = frame["depuis"].min()
    base = alt.Chart(frame).encode(
        y=alt.Y("etiquette:N", sort=order, scale=alt.Scale(domain=order), title=None),
        tooltip=[
            alt.Tooltip("libelle:N", title="Action"),
            alt.Tooltip("action_id:N", title="Identifiant"),
            alt.Tooltip("domaine:N", title="Domaine"),
            alt.Tooltip("depuis_texte:N", title="Participation depuis le"),
        ],
    )
    x_scale = alt.Scale(domain=[f"{start.year}-01-01", reference.isoformat()])
    bars = base.mark_bar(height={"band": 0.7}).encode(
        x=alt.X("depuis:T", title=None, scale=x_scale,
                axis=alt.Axis(format="%Y", tickCount="year", labelAngle=0)),
        x2="fin:T",
        color=alt.Color(
            "domaine:N",
            sort=domains,
            scale=colour_scale,
            legend=domain_legend("bottom", len(domains)),
        ),
    )
    mentions = base.mark_text(align="left", dx=4, fontSize=10, color=TEXT_GREY).encode(
        x=alt.X("fin:T", scale=x_scale), text="mention:N"
    )
    return alt.layer(bars, mentions).properties(
        width=BAR_WIDTH, height=alt.Step(22), title=title
    )


def available_actions(
    available: pl.DataFrame,
    message: str = "Aucune action déployée à rejoindre",
    domains: Sequence[str] | None = None,
) -> alt.LayerChart | alt.Chart:
    """Deployed actions a commune does not take part in yet, with the number of member
    communes taking part in each (bars coloured by domain, the most joined first).

    ``available``: columns action_id, libelle, domaine, date_deploiement, nb_communes.
    ``message`` is shown instead when the frame is empty. ``domains``: as for
    :func:`commune_actions_timeline`.
    """
    require_columns(available, STATUS_COLUMNS, "available_actions")
    title = chart_title(
        "Les actions que la commune peut encore rejoindre",
        "Actions déployées, avec le nombre de communes membres qui y participent "
        "au 31 décembre",
    )
    if available.is_empty():
        return message_chart(message, title)
    frame = with_date_label(with_domain(available.select(STATUS_COLUMNS)),
                             "date_deploiement", "deploiement").drop("date_deploiement")
    colour_scale = _stable_domain_colours(frame["domaine"].to_list(), domains)
    domains = colour_scale.domain
    colour = alt.Color(
        "domaine:N",
        sort=domains,
        scale=colour_scale,
        legend=domain_legend("right"),
    )
    return action_bars(frame, colour).properties(title=title)


def peer_distribution(
    peer_counts: pl.DataFrame, code_insee: str, name: str, size_class_label: str
) -> alt.LayerChart | alt.Chart:
    """The member communes of a size class by number of actions, the commune's bar
    highlighted (histogram; every n from 0 to the largest).

    ``peer_counts``: columns code_insee, nb_actions, one row per commune of the class.
    """
    require_columns(peer_counts, ["code_insee", "nb_actions"], "peer_distribution")
    title = chart_title(
        f"{name} parmi les communes de {size_class_label}",
        "Communes membres de cette taille selon le nombre d'actions déployées auxquelles "
        "elles participent",
    )
    if peer_counts.is_empty():
        return message_chart("Population inconnue : pas de comparaison par taille", title)
    own = peer_counts.filter(pl.col("code_insee") == code_insee)["nb_actions"]
    own_value = int(own[0]) if own.len() else None
    counts = every_count(
        peer_counts.group_by("nb_actions").agg(pl.len().cast(pl.Int64).alias("communes")))
    mine = f"dont {name}"
    others = "autres communes"
    counts = counts.with_columns(
        pl.when(pl.col("nb_actions") == own_value).then(pl.lit(mine)).otherwise(pl.lit(others))
        .alias("groupe"),
        pl.col("nb_actions").cast(pl.String),
    )
    order = counts["nb_actions"].to_list()
    groups = [mine, others]
    width, dense = histogram_width(len(order), min(WIDTH, max(200, 28 * len(order))))
    base = alt.Chart(counts).encode(
        x=alt.X("nb_actions:N", sort=order, scale=alt.Scale(domain=order),
                title="Nombre d'actions par commune", axis=histogram_axis(dense)),
        y=alt.Y("communes:Q", title="Nombre de communes",
                axis=count_axis(counts["communes"].max())),
        tooltip=[
            alt.Tooltip("nb_actions:N", title="Nombre d'actions"),
            alt.Tooltip("communes:Q", title="Nombre de communes", format=",d"),
        ],
    )
    bars = base.mark_bar().encode(
        color=alt.Color(
            "groupe:N",
            sort=groups,
            scale=alt.Scale(domain=groups, range=[PALETTE[1], PALETTE[0]]),
            legend=alt.Legend(title=None, orient="top"),
        )
    )
    labels = (
        base.transform_filter(alt.datum.communes > 0)
        .mark_text(dy=-7, **({"fontSize": 9} if dense else {}))
        .encode(text=alt.Text("communes:Q", format=",d"))
    )
    return alt.layer(bars, labels).properties(width=width, height=220, title=title)
