"""Every chart of the bilan, with one shared theme and French formats.

Importing this module registers and enables the Altair theme
``"mutualisation"`` (sans-serif font, colour-blind-safe palette, titles on the
left, no border, French number and date locale). How charts are *displayed*
in a notebook is chosen with :func:`setup`:

- ``setup("static")`` (report runs, the default): the renderer
  ``"mutualisation_svg"``, Altair's ``svg`` renderer (vl-convert) plus a
  renumbering of the SVG's clip and gradient ids, which vl-convert otherwise
  numbers across the whole process; it stores a byte-identical
  ``image/svg+xml`` output in the notebook (visible offline and after nbconvert);
- ``setup("interactive")`` (analysts in JupyterLab): the renderer of
  :mod:`mutualisation.lab`, interactive and offline, each chart's code in its own
  scope and the Vega libraries loaded once per page (Altair's ``inline`` template
  draws only the first chart of a JupyterLab page).

:func:`to_svg` gives the same SVG as a string, for the report's ``figures/``.

French formats reach Vega in two ways that agree: the theme puts a
``config.locale`` into every spec (so any renderer, ``chart.save`` and the
Vega editor format numbers the French way), and :func:`setup`/:func:`to_svg`
also pass the same locale to vl-convert / vega-embed. The locale comes from
:mod:`mutualisation.formatting` (Babel): thousands are separated by U+202F,
the percent sign follows U+00A0 — d3's built-in ``fr-FR`` locale has these two
the other way round, and a locale set in the spec wins over the one given to
vl-convert.

Every chart function takes the polars frames of :mod:`mutualisation.indicators`
(French column names) and returns an Altair chart whose categorical axes all
have an explicit order. Years and other small integers used as categories
are turned into strings, so that no number format ever writes "2 019".
Whatever a reader of a static SVG needs is written on the chart (values on
bars, subtitles); tooltips only repeat it for interactive use.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import altair as alt
import polars as pl
import vl_convert as vlc

from mutualisation import prerender
from mutualisation.formatting import (
    d3_format_locale,
    d3_time_format_locale,
    fr_date,
    fr_int,
    plural,
)
from mutualisation.indicators import NO_DOMAIN

# --------------------------------------------------------------------------
# Theme
# --------------------------------------------------------------------------

#: Name of the Altair theme registered (and enabled) by this module.
THEME = "mutualisation"

#: Font stack: DejaVu Sans on Linux, Arial on Windows and macOS.
FONT = "DejaVu Sans, Arial, sans-serif"

#: Categorical palette: Okabe & Ito (2008), colour-blind safe, then four
#: colours of Paul Tol's "muted" scheme for charts with many categories.
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
    "#332288",  # indigo (Tol)
    "#882255",  # wine (Tol)
    "#44AA99",  # teal (Tol)
    "#999933",  # olive (Tol)
    "#000000",  # black
)

#: Colours of action domains after the 12 of :data:`PALETTE` (the rest of Paul Tol's
#: "muted" scheme): 17 domains get 17 colours before any repeats.
EXTRA_DOMAIN_COLOURS: tuple[str, ...] = (
    "#CC6677",  # rose
    "#DDCC77",  # sand
    "#117733",  # green
    "#88CCEE",  # cyan
    "#AA4499",  # purple
)

#: Sequential scheme (Vega name) for counts on maps and heat maps (ColorBrewer YlGnBu).
SEQUENTIAL_SCHEME = "yellowgreenblue"

#: Grey of what is out of scope (communes that are not members, "non renseigné").
GREY = "#BDBDBD"
#: Very light grey of empty cells.
LIGHT_GREY = "#EEEEEE"
#: Colour of secondary text.
TEXT_GREY = "#555555"

#: Default width of a chart's plotting area, in pixels.
WIDTH = 600
#: Width of the bars of horizontal bar charts, whose long labels take the rest.
BAR_WIDTH = 300
#: Maximum width of an axis label before Vega cuts it with an ellipsis.
LABEL_LIMIT = 400
#: Colour of the text of charts.
TEXT_COLOUR = "#333333"

#: Colours of the two action series (light for inscribed, dark for deployed).
INSCRIBED = "Actions inscrites"
DEPLOYED = "Actions déployées"
_SERIES_COLOURS = {INSCRIBED: PALETTE[4], DEPLOYED: PALETTE[0]}

#: Message shown instead of an empty chart of the actions deployed during the year.
NO_DEPLOYMENT = "Aucune action déployée cette année"


@alt.theme.register(THEME, enable=True)
def theme() -> alt.theme.ThemeConfig:
    """The shared look of every chart (Vega-Lite ``config``)."""
    return {
        "config": {
            "background": "white",
            "font": FONT,
            "locale": {"number": d3_format_locale(), "time": d3_time_format_locale()},
            "view": {"continuousWidth": WIDTH, "continuousHeight": 300, "stroke": None},
            "padding": 8,
            "title": {
                "anchor": "start",
                "fontSize": 15,
                "fontWeight": "bold",
                "color": "#222222",
                "subtitleFontSize": 12,
                "subtitleColor": TEXT_GREY,
                "offset": 12,
            },
            "axis": {
                "labelFontSize": 11,
                "titleFontSize": 12,
                "titleFontWeight": "normal",
                "labelColor": "#333333",
                "titleColor": "#333333",
                "gridColor": "#E6E6E6",
                "domainColor": "#888888",
                "tickColor": "#888888",
                "labelLimit": LABEL_LIMIT,
            },
            "legend": {
                "labelFontSize": 11,
                "titleFontSize": 12,
                "titleFontWeight": "normal",
                "labelLimit": 260,
            },
            "header": {"labelFontSize": 12, "titleFontSize": 12},
            "range": {
                "category": list(PALETTE),
                "ramp": {"scheme": SEQUENTIAL_SCHEME},
                "heatmap": {"scheme": SEQUENTIAL_SCHEME},
            },
            "mark": {"color": PALETTE[0]},
            "bar": {"color": PALETTE[0]},
            "line": {"strokeWidth": 2.5},
            "point": {"size": 60, "filled": True},
            "text": {"fontSize": 11, "color": TEXT_COLOUR},
        }
    }


# --------------------------------------------------------------------------
# Rendering: static SVG or interactive HTML
# --------------------------------------------------------------------------

Mode = Literal["static", "interactive"]
ChartLike = alt.Chart | alt.LayerChart | alt.HConcatChart | alt.VConcatChart


def _embed_options() -> dict[str, Any]:
    """Locale options for vega-embed and vl-convert (``formatLocale`` …)."""
    return {"formatLocale": d3_format_locale(), "timeFormatLocale": d3_time_format_locale()}


#: Name of the Altair renderer of :func:`use_static`.
STATIC_RENDERER = "mutualisation_svg"

_VL_VERSION = "_".join(alt.SCHEMA_VERSION.split(".")[:2])  # "v6_4", as Altair gives vl-convert

# Vega's SVG writer numbers clip paths and gradients with process-wide counters
# ("clip1", "clip2", ..., "gradient_0", "gradient_1", ...): the same chart
# converted twice in one process gets different ids. They are renumbered.
_SVG_ID = re.compile(r'(\bid="|url\(#|href="#)([A-Za-z_-]*?)(\d+)(?=[")])')


def _stable_ids(svg: str) -> str:
    """Renumber the ids of an SVG in order of appearance, per prefix ("clip0", "gradient_0")."""
    mapping: dict[str, str] = {}
    counts: dict[str, int] = {}
    for match in _SVG_ID.finditer(svg):
        if match.group(1) == 'id="':
            old = match.group(2) + match.group(3)
            if old not in mapping:
                prefix = match.group(2)
                mapping[old] = f"{prefix}{counts.get(prefix, 0)}"
                counts[prefix] = counts.get(prefix, 0) + 1

    def replace(match: re.Match[str]) -> str:
        old = match.group(2) + match.group(3)
        return match.group(1) + mapping.get(old, old)

    return _SVG_ID.sub(replace, svg)


def _vl_convert_arguments() -> dict[str, Any]:
    """Everything vl-convert is given besides the spec."""
    options = _embed_options()
    return {"vl_version": _VL_VERSION, "format_locale": options["formatLocale"],
            "time_format_locale": options["timeFormatLocale"]}


def draw_svg(spec: dict[str, Any]) -> str:
    """Draw a Vega-Lite spec into a deterministic SVG string (vl-convert, French locale)."""
    return _stable_ids(vlc.vegalite_to_svg(spec, **_vl_convert_arguments()))


@functools.cache
def _drawing_code() -> str:
    """SHA-256 of this module, whose code post-processes every SVG."""
    return hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def spec_key(spec: dict[str, Any]) -> str:
    """SHA-256 of ``spec`` and of everything else that decides what :func:`draw_svg` draws.

    Key order counts: Altair writes a spec's keys in a fixed order, and so the key is that
    of the exact spec.
    """
    payload = {"spec": spec, "vl-convert": vlc.__version__, "code": _drawing_code(),
               **_vl_convert_arguments()}
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def spec_to_svg(spec: dict[str, Any]) -> str:
    """A Vega-Lite spec as a deterministic SVG string (vl-convert, French locale).

    In a kernel run by a single ``mutualisation report``, the chart was usually drawn
    ahead by a helper process (:mod:`mutualisation.prerender`): the same bytes, found by
    :func:`spec_key`, without the wait.
    """
    if prerender.folder_in_use() is not None:
        try:
            svg = prerender.drawn_ahead(spec_key(spec))
        except (OSError, ValueError):  # an unreadable folder only costs the drawing
            svg = None
        if svg is not None:
            return svg
    return draw_svg(spec)


#: Key of a chart's ``usermeta`` (and of its notebook output's metadata) naming its figure file.
FIGURE_KEY = "fichier"


def named(chart: ChartLike, name: str) -> ChartLike:
    """``chart`` tagged with the file stem of its figure (ignored by Vega-Lite when drawing)."""
    return chart.properties(usermeta={FIGURE_KEY: name})


def _static_renderer(
    spec: dict[str, Any], **metadata: Any
) -> dict[str, str] | tuple[dict[str, str], dict[str, Any]]:
    """Altair renderer: the ``image/svg+xml`` output of :func:`spec_to_svg`.

    A named chart (see :func:`named`) carries its name in the output's metadata, so the
    report runner takes the figure files from the executed notebook instead of drawing
    every chart a second time.
    """
    bundle = {"image/svg+xml": spec_to_svg(spec)}
    name = (spec.get("usermeta") or {}).get(FIGURE_KEY)
    if name is None:
        return bundle
    return bundle, {"image/svg+xml": {FIGURE_KEY: name}}


alt.renderers.register(STATIC_RENDERER, _static_renderer)


def use_static() -> None:
    """Display charts as SVG made by vl-convert: byte-identical notebook outputs.

    Like Altair's ``svg`` renderer (same vl-convert call, same locale), plus the
    renumbering of :func:`_stable_ids`, so that an output does not depend on the
    charts displayed before it in the kernel.
    """
    alt.theme.enable(THEME)
    alt.renderers.enable(STATIC_RENDERER, embed_options=_embed_options())


def setup(mode: Mode = "static") -> None:
    """Choose how charts display: ``"static"`` (reports) or ``"interactive"`` (JupyterLab)."""
    if mode == "static":
        use_static()
    elif mode == "interactive":
        from . import lab  # the interactive renderer, for JupyterLab only

        lab.use_interactive()
    else:
        raise ValueError(f"mode must be 'static' or 'interactive', got {mode!r}")


def to_dict(chart: ChartLike, *, validate: bool = True) -> dict[str, Any]:
    """The Vega-Lite spec of ``chart`` with the ``mutualisation`` theme, whatever is enabled.

    ``validate=False`` skips Altair's check against the Vega-Lite schema; the spec is the same.
    """
    with alt.theme.enable(THEME):
        return chart.to_dict(validate=validate)


def to_svg(chart: ChartLike) -> str:
    """The chart as an SVG string, identical from run to run (vl-convert, French locale).

    Gives the same bytes as the notebook's ``image/svg+xml`` output in static mode.
    """
    return spec_to_svg(to_dict(chart))


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

_LIGATURES = str.maketrans({"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss"})


def sort_key(text: str) -> tuple[str, str]:
    """A key sorting French names as a dictionary does, without ICU.

    Accents and ligatures are ignored first (É with E, Œ as OE), case too; the
    original text breaks ties, so the order is total and deterministic.
    """
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return bare.casefold(), text


def french_sorted(values: Iterable[str]) -> list[str]:
    """Distinct ``values`` in French dictionary order (see :func:`sort_key`)."""
    return sorted(set(values), key=sort_key)


def _require(frame: pl.DataFrame, columns: Sequence[str], name: str) -> None:
    """Raise ValueError when ``frame`` lacks one of ``columns``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing columns {missing}; got {frame.columns}")


