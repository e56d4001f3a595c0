"""Names as a follow-up sheet writes them: normalisation, the headings recognised, and
how a written name resolves to a code (exactly, once normalised, through the mapping
file), with the closest candidates (RapidFuzz) when it does not."""

from __future__ import annotations

import polars as pl
from rapidfuzz import fuzz, process

from mutualisation.data.followup.cells import CellProblem
from mutualisation.data.problems import Problem
from mutualisation.formatting import plural

#: The mapping file of a data folder: names as written -> INSEE code, action_id or IGNORE.
MAPPING_FILE = "correspondances.csv"
#: The code that, in the mapping file, leaves a row or a column out.
IGNORE = "ignorer"

#: How many closest candidates an unknown name is shown with.
_SUGGESTIONS = 3
_SUGGESTION_CUTOFF = 50.0

_APOSTROPHES = "[\u2018\u2019\u02bc\u00b4\u0060\u2032]"
# « L » alone too: « Aigle (L') » whose apostrophe was typed as a space is « Aigle (L ) ».
_ARTICLE = r"(les|le|la|l'|l)"

# Headings below are compared once normalised (see normalised()).
COMMUNE_HEADERS = frozenset({
    "commune", "communes", "nom", "nom commune", "nom de la commune", "nom de commune",
    "collectivite", "collectivites", "ville", "communes membres", "commune membre",
    "libelle commune", "code insee", "insee", "code commune", "code insee commune", "code",
})
ACTION_HEADERS = frozenset({
    "action", "actions", "action id", "id action", "code action", "action mutualisee",
    "libelle", "libelle action", "libelle de l action", "intitule", "intitule de l action",
})
START_HEADERS = frozenset({
    "date debut", "date de debut", "debut", "date", "date d adhesion", "date adhesion",
    "adhesion", "date de signature", "date signature", "signature", "depuis",
    "date d entree", "entree",
})
END_HEADERS = frozenset({
    "date fin", "date de fin", "fin", "date de sortie", "date sortie", "sortie",
    "date de resiliation", "resiliation", "jusqu au",
})
#: Columns of a matrix that are never actions, left out without a mapping (and reported).
IGNORED_HEADERS = frozenset({
    "total", "totaux", "total general", "nombre", "nb", "nombre d actions", "nb actions",
    "nombre actions", "commentaire", "commentaires", "observation", "observations",
    "remarque", "remarques", "note", "notes", "population", "departement", "arrondissement",
    "canton", "n", "no", "num", "numero",
})
#: Headings of a list's legal-form column (:mod:`.forms`); a matrix leaves them out.
FORM_HEADERS = frozenset({
    "forme juridique", "forme", "forme de mutualisation", "mode de mutualisation",
    "type de mutualisation", "nature juridique", "cadre juridique",
})
#: Rows of a matrix that are never communes (a total row under the table).
IGNORED_ROWS = frozenset({
    "total", "totaux", "total general", "sous total", "nombre", "nombre de communes", "nb",
    "nb communes", "nombre total",
})
#: The headings a list needs, as messages quote them.
LIST_HEADINGS = ("une colonne commune (« Commune », « Nom de la commune », « Code INSEE »…) "
                 "et une colonne action (« Action », « Libellé », « Code action »…), "
                 "et au besoin « Date de début » et « Date de fin »")

# How a name was matched, as the report says it.
EXACT, CODE_MATCH, MAPPED, NORMALISED = "exact", "code", "correspondance", "normalisation"
IGNORED, AMBIGUOUS, UNKNOWN = "ignore", "ambigu", "inconnu"
UNKNOWN_CODE = "code inconnu"
#: The ways a name resolves to a code.
RESOLVED = (EXACT, MAPPED, NORMALISED)


def normalised(text: pl.Expr) -> pl.Expr:
    """A name as compared: lower case, no accents, ``œ`` -> ``oe``, apostrophes, hyphens
    and punctuation as single spaces, ``St``/``Ste`` -> ``saint``/``sainte``, a trailing
    article in brackets put first (« Madeleine (La) » -> ``la madeleine``)."""
    folded = (
        text.str.normalize("NFKD").str.to_lowercase()
        .str.replace_all("œ", "oe", literal=True).str.replace_all("æ", "ae", literal=True)
        .str.normalize("NFKD").str.replace_all(r"\p{M}+", "")
        .str.replace_all(_APOSTROPHES, "'").str.strip_chars()
    )
    fronted = (folded.str.replace(rf"^(.+?)[\s,]*\(\s*{_ARTICLE}\s*\)$", "${2} ${1}")
               .str.replace(rf"^(.+?)\s*,\s*{_ARTICLE}$", "${2} ${1}"))
    words = fronted.str.replace_all(r"[^0-9a-z]+", " ").str.strip_chars()
    return words.str.replace_all(r"\bst\b", "saint").str.replace_all(r"\bste\b", "sainte")


