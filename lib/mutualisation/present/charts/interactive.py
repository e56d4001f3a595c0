"""Interactive charts in JupyterLab: every chart drawn, offline, on every run.

The renderer ``"mutualisation_interactif"`` (enabled by
:func:`mutualisation.present.notebook.setup` when ``MUTUALISATION_GRAPHIQUES=interactif``)
displays a chart as an HTML output holding:

- an empty ``<div>`` that receives the chart;
- one ``<script>`` that loads vega, vega-lite and vega-embed **once per page** under a
  name of their own (:data:`GLOBAL_NAME`), then draws the chart into the ``<div>``
  inside a function of its own.

Why not Altair's ``html`` renderer with the ``inline`` template: JupyterLab runs the
scripts of every output in one page scope, and that template declares the Vega bundle's
names and ``const spec`` at the top of the page, so the second chart of a page fails
(``Identifier 'spec' has already been declared``) and, after a re-run, none is drawn.
Here nothing is declared at the top of the page: the bundle (from vl-convert, no
network) runs inside a function and leaves only :data:`GLOBAL_NAME` on ``window``;
later outputs, re-runs, kernel restarts and other notebooks of the same page reuse it.
Every output still carries the bundle (about 0.9 MB), since a kernel cannot know what a
page has already loaded; it is only executed by the first one.

An ``<iframe srcdoc>`` per chart works too, but loads one Vega per chart (slower), needs
its height set from inside, and clips tooltips and the "…" menu at its border.

Charts are drawn by vega-embed with the French locale of :mod:`mutualisation.present.charts`.
Report runs never use this renderer: they store static SVG
(:func:`mutualisation.present.charts.render.use_static`).
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from typing import Any

import altair as alt

from mutualisation.present.charts.theme import THEME, embed_options

#: Name of the Altair renderer of :func:`use_interactive`.
RENDERER = "mutualisation_interactif"


def _vl_version() -> str:
    """The Vega-Lite version of Altair's schema, as vl-convert names it ("6.4")."""
    return ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])


@functools.cache
def global_name() -> str:
    """Name under which the page keeps the Vega libraries: one per vl-convert and
    Vega-Lite version, so that two versions of this package in one page never mix."""
    import vl_convert as vlc

    version = re.sub(r"\W", "_", f"{vlc.__version__}_{_vl_version()}")
    return f"mutualisationVega_{version}"


@functools.cache
def vega_bundle() -> str:
    """vega, vega-lite and vega-embed (vl-convert's bundle, nothing from the network),
    as a statement that sets ``window[global_name()]`` and declares nothing else.

    About 0.9 MB; built once per process (vl-convert takes about 1.2 s).
    """
    import vl_convert as vlc

    snippet = f"window.{global_name()} = {{vegaEmbed, vega, vegaLite}};"
    bundle = vlc.javascript_bundle(snippet=snippet, vl_version=_vl_version())
    # Inside a <script> element, only "</script" (any case) could end it early.
    bundle = re.sub(r"</(script)", r"<\\/\1", bundle, flags=re.IGNORECASE)
    return f"(function () {{\n{bundle}\n}}).call(window);"


def _script_json(value: Any) -> str:
    """JSON that is safe inside a ``<script>`` element (data may hold "</script>")."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


#: Style of the chart's container (as Altair's templates: full width, menu in place).
_STYLE = (
    "<style>.mutualisation-graphique.vega-embed{width:100%;display:flex;}"
    ".mutualisation-graphique.vega-embed details,"
    ".mutualisation-graphique.vega-embed details summary{position:relative;}</style>"
)

#: The chart's script: everything in a function; the libraries loaded once per page.
_SCRIPT = """<script type="text/javascript">
(function () {{
  var script = document.currentScript;
  var target = (script && script.previousElementSibling) || document.getElementById("{id}");
  if (!window.{name}) {{
    {bundle}
  }}
  window.{name}.vegaEmbed(target, {spec}, {options}).catch(function (error) {{
    target.textContent = "Graphique non affiché : " + error;
    console.error(error);
  }});
}})();
</script>"""


def chart_html(spec: dict[str, Any], embed_options: dict[str, Any] | None = None) -> str:
    """HTML drawing the Vega-Lite ``spec`` in a page that may hold other charts."""
    options = {"mode": "vega-lite", **(embed_options or {})}
    div_id = f"mutualisation-graphique-{uuid.uuid4().hex}"
    script = _SCRIPT.format(id=div_id, name=global_name(), bundle=vega_bundle(),
                            spec=_script_json(spec), options=_script_json(options))
    return f'{_STYLE}<div class="mutualisation-graphique" id="{div_id}"></div>{script}'


def _renderer(spec: dict[str, Any], **metadata: Any) -> dict[str, str]:
    """Altair renderer: the HTML of :func:`chart_html`, plus a text fallback."""
    title = spec.get("title")
    if isinstance(title, dict):
        title = title.get("text")
    label = f"Graphique interactif : {title}" if isinstance(title, str) else "Graphique interactif"
    return {"text/html": chart_html(spec, metadata.get("embed_options")), "text/plain": label}


alt.renderers.register(RENDERER, _renderer)


def use_interactive() -> None:
    """Display charts as interactive HTML (:func:`chart_html`), offline, French formats."""
    alt.theme.enable(THEME)
    alt.renderers.enable(RENDERER, embed_options=embed_options())
