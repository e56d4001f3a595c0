"""The shared look of every chart: the Altair theme ``"mutualisation"`` and its colours.

Importing this module registers and enables the theme (sans-serif font, colour-blind-safe
palette, titles on the left, no border, French number and date locale).
"""

from __future__ import annotations

from typing import Any

import altair as alt

from mutualisation.formatting import (
    d3_format_locale,
    d3_time_format_locale,
)
from mutualisation.present.fonts import FAMILY

#: Name of the Altair theme registered (and enabled) by this module.
THEME = "mutualisation"

#: Font of every chart: the one shipped with the package (:mod:`mutualisation.present.fonts`,
#: registered with vl-convert before drawing), so text is measured with the font it is
#: drawn in, whatever the machine has.
FONT = f"{FAMILY}, sans-serif"

#: Categorical palette: Okabe & Ito (2008), colour-blind safe, then four
#: colours of Paul Tol's "muted" scheme for charts with many categories. Colours lighter
#: than a 3:1 contrast with the white background (WCAG 1.4.11, RGAA 3.3: chart marks) are
#: darkened, hue kept, to just above it (tests/test_accessible.py checks every colour).
PALETTE: tuple[str, ...] = (
    "#0072B2",  # blue
    "#C38700",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#4A9BC8",  # sky blue
    "#D55E00",  # vermillion
    "#9E962C",  # yellow
    "#332288",  # indigo (Tol)
    "#882255",  # wine (Tol)
    "#41A393",  # teal (Tol)
    "#979732",  # olive (Tol)
    "#000000",  # black
)

#: Colours of action domains after the 12 of :data:`PALETTE` (the rest of Paul Tol's
#: "muted" scheme): 17 domains get 17 colours before any repeats.
EXTRA_DOMAIN_COLOURS: tuple[str, ...] = (
    "#CC6677",  # rose
    "#9F9356",  # sand
    "#117733",  # green
    "#6699B2",  # cyan
    "#AA4499",  # purple
)

#: Sequential scheme (Vega name) for counts on maps and heat maps (ColorBrewer YlGnBu).
SEQUENTIAL_SCHEME = "yellowgreenblue"

#: Grey of what is out of scope (communes that are not members, "non renseigné").
GREY = "#939393"
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
SERIES_COLOURS = {INSCRIBED: PALETTE[4], DEPLOYED: PALETTE[0]}

#: Message shown instead of an empty chart of the actions deployed during the year.
NO_DEPLOYMENT = "Aucune action déployée cette année"


@alt.theme.register(THEME, enable=True)
def theme() -> alt.theme.ThemeConfig:
    """The shared look of every chart (Vega-Lite ``config``)."""
    return {
        "config": {
            "background": "white",
            # No English ARIA labels on marks: the page names each chart in French
            # (mutualisation.export.figure), its SVG being one image.
            "aria": False,
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


def embed_options() -> dict[str, Any]:
    """Locale options for vega-embed and vl-convert (``formatLocale`` …)."""
    return {"formatLocale": d3_format_locale(), "timeFormatLocale": d3_time_format_locale()}