def _title(text: str, subtitle: str | Sequence[str] | None = None) -> alt.TitleParams:
    if subtitle is None:
        return alt.TitleParams(text)
    return alt.TitleParams(text, subtitle=subtitle)


def _message(text: str, title: alt.TitleParams, width: int = WIDTH) -> alt.Chart:
    """A chart holding only a centred message (for empty data)."""
    return (
        alt.Chart(alt.Data(values=[{"message": text}]))
        .mark_text(fontSize=13, color=TEXT_GREY, align="center", baseline="middle")
        .encode(text="message:N", x=alt.value(width / 2), y=alt.value(30))
        .properties(width=width, height=60, title=title)
    )


def _room_for_labels(largest: object) -> alt.Scale:
    """A linear scale from 0 leaving room for the value written after the longest bar."""
    top = float(largest) if isinstance(largest, int | float) and largest > 0 else 1.0
    return alt.Scale(domain=[0, top * 1.08], nice=True)


def _series_colour(order: Sequence[str]) -> alt.Color:
    """Colour by series: "Actions inscrites" / "Actions déployées", fixed colours, ``order``."""
    return alt.Color(
        "serie:N",
        sort=list(order),
        scale=alt.Scale(domain=list(order), range=[_SERIES_COLOURS[s] for s in order]),
        legend=alt.Legend(title=None, orient="top"),
    )


