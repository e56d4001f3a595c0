"""A chart of a report page as an accessible figure (RGAA 4.1 criteria 1.3 and 1.6).

The page template (``templates/bilan``) calls :func:`figure_html` for every SVG output that
names its figure (the static renderer puts the name, title, description and data of
:mod:`mutualisation.present.accessible` in the output's metadata). The SVG is written inline,
so that it is drawn in the page's own font, with ``role="img"``, a ``<title>`` naming it
(its accessible name, and its ``/Alt`` in the tagged PDF) and the description as
``aria-describedby``; below it, the description and a « Voir les données » table. Every id
of the SVG (clip paths, gradients) is prefixed with the figure's own, so ids stay unique in
a page of many charts.
"""

from __future__ import annotations

import base64
import re
from html import escape
from typing import Any

from mutualisation.config import FIGURE_KEY
from mutualisation.present.accessible import DATA_KEY, DESCRIPTION_KEY

#: Prefix of the ids of a figure and of everything inside it.
ID_PREFIX = "graphique-"
#: The ids of an SVG and their references (url(#…), href="#…").
_SVG_IDS = re.compile(r'(\bid="|url\(#|href="#)([^")]+)(?=[")])')
_SVG_ROLES = re.compile(r'\s(?:role|aria-roledescription|aria-label|aria-hidden)="[^"]*"')
_SVG_OPEN = re.compile(r"<svg\b([^>]*)>")


def figure_id(name: str) -> str:
    """The id of the figure of ``name`` (a figure file stem: letters, digits, _)."""
    return ID_PREFIX + re.sub(r"[^A-Za-z0-9_-]", "-", name)


def _data_table(title: str, data: dict[str, Any]) -> str:
    columns, rows = data.get("colonnes") or [], data.get("lignes") or []
    if not columns:
        return ""
    head = "".join(f'<th scope="col">{escape(column)}</th>' for column in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return (
        '<details class="donnees"><summary>Voir les données</summary>'
        f"<table><caption>Données du graphique « {escape(title)} »</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></details>"
    )


def accessible_svg(svg: str, ident: str, title: str, described: bool) -> str:
    """``svg`` named by a ``<title>`` and ids prefixed with ``ident``."""
    svg = _SVG_IDS.sub(lambda m: f"{m.group(1)}{ident}-{m.group(2)}", svg)
    # Vega's own roles (graphics-object, graphics-symbol) on mark groups would make each
    # group an image of its own, unnamed: the chart is one image, named below.
    svg = _SVG_ROLES.sub("", svg)
    labels = f' role="img" aria-labelledby="{ident}-titre"'
    if described:
        labels += f' aria-describedby="{ident}-description"'
    return _SVG_OPEN.sub(
        lambda m: f'<svg{m.group(1)}{labels}><title id="{ident}-titre">{escape(title)}</title>',
        svg, count=1,
    )


def figure_html(svg: str, meta: dict[str, Any] | None) -> str:
    """The ``<figure>`` of a chart output: inline named SVG, description, data table.

    Returns "" when ``meta`` names no figure (the template then writes the output as
    nbconvert does).
    """
    if not meta or FIGURE_KEY not in meta:
        return ""
    ident = figure_id(str(meta[FIGURE_KEY]))
    title = str(meta.get("titre") or "Graphique")
    description = str(meta.get(DESCRIPTION_KEY) or "")
    caption = ""
    if description:
        caption = f'<p class="description" id="{ident}-description">{escape(description)}</p>'
    caption += _data_table(title, meta.get(DATA_KEY) or {})
    return (
        f'<figure class="graphique" id="{ident}">'
        + accessible_svg(svg, ident, title, bool(description))
        + (f"<figcaption>{caption}</figcaption>" if caption else "")
        + "</figure>"
    )


#: A chart written by :func:`figure_html`: its inline SVG and the text of its ``<title>``.
_NAMED_SVG = re.compile(r'<svg\b[^>]*\brole="img"[^>]*><title id="[^"]*">([^<]*)</title>.*?</svg>',
                        re.S)


#: SVG names in camel case. The page's HTML serializer (nbconvert's BeautifulSoup) writes
#: them in lower case, which an HTML parser puts back (the HTML standard's « adjust SVG
#: attributes »), but an SVG file, which is XML, does not.
_SVG_CAMEL_CASE = {name.lower(): name for name in (
    "viewBox", "preserveAspectRatio", "clipPath", "clipPathUnits", "linearGradient",
    "radialGradient", "gradientUnits", "gradientTransform", "spreadMethod", "textLength",
    "lengthAdjust", "textPath", "startOffset", "patternUnits", "patternContentUnits",
    "patternTransform", "markerWidth", "markerHeight", "markerUnits", "refX", "refY",
    "foreignObject",
)}
_SVG_NAME = re.compile(r"(?<=[<\s/])(?:" + "|".join(_SVG_CAMEL_CASE) + r")(?=[\s=>/])")
_DATA_TABLE = re.compile(r'<details class="donnees">.*?</details>', re.S)


def svg_as_images(html: str) -> str:
    """``html`` with each named inline chart as an ``<img>`` of the same SVG, its title as
    ``alt`` (the figure's ``/Alt`` in the tagged PDF).

    For printing only: WeasyPrint computes the page's styles for every element of an inline
    SVG (thousands of marks in the commune × action matrix), about 1 s for a bilan, which an
    image skips; the SVG image is still drawn with the page's fonts.
    """
    def image(match: re.Match[str]) -> str:
        svg = _SVG_NAME.sub(lambda m: _SVG_CAMEL_CASE[m.group(0)], match.group(0))
        data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
        return f'<img alt="{match.group(1)}" src="data:image/svg+xml;base64,{data}">'

    # The data tables are not printed (display: none; bilan.xlsx is attached to the PDF).
    return _DATA_TABLE.sub("", _NAMED_SVG.sub(image, html))
