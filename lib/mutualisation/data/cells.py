"""How a text cell of an input table reads, for every table's typing (``validate`` for the
three tables, ``moyens`` for its own): one rule for an empty cell and for an INSEE code."""

from __future__ import annotations

import polars as pl


def clean(column: str) -> pl.Expr:
    """The text of ``column`` without surrounding spaces; null when nothing is left."""
    text = pl.col(column).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


def insee_text(column: str) -> pl.Expr:
    """INSEE code as text: upper case, a leading zero Excel dropped put back."""
    text = clean(column).str.to_uppercase().str.replace(r"\.0+$", "")
    return pl.when(text.str.contains(r"^\d{4}$")).then(text.str.zfill(5)).otherwise(text)