def _series_tooltip(category: alt.Tooltip) -> list[alt.Tooltip]:
    """Tooltip of a bar of the two series: its ``category``, its series, its count."""
    return [
        category,
        alt.Tooltip("serie:N", title="Série"),
        alt.Tooltip("actions:Q", title="Nombre d'actions", format=",d"),
    ]


def _domain_colours(domains: Sequence[str]) -> alt.Scale:
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


def _domain_legend(orient: str, count: int = 0) -> alt.Legend:
    """The legend of the ``count`` domain colours; every domain listed however many there
    are (Vega otherwise stops at 30 and writes "…N entries", in English). Under a chart,
    more than :data:`LEGEND_ONE_LINE` domains wrap instead of widening the chart."""
    if orient == "bottom" and count > LEGEND_ONE_LINE:
        return alt.Legend(title="Domaine", orient=orient, symbolLimit=0,
                          columns=LEGEND_COLUMNS)
    return alt.Legend(title="Domaine", orient=orient, symbolLimit=0)


def _domain_order(values: Iterable[str]) -> list[str]:
    """Domains in French order, "non renseigné" last."""
    found = french_sorted(values)
    return [d for d in found if d != NO_DOMAIN] + ([NO_DOMAIN] if NO_DOMAIN in found else [])


def _with_domain(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col("domaine").fill_null(NO_DOMAIN))


