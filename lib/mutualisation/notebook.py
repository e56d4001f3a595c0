"""What a report notebook needs besides the bilan itself: set-up and display helpers."""

from __future__ import annotations

import polars as pl
from IPython.display import HTML, display

from . import charts


def setup(mode: str = "static") -> None:
    """Theme and renderer of the charts ("static": SVG stored in the notebook)."""
    charts.setup(mode)


def show(html: str) -> None:
    """Display an HTML fragment made by :mod:`mutualisation.narrative`."""
    if html:
        display(HTML(html))


def show_table(frame: pl.DataFrame, table_id: str, title: str | None = None) -> None:
    """A readable table (Great Tables) with a fixed id, so reruns are identical."""
    from great_tables import GT

    table = GT(frame, id=table_id, locale="fr")
    if title:
        table = table.tab_header(title=title)
    display(HTML(table.as_raw_html()))