def normalise_name(text: str) -> str:
    """:func:`normalised` for one Python string."""
    return pl.select(normalised(pl.lit(text, dtype=pl.String))).item()


def resolve(written: pl.Series, names: pl.DataFrame, mapping: pl.DataFrame,
            kind: str) -> pl.DataFrame:
    """How each distinct ``written`` text resolves: ``written``, ``target``, ``how``
    (exact, correspondance, normalisation, ignore, ambigu, inconnu), ``candidates``."""
    values = (pl.DataFrame({"written": written}).unique().drop_nulls()
              .with_columns(text=pl.col("written").str.strip_chars())
              .with_columns(key=normalised(pl.col("text"))))
    exact = names.group_by("text").agg(pl.col("target").unique().sort().alias("exact"))
    by_key = (names.with_columns(key=normalised(pl.col("text")))
              .group_by("key").agg(pl.col("target").unique().sort().alias("normal")))
    mapped = mapping.filter(pl.col("kind").is_in([kind, IGNORE]))
    mapped_text = mapped.select("text", pl.col("code").alias("mapped")).unique("text")
    mapped_key = mapped.select("key", pl.col("code").alias("mapped_key")).unique("key")
    joined = (values.join(exact, on="text", how="left")
              .join(mapped_text, on="text", how="left")
              .join(mapped_key, on="key", how="left")
              .join(by_key, on="key", how="left"))
    exact_n = pl.col("exact").list.len().fill_null(0)
    normal_n = pl.col("normal").list.len().fill_null(0)
    mapping_code = pl.coalesce("mapped", "mapped_key")
    # The mapping file says what the analyst meant: it wins over the tables.
    how = (pl.when(mapping_code == IGNORE).then(pl.lit(IGNORED))
           .when(mapping_code.is_not_null()).then(pl.lit(MAPPED))
           .when(exact_n == 1).then(pl.lit(EXACT))
           .when(normal_n == 1).then(pl.lit(NORMALISED))
           .when((exact_n > 1) | (normal_n > 1)).then(pl.lit(AMBIGUOUS))
           .otherwise(pl.lit(UNKNOWN)))
    target = (pl.when(mapping_code == IGNORE).then(None)
              .when(mapping_code.is_not_null()).then(mapping_code)
              .when(exact_n == 1).then(pl.col("exact").list.first())
              .when(normal_n == 1).then(pl.col("normal").list.first()))
    candidates = pl.when(exact_n > 1).then(pl.col("exact")).otherwise(pl.col("normal"))
    return joined.select("written", "key", target.alias("target"), how.alias("how"),
                         candidates.alias("candidates")).sort("written")


def suggestions(key: str, choices: list[tuple[str, str]]) -> list[str]:
    """The displays of the closest ``choices`` (normalised key, display) to ``key``."""
    keys = [k for k, _ in choices]
    found = process.extract(key, keys, scorer=fuzz.token_set_ratio, limit=_SUGGESTIONS * 3,
                            score_cutoff=_SUGGESTION_CUTOFF)
    best: dict[str, float] = {}
    for _, score, index in found:
        display = choices[index][1]
        best[display] = max(best.get(display, 0.0), score)
    ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))
    return [display for display, _ in ranked[:_SUGGESTIONS]]


def name_problems(resolved: pl.DataFrame, where: pl.DataFrame, label: str, what: str,
                  choices: list[tuple[str, str]], shown_targets: dict[str, str]) -> list[Problem]:
    """One problem per unknown or ambiguous name, at its first cell, with candidates.

    ``where`` gives ``written``, ``cell``, ``__row`` and ``count`` (how many cells hold it).
    """
    bad = (resolved.filter(pl.col("how").is_in([UNKNOWN, AMBIGUOUS]))
           .join(where, on="written", how="left").sort("__row", "written"))
    problems: list[Problem] = []
    for written, key, how, candidates, cell, row, count in bad.select(
            "written", "key", "how", "candidates", "cell", "__row", "count").iter_rows():
        again = f" ({plural(count, 'cellule', 'cellules')})" if count and count > 1 else ""
        if how == AMBIGUOUS:
            listed = ", ".join(shown_targets.get(c, c) for c in candidates)
            message = (f"{what} ambiguë : {listed} ; l'écrire avec son département entre "
                       f"parenthèses ou l'ajouter à {MAPPING_FILE}{again}"
                       if what == "commune" else
                       f"{what} ambiguë : {listed} ; l'ajouter à {MAPPING_FILE}{again}")
        else:
            close = suggestions(key, choices)
            hint = f"plus proches : {', '.join(close)}" if close else "aucun nom proche"
            message = f"{what} inconnue ({hint}) ; sinon l'ajouter à {MAPPING_FILE}{again}"
        problems.append(CellProblem(label, message, line=row, value=written, cell=cell))
    return problems