def _with_date_label(frame: pl.DataFrame, column: str, label: str) -> pl.DataFrame:
    """Add ``label``: the date ``column`` in French words ("" when null)."""
    dates = frame[column].to_list()
    return frame.with_columns(
        pl.Series(label, [fr_date(d) if d is not None else "" for d in dates], dtype=pl.String)
    )


def _years(frame: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """``annee`` as strings (no number format may touch a year) and their order."""
    years = sorted(set(frame["annee"].to_list()))
    return frame.with_columns(pl.col("annee").cast(pl.String)), [str(y) for y in years]


def _threshold_label(k: int) -> str:
    return "au moins " + plural(k, "action", "actions")


# --------------------------------------------------------------------------
# Charts of the yearly series
# --------------------------------------------------------------------------


def actions_by_year(series: pl.DataFrame) -> alt.LayerChart:
    """Inscribed and deployed actions at the end of each year, as grouped bars.

    ``series``: columns annee, actions_inscrites, actions_deployees (extra columns
    are ignored), one row per year.
    """
    _require(series, ["annee", "actions_inscrites", "actions_deployees"], "actions_by_year")
    frame, years = _years(series.select("annee", "actions_inscrites", "actions_deployees"))
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
            axis=alt.Axis(format=",d", tickMinStep=1),
        ),
        color=_series_colour(order),
        tooltip=_series_tooltip(alt.Tooltip("annee:N", title="Année")),
    )
    bars = base.mark_bar()
    labels = base.mark_text(dy=-7).encode(
        text=alt.Text("actions:Q", format=",d"), color=alt.value(TEXT_COLOUR)
    )
    return alt.layer(bars, labels).properties(
        width=WIDTH,
        height=300,
        title=_title(
            "Actions inscrites et déployées",
            "Nombre d'actions du schéma de mutualisation au 31 décembre de chaque année",
        ),
    )


