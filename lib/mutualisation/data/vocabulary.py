"""The fixed French vocabularies of the input tables, and how a written value is matched to
one of their entries: ignoring case, accents and spacing (« Service  Unifie » is
``service unifié``). One place for every closed list a data folder may use, so that the
loader, the template's drop-down lists, the import and the reports agree."""

from __future__ import annotations

import unicodedata

import polars as pl
from rapidfuzz import fuzz, process

#: ``actions.forme_juridique``: the legal instruments of pooling (CGCT L5211-4-1, L5211-4-2,
#: L5211-4-4, L5221-1; IGA/IGF 2014), as written in reports.
FORMES_JURIDIQUES: tuple[str, ...] = (
    "service commun",
    "service unifié",
    "mise à disposition de service",
    "mise à disposition de personnel",
    "groupement de commandes",
    "prestation de services",
    "entente",
    "plateforme de services",
    "coopération entre communes",
    "autre",
)

#: ``moyens.mode_financement``: how the cost of an action is financed.
MODES_FINANCEMENT: tuple[str, ...] = (
    "budget intercommunal",
    "refacturation",
    "attribution de compensation",
    "mixte",
)


def folded(text: str) -> str:
    """``text`` as compared with a vocabulary: lower case, no accents, one space between
    words, no space at either end."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("œ", "oe"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.split())


def canonical(text: str, vocabulary: tuple[str, ...]) -> str | None:
    """The entry of ``vocabulary`` that ``text`` writes, or None when it writes none."""
    wanted = folded(text)
    return next((entry for entry in vocabulary if folded(entry) == wanted), None)


def canonical_expr(column: pl.Expr, vocabulary: tuple[str, ...]) -> pl.Expr:
    """:func:`canonical` of each value of ``column`` (null stays null, so does an unknown
    value: compare with the column's own nulls to find those)."""
    folded_column = (
        column.str.to_lowercase().str.replace_all("œ", "oe", literal=True)
        .str.normalize("NFKD").str.replace_all(r"\p{M}+", "")
        .str.replace_all(r"\s+", " ").str.strip_chars()
    )
    keys = pl.Series([folded(entry) for entry in vocabulary], dtype=pl.String)
    entries = pl.Series(list(vocabulary), dtype=pl.String)
    return folded_column.replace_strict(keys, entries, default=None, return_dtype=pl.String)


def closest(text: str, vocabulary: tuple[str, ...]) -> str:
    """The entry of ``vocabulary`` closest to ``text``, to suggest in an error message."""
    keys = [folded(entry) for entry in vocabulary]
    _, _, index = process.extractOne(folded(text), keys, scorer=fuzz.WRatio)
    return vocabulary[index]


def listed(vocabulary: tuple[str, ...]) -> str:
    """The vocabulary as an error message lists it: « service commun », « entente »…"""
    return ", ".join(f"« {entry} »" for entry in vocabulary)
