"""How charts are drawn: deterministic SVG (vl-convert) for reports, or the interactive
renderer of :mod:`mutualisation.present.lab` in JupyterLab.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from pathlib import Path
from typing import Any, Literal

import altair as alt
import vl_convert as vlc

from mutualisation.config import FIGURE_KEY
from mutualisation.present import svg_cache
from mutualisation.present.accessible import output_meta
from mutualisation.present.charts import interactive
from mutualisation.present.charts.theme import THEME, embed_options
from mutualisation.present.fonts import register_with_vl_convert

Mode = Literal["static", "interactive"]
ChartLike = alt.Chart | alt.LayerChart | alt.HConcatChart | alt.VConcatChart


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
    options = embed_options()
    return {"vl_version": _VL_VERSION, "format_locale": options["formatLocale"],
            "time_format_locale": options["timeFormatLocale"]}


def draw_svg(spec: dict[str, Any]) -> str:
    """Draw a Vega-Lite spec into a deterministic SVG string (vl-convert, French locale)."""
    register_with_vl_convert()
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

    In a kernel run by a single ``mutualisation report``, the chart was usually drawn ahead
    by a helper process (:mod:`mutualisation.run.ahead`; read here through
    :mod:`mutualisation.present.svg_cache`): the same bytes, found by :func:`spec_key`,
    without the wait.
    """
    if svg_cache.folder_in_use() is not None:
        try:
            svg = svg_cache.drawn_ahead(spec_key(spec))
        except (OSError, ValueError):  # an unreadable folder only costs the drawing
            svg = None
        if svg is not None:
            return svg
    return draw_svg(spec)


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
    # The figure name, and the title, description and data the page shows with the chart.
    meta = output_meta(spec)
    if not meta:
        return bundle
    return bundle, {"image/svg+xml": meta}


alt.renderers.register(STATIC_RENDERER, _static_renderer)


def use_static() -> None:
    """Display charts as SVG made by vl-convert: byte-identical notebook outputs.

    Like Altair's ``svg`` renderer (same vl-convert call, same locale), plus the
    renumbering of :func:`_stable_ids`, so that an output does not depend on the
    charts displayed before it in the kernel.
    """
    alt.theme.enable(THEME)
    alt.renderers.enable(STATIC_RENDERER, embed_options=embed_options())


def setup(mode: Mode = "static") -> None:
    """Choose how charts display: ``"static"`` (reports) or ``"interactive"`` (JupyterLab)."""
    if mode == "static":
        use_static()
    elif mode == "interactive":
        interactive.use_interactive()
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