def participation_shares(series_long: pl.DataFrame) -> alt.LayerChart:
    """Share of member communes taking part in at least k actions, one line per k.

    ``series_long``: columns annee, seuil, communes, part (a fraction of 1).
    """
    _require(series_long, ["annee", "seuil", "communes", "part"], "participation_shares")
    frame, years = _years(series_long.select("annee", "seuil", "communes", "part"))
    thresholds = sorted(set(frame["seuil"].to_list()))
    labels = [_threshold_label(k) for k in thresholds]
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
        title=_title(
            "Participation des communes aux actions déployées",
            "Part des communes membres participant à au moins 1, 2 ou 5 actions, "
            "au 31 décembre de chaque année",
        ),
    )


# --------------------------------------------------------------------------
# Charts of the actions
# --------------------------------------------------------------------------

_STATUS_COLUMNS = ["action_id", "libelle", "domaine", "date_deploiement", "nb_communes"]


#: Longest label (characters) of an action whose id is appended to tell it from another
#: action of the same libelle: the libelle is cut before the id, so that Vega's
#: ``labelLimit`` never cuts the id off.
LABEL_CHARS = 60


def _unique_labels(frame: pl.DataFrame) -> pl.DataFrame:
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


def _action_bars(frame: pl.DataFrame, colour: alt.Color | alt.ColorValue) -> alt.LayerChart:
    """Horizontal bars of nb_communes per action (libelle), largest first, value at the end.

    Every action has its bar however many there are; the chart grows in height (20 pixels
    a bar, 16 and smaller text above :data:`MANY_BARS` bars).
    """
    frame = _unique_labels(  # two actions with the same label must not share a bar
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
            scale=_room_for_labels(frame["nb_communes"].max()),
            axis=alt.Axis(format=",d", tickMinStep=1),
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


def _deployed(actions_status: pl.DataFrame, name: str, column: str) -> pl.DataFrame:
    _require(actions_status, [*_STATUS_COLUMNS, column], name)
    frame = _with_domain(actions_status.filter(pl.col(column)).select(_STATUS_COLUMNS))
    return _with_date_label(frame, "date_deploiement", "deploiement").drop("date_deploiement")


def deployed_this_year(actions_status: pl.DataFrame) -> alt.LayerChart | alt.Chart:
    """Actions deployed during the year (deployee_annee), with their participating communes.

    When no action was deployed during the year, a chart holding only the message
    "Aucune action déployée cette année".
    """
    frame = _deployed(actions_status, "deployed_this_year", "deployee_annee")
    title = _title(
        "Actions déployées dans l'année",
        "Nombre de communes membres participant à chaque action au 31 décembre",
    )
    if frame.is_empty():
        return _message(NO_DEPLOYMENT, title)
    return _action_bars(frame, alt.ColorValue(PALETTE[0])).properties(title=title)


def participations_by_action(actions_status: pl.DataFrame) -> alt.LayerChart | alt.Chart:
    """Member communes taking part in each deployed action, coloured by domain."""
    frame = _deployed(actions_status, "participations_by_action", "deployee")
    title = _title(
        "Participation des communes à chaque action déployée",
        "Nombre de communes membres participant à l'action au 31 décembre",
    )
    if frame.is_empty():
        return _message("Aucune action déployée", title)
    domains = _domain_order(frame["domaine"].to_list())
    colour = alt.Color(
        "domaine:N",
        sort=domains,
        scale=_domain_colours(domains),
        legend=_domain_legend("right"),
    )
    return _action_bars(frame, colour).properties(title=title)


def by_domain(frame: pl.DataFrame) -> alt.HConcatChart | alt.Chart:
    """Actions (inscribed, deployed) and active participations per domain, side by side.

    ``frame``: columns domaine, actions_inscrites, actions_deployees, participations.
    Domains are ordered by number of inscribed actions, then alphabetically.
    """
    columns = ["domaine", "actions_inscrites", "actions_deployees", "participations"]
    _require(frame, columns, "by_domain")
    title = _title(
        "Actions et participations par domaine",
        "Actions inscrites et déployées, participations actives des communes membres",
    )
    frame = _with_domain(frame.select(columns))
    if frame.is_empty():
        return _message("Aucune action inscrite", title)
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
            scale=_room_for_labels(frame["actions_inscrites"].max()),
            axis=alt.Axis(format=",d", tickMinStep=1),
        ),
        color=_series_colour(series),
        tooltip=_series_tooltip(alt.Tooltip("domaine:N", title="Domaine")),
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
            scale=_room_for_labels(frame["participations"].max()),
            axis=alt.Axis(format=",d"),
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


