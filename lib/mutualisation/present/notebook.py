"""What a report notebook needs besides the bilan itself: set-up and display helpers.

How charts display is decided by ONE switch, the environment variable
``MUTUALISATION_GRAPHIQUES`` read by :func:`setup`:

- unset (report runs: papermill, nbval, nbconvert): static SVG, byte-identical
  from run to run, visible offline and on GitHub;
- ``MUTUALISATION_GRAPHIQUES=interactif`` (set by ``make lab`` for the
  JupyterLab server, whose kernels inherit its environment): interactive HTML
  with Vega inlined (tooltips, works offline), drawn by the renderer of
  :mod:`mutualisation.present.charts.interactive`, which keeps every chart of a
  JupyterLab page in its own scope (Altair's ``inline`` template draws only the first
  one there).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from html import escape

import polars as pl
from IPython.display import HTML, display

from mutualisation.config import CHART_MODE_VARIABLE
from mutualisation.present import charts

#: Environment variable choosing how charts display in a notebook.
#: Values of :data:`CHART_MODE_VARIABLE` and the mode of :func:`charts.setup` they select.
CHART_MODE_VALUES: dict[str, charts.Mode] = {"interactif": "interactive", "statique": "static"}


def chart_mode(environ: Mapping[str, str] | None = None) -> charts.Mode:
    """``"interactive"`` when ``MUTUALISATION_GRAPHIQUES=interactif``, else ``"static"``.

    An empty or unset variable means static; an unknown value warns and means
    static, so a typo can never put interactive HTML into a stored report.
    """
    value = (os.environ if environ is None else environ).get(CHART_MODE_VARIABLE, "")
    value = value.strip().lower()
    if not value:
        return "static"
    if value not in CHART_MODE_VALUES:
        warnings.warn(
            f"{CHART_MODE_VARIABLE}={value!r} inconnu (valeurs : "
            f"{', '.join(sorted(CHART_MODE_VALUES))}) : graphiques statiques",
            stacklevel=2,
        )
        return "static"
    return CHART_MODE_VALUES[value]


def setup(mode: charts.Mode | None = None) -> None:
    """Theme and renderer of the charts.

    ``mode=None`` (what the notebooks call): :func:`chart_mode` reads
    ``MUTUALISATION_GRAPHIQUES``; static SVG unless it is ``interactif``.
    An explicit ``mode`` ("static" or "interactive") wins over the variable.
    """
    charts.setup(chart_mode() if mode is None else mode)


def show(html: str) -> None:
    """Display an HTML fragment made by :mod:`mutualisation.present.bilan_text` or
    :mod:`mutualisation.present.fiche_text`."""
    if html:
        display(HTML(html))


#: Accessible names (RGAA 5.2) of the tables shown without a visible title, by table id: a
#: titled table is named by its title (Great Tables' aria-labelledby).
TABLE_NAMES: dict[str, str] = {
    "actions-commune": "Actions auxquelles la commune participe",
    "actions-disponibles": "Actions déployées que la commune peut encore rejoindre",
}


def show_table(frame: pl.DataFrame, table_id: str, title: str | None = None) -> None:
    """A readable table (Great Tables) with a fixed id, so reruns are identical."""
    from great_tables import GT

    table = GT(frame, id=table_id, locale="fr")
    if title:
        table = table.tab_header(title=title)
    html = table.as_raw_html()
    if not title and table_id in TABLE_NAMES:
        html = html.replace('<table class="gt_table"',
                            f'<table aria-label="{escape(TABLE_NAMES[table_id])}" '
                            'class="gt_table"', 1)
    display(HTML(html))