#: Narrowest bar of a histogram (pixels of its band): a two-digit value still fits.
HISTOGRAM_STEP = 16


#: Widest a histogram grows (pixels), to stay within a page of the report.
HISTOGRAM_MAX_WIDTH = 840


def _histogram_width(bars: int, width: int) -> tuple[int, bool]:
    """The width of a histogram of ``bars`` bars, and whether it is *dense*.

    ``width``, or wider when the bars would get less than :data:`HISTOGRAM_STEP` pixels,
    up to :data:`HISTOGRAM_MAX_WIDTH`; dense beyond that: smaller values on the bars and
    every other label of the axis when they would overlap.
    """
    wide = max(width, HISTOGRAM_STEP * bars)
    if wide <= HISTOGRAM_MAX_WIDTH:
        return wide, False
    return HISTOGRAM_MAX_WIDTH, True


def _histogram_axis(dense: bool) -> alt.Axis:
    """Axis of the numbers of actions of a histogram (see :func:`_histogram_width`)."""
    if dense:
        return alt.Axis(labelAngle=0, labelOverlap="parity")
    return alt.Axis(labelAngle=0)


def actions_distribution(distribution: pl.DataFrame) -> alt.LayerChart | alt.Chart:
    """How many member communes take part in exactly n actions (histogram).

    ``distribution``: columns nb_actions, communes. Every n from 0 to the largest
    one is shown, missing ones with 0 communes.
    """
    _require(distribution, ["nb_actions", "communes"], "actions_distribution")
    title = _title(
        "Nombre d'actions par commune",
        "Communes membres selon le nombre d'actions déployées auxquelles elles participent",
    )
    if distribution.is_empty():
        return _message("Aucune commune membre", title)
    largest = int(distribution["nb_actions"].max())
    counts = (
        pl.DataFrame({"nb_actions": list(range(largest + 1))}, schema={"nb_actions": pl.Int64})
        .join(
            distribution.select(pl.col("nb_actions").cast(pl.Int64), "communes"),
            on="nb_actions",
            how="left",
        )
        .with_columns(pl.col("communes").fill_null(0))
        .sort("nb_actions")
    )
    order = [str(n) for n in counts["nb_actions"].to_list()]
    counts = counts.with_columns(pl.col("nb_actions").cast(pl.String))
    width, dense = _histogram_width(len(order), WIDTH)
    base = alt.Chart(counts).encode(
        x=alt.X(
            "nb_actions:N",
            sort=order,
            scale=alt.Scale(domain=order),
            title="Nombre d'actions par commune",
            axis=_histogram_axis(dense),
        ),
        y=alt.Y(
            "communes:Q", title="Nombre de communes", axis=alt.Axis(format=",d", tickMinStep=1)
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
    _require(actions_per_commune, ["code_insee", "nom", "nb_actions"], "commune_map")
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
            legend=alt.Legend(format=",d", orient="right", gradientLength=200),
        ),
        tooltip=tooltip,
    )
    return (
        alt.layer(grey, coloured)
        .project(type="mercator")
        .properties(width=WIDTH, height=480, title=_title("Carte des participations", subtitle))
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
    _require(actions_per_commune, ["code_insee", "nom", "actions"], "commune_action_matrix")
    _require(
        actions_status, ["action_id", "libelle", "deployee", "nb_communes"], "commune_action_matrix"
    )
    title = _title(
        "Participation de chaque commune aux actions déployées",
        "Une ligne par commune membre, une colonne par action déployée "
        "(de la plus suivie à la moins suivie)",
    )
    deployed = actions_status.filter(pl.col("deployee")).sort(
        pl.col("nb_communes"), pl.col("action_id"), descending=[True, False]
    )
    if deployed.is_empty() or actions_per_commune.is_empty():
        return _message("Aucune action déployée ou aucune commune membre", title)
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


#: Population bounds of the size classes of :func:`uptake_by_size`.
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


def uptake_by_size(actions_per_commune: pl.DataFrame) -> alt.LayerChart | alt.Chart:
    """Mean number of actions per member commune, by population size class.

    ``actions_per_commune``: columns population, nb_actions. The number of
    communes of each class is written inside its bar.
    """
    _require(actions_per_commune, ["population", "nb_actions"], "uptake_by_size")
    title = _title(
        "Nombre moyen d'actions selon la taille de la commune",
        "Communes membres regroupées par population municipale",
    )
    if actions_per_commune.is_empty():
        return _message("Aucune commune membre", title)
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
            axis=alt.Axis(format=",d", tickMinStep=1),
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


# --------------------------------------------------------------------------
# Charts of the commune sheet (mutualisation.fiche)
# --------------------------------------------------------------------------

#: Label of the mean of all member communes on :func:`commune_timeline`.
ALL_COMMUNES_MEAN = "Moyenne des communes membres"


def _strate_label(size_class_label: str) -> str:
    """"Moyenne des communes de 5 000 à 20 000 hab." from a size class label."""
    return f"Moyenne des communes de {size_class_label}"


def _stable_domain_colours(present: Iterable[str], every: Sequence[str] | None) -> alt.Scale:
    """Colours of the ``present`` domains as :func:`_domain_colours` gives them for
    ``every`` domain: a domain keeps its colour from one chart of a sheet to the next,
    and the legend lists only the domains shown."""
    full = _domain_order([*present, *(every or [])])
    shown = set(present)
    scale = _domain_colours(full)
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
    _require(timeline, columns, "commune_timeline")
    title = _title(
        f"Nombre d'actions de {name} depuis son adhésion",
        "Actions déployées auxquelles la commune participe au 31 décembre de chaque année, "
        "comparées aux moyennes",
    )
    if timeline.is_empty():
        return _message("Aucune année à afficher", title)
    frame, years = _years(timeline.select(columns))
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
            axis=alt.Axis(format=",d", tickMinStep=1),
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
    _require(actions, ["action_id", "libelle", "domaine", "depuis"], "commune_actions_timeline")
    title = _title(
        "Les actions auxquelles la commune participe",
        f"De son entrée dans l'action au {fr_date(reference)}, par domaine",
    )
    if actions.is_empty():
        return _message("La commune ne participe à aucune action déployée", title)
    frame = _unique_labels(
        _with_date_label(_with_domain(actions.select("action_id", "libelle", "domaine",
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
            legend=_domain_legend("bottom", len(domains)),
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
    _require(available, _STATUS_COLUMNS, "available_actions")
    title = _title(
        "Les actions que la commune peut encore rejoindre",
        "Actions déployées, avec le nombre de communes membres qui y participent "
        "au 31 décembre",
    )
    if available.is_empty():
        return _message(message, title)
    frame = _with_date_label(_with_domain(available.select(_STATUS_COLUMNS)),
                             "date_deploiement", "deploiement").drop("date_deploiement")
    colour_scale = _stable_domain_colours(frame["domaine"].to_list(), domains)
    domains = colour_scale.domain
    colour = alt.Color(
        "domaine:N",
        sort=domains,
        scale=colour_scale,
        legend=_domain_legend("right"),
    )
    return _action_bars(frame, colour).properties(title=title)


def peer_distribution(
    strate: pl.DataFrame, code_insee: str, name: str, size_class_label: str
) -> alt.LayerChart | alt.Chart:
    """The member communes of a size class by number of actions, the commune's bar
    highlighted (histogram; every n from 0 to the largest).

    ``strate``: columns code_insee, nb_actions, one row per commune of the class.
    """
    _require(strate, ["code_insee", "nb_actions"], "peer_distribution")
    title = _title(
        f"{name} parmi les communes de {size_class_label}",
        "Communes membres de cette taille selon le nombre d'actions déployées auxquelles "
        "elles participent",
    )
    if strate.is_empty():
        return _message("Population inconnue : pas de comparaison par taille", title)
    own = strate.filter(pl.col("code_insee") == code_insee)["nb_actions"]
    own_value = int(own[0]) if own.len() else None
    largest = int(strate["nb_actions"].max())
    counts = (
        pl.DataFrame({"nb_actions": list(range(largest + 1))}, schema={"nb_actions": pl.Int64})
        .join(
            strate.group_by("nb_actions").agg(pl.len().cast(pl.Int64).alias("communes"))
            .with_columns(pl.col("nb_actions").cast(pl.Int64)),
            on="nb_actions",
            how="left",
        )
        .with_columns(pl.col("communes").fill_null(0))
        .sort("nb_actions")
    )
    mine = f"dont {name}"
    others = "autres communes"
    counts = counts.with_columns(
        pl.when(pl.col("nb_actions") == own_value).then(pl.lit(mine)).otherwise(pl.lit(others))
        .alias("groupe"),
        pl.col("nb_actions").cast(pl.String),
    )
    order = counts["nb_actions"].to_list()
    groups = [mine, others]
    width, dense = _histogram_width(len(order), min(WIDTH, max(200, 28 * len(order))))
    base = alt.Chart(counts).encode(
        x=alt.X("nb_actions:N", sort=order, scale=alt.Scale(domain=order),
                title="Nombre d'actions par commune", axis=_histogram_axis(dense)),
        y=alt.Y("communes:Q", title="Nombre de communes",
                axis=alt.Axis(format=",d", tickMinStep=1)),
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
