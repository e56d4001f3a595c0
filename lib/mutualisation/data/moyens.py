"""The optional ``moyens`` table: staff and money of the actions (DESIGN.md, "Input data
contract" and "Definitions").

One row per action and year (``code_insee`` empty: the action as a whole), plus, optionally,
one row per participating commune (the part charged to it). A data folder without the table
loads exactly as before (:attr:`Dataset.moyens` is None). The table is found and read like
the three others (its own file, or a sheet of a workbook) and every problem names the file,
the line, the column and the value.

Amounts are euros: French writing (``1 234,50``, ``1 234,50 €``, with normal, no-break or
narrow no-break spaces) or an Excel number (``1234.5``); they are kept rounded to the cent,
and the indicators add them up in whole cents (:mod:`mutualisation.compute.moyens`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from mutualisation.data.cells import clean, insee_text
from mutualisation.data.mergers import with_mergers
from mutualisation.data.model import Dataset, is_active_between, is_deployed, reference_date
from mutualisation.data.parameters import INSEE_PATTERN
from mutualisation.data.problems import Problem, shown
from mutualisation.data.read import LINE, RawTable, find_source, read_table
from mutualisation.data.vocabulary import MODES_FINANCEMENT, canonical_expr, closest, listed
from mutualisation.formatting import fr_decimal, fr_etp, fr_euros, plural

#: The table's name (file stem, sheet name).
TABLE = "moyens"

#: Column types of the table once loaded (euros and ETP as decimals rounded to 2 places).
SCHEMA: dict[str, pl.DataType] = {
    "action_id": pl.String(),
    "annee": pl.Int64(),
    "code_insee": pl.String(),
    "etp": pl.Float64(),
    "agents_transferes": pl.Int64(),
    "cout_fonctionnement": pl.Float64(),
    "economies": pl.Float64(),
    "mode_financement": pl.String(),
    "cle_repartition": pl.String(),
}

REQUIRED: tuple[str, ...] = ("action_id", "annee")

#: The decimal columns, in euros or in full-time equivalents.
AMOUNTS: tuple[str, ...] = ("cout_fonctionnement", "economies")
DECIMALS: tuple[str, ...] = ("etp", *AMOUNTS)
#: The figures whose commune rows may not add up past the action's own row.
PARTS: tuple[str, ...] = ("etp", "agents_transferes", "cout_fonctionnement", "economies")

# French Excel writes thousands with (narrow) no-break spaces.
_SPACES = r"[\s\u00a0\u202f]"
_NUMBER = r"^-?\d+(?:\.\d+)?$"


def number_text(column: str) -> pl.Expr:
    """A French or Excel number as plain text (``1 234,50 €`` -> ``1234.50``), null when
    empty; still text, to check it against a pattern before casting."""
    # U+2212 is the minus sign of French typography (and of our own reports).
    return (clean(column).str.replace_all(_SPACES, "")
            .str.replace("\u2212", "-", literal=True)
            .str.replace(r"(?i)(?:€|eur|euros?)$", "")
            .str.replace(",", ".", literal=True))


def _decimal(column: str) -> pl.Expr:
    text = number_text(column)
    # Rounded again after the division: Polars divides by a constant as it multiplies by
    # its inverse, which would keep 0.1 + 0.2-like noise in the published files.
    return pl.when(text.str.contains(_NUMBER)).then(
        text.cast(pl.Float64, strict=False).mul(100).round(0).truediv(100).round(2))


def _integer(column: str) -> pl.Expr:
    text = number_text(column).str.replace(r"\.0+$", "")
    return pl.when(text.str.contains(r"^-?\d+$")).then(text.cast(pl.Int64, strict=False))


def fr_amount(value: float, column: str) -> str:
    """A figure as a message quotes it: ``12 345,50 €``, ``2,5 ETP``, ``3 agents``."""
    if column == "etp":
        return f"{fr_decimal(value, 2)} ETP"
    if column == "agents_transferes":
        return plural(round(value), "agent", "agents")
    return f"{fr_decimal(value, 2)} €"


def _rows(frame: pl.DataFrame, label: str, column: str, message: str) -> list[Problem]:
    return [Problem(label, message, line=line, column=column, value=value or "")
            for line, value in frame.select(LINE, f"__raw_{column}").iter_rows()]


def _typed(raw: RawTable) -> tuple[pl.DataFrame | None, list[Problem]]:
    frame, label = raw.frame, raw.label
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        found = ", ".join(shown(c) for c in frame.columns if c != LINE) or "aucune"
        return None, [Problem(label, f"colonne obligatoire absente (colonnes trouvées : {found})",
                              line=raw.header_line, column=c) for c in missing]
    frame = frame.with_columns(pl.lit(None, pl.String).alias(c)
                               for c in SCHEMA if c not in frame.columns)
    exprs = {
        "action_id": clean("action_id"),
        "annee": _integer("annee"),
        "code_insee": insee_text("code_insee"),
        "etp": _decimal("etp"),
        "agents_transferes": _integer("agents_transferes"),
        "cout_fonctionnement": _decimal("cout_fonctionnement"),
        "economies": _decimal("economies"),
        "mode_financement": canonical_expr(clean("mode_financement"), MODES_FINANCEMENT),
        "cle_repartition": clean("cle_repartition"),
    }
    typed = frame.select(
        LINE,
        *(expr.cast(SCHEMA[c]).alias(c) for c, expr in exprs.items()),
        *(pl.col(c).alias(f"__raw_{c}") for c in SCHEMA),
    )
    problems: list[Problem] = []
    for column in SCHEMA:
        present = clean(f"__raw_{column}").is_not_null()
        value = pl.col(column)
        if column in REQUIRED:
            problems += _rows(typed.filter(~present), label, column, "valeur obligatoire manquante")
        if column == "annee":
            problems += _rows(typed.filter(present & value.is_null()), label, column,
                              "année attendue (AAAA)")
        elif column == "code_insee":
            problems += _rows(typed.filter(present & ~value.str.contains(INSEE_PATTERN)), label,
                              column, "code INSEE mal formé (5 caractères : 59350, 2A004…)")
        elif column == "agents_transferes":
            problems += _rows(typed.filter(present & value.is_null()), label, column,
                              "nombre entier attendu")
        elif column in DECIMALS:
            unit = "montant en euros" if column in AMOUNTS else "nombre"
            problems += _rows(typed.filter(present & value.is_null()), label, column,
                              f"{unit} illisible (attendu par exemple 1 234,50)")
        if column in PARTS:
            problems += _rows(typed.filter(value < 0), label, column,
                              "valeur négative (attendu un nombre positif ou nul)")
    unknown = typed.filter(clean("__raw_mode_financement").is_not_null()
                           & pl.col("mode_financement").is_null())
    problems += [
        Problem(label, f"mode de financement inconnu (le plus proche : « "
                f"{closest(raw_value, MODES_FINANCEMENT)} » ; attendu : "
                f"{listed(MODES_FINANCEMENT)})", line=line, column="mode_financement",
                value=raw_value)
        for line, raw_value in unknown.select(LINE, "__raw_mode_financement").iter_rows()
    ]
    return typed, problems


def _references(typed: pl.DataFrame, label: str, communes: pl.DataFrame,
                actions: pl.DataFrame, participations: pl.DataFrame,
                first_year: int, last_year: int) -> list[Problem]:
    """Rules relating a row to the other tables: known action and commune, a year of the
    data, a participation of the commune in the action active at some date of that year (a
    commune that left the action during the year was charged for its part of it)."""
    problems = _rows(typed.filter(pl.col("action_id").is_not_null()
                                  & ~pl.col("action_id").is_in(actions["action_id"].implode())),
                     label, "action_id", "action absente de la table actions")
    coded = pl.col("code_insee").is_not_null() & pl.col("code_insee").str.contains(INSEE_PATTERN)
    problems += _rows(typed.filter(coded & ~pl.col("code_insee").is_in(
        communes["code_insee"].implode())), label, "code_insee",
        "commune absente de la table communes")
    problems += _rows(typed.filter(~pl.col("annee").is_between(first_year, last_year)), label,
                      "annee", f"année hors des années des données ({first_year} à {last_year})")
    rows = typed.filter(
        coded, pl.col("code_insee").is_in(communes["code_insee"].implode()),
        pl.col("action_id").is_in(actions["action_id"].implode()),
        pl.col("annee").is_between(first_year, last_year))
    if rows.height:
        years = rows.select(pl.col("annee").unique())
        active = (
            with_mergers(communes, participations).join(years, how="cross")
            .filter(is_active_between(pl.date(pl.col("annee"), 1, 1),
                                      pl.date(pl.col("annee"), 12, 31)))
            .select("annee", "code_insee", "action_id").unique()
        )
        outside = rows.join(active, on=["annee", "code_insee", "action_id"], how="anti").sort(LINE)
        problems += [
            Problem(label, f"la commune {code} ne participe pas à l’action {action} en {year} "
                    f"(aucune participation active en {year})",
                    line=line, column="code_insee", value=raw)
            for line, code, action, year, raw in
            outside.select(LINE, "code_insee", "action_id", "annee", "__raw_code_insee")
            .iter_rows()
        ]
    return problems


def _duplicates(typed: pl.DataFrame, label: str) -> list[Problem]:
    key = [pl.col("action_id"), pl.col("annee"), pl.col("code_insee").fill_null("")]
    dup = (typed.filter(pl.col("action_id").is_not_null(), pl.col("annee").is_not_null())
           .with_columns(pl.col(LINE).min().over(key).alias("__first"))
           .filter(pl.col(LINE) != pl.col("__first")).sort(LINE))
    return [
        Problem(label, f"ligne en double pour l’action {action} en {year}"
                + (f" et la commune {code}" if code else "") + f" (déjà ligne {first})",
                line=line, column="action_id", value=action)
        for line, action, year, code, first in
        dup.select(LINE, "action_id", "annee", "code_insee", "__first").iter_rows()
    ]


def _sums(typed: pl.DataFrame, label: str) -> list[Problem]:
    """Commune rows adding up past their action's own row, figure by figure."""
    own = typed.filter(pl.col("code_insee").is_null())
    parts = typed.filter(pl.col("code_insee").is_not_null())
    problems = []
    for column in PARTS:
        # Whole cents (hundredths of an ETP): a sum of decimals compared exactly.
        scaled = (pl.col(column) * 100).round(0).cast(pl.Int64)
        summed = parts.group_by("action_id", "annee").agg(scaled.sum().alias("__parts"))
        over = (own.select(LINE, "action_id", "annee", scaled.alias("__own"),
                           f"__raw_{column}")
                .join(summed, on=["action_id", "annee"])
                .filter(pl.col("__own").is_not_null(), pl.col("__parts") > pl.col("__own"))
                .sort(LINE))
        problems += [
            Problem(label, f"les lignes des communes de l’action {action} en {year} totalisent "
                    f"{fr_amount(total / 100, column)}, plus que la ligne de l’action "
                    f"({fr_amount(whole / 100, column)})", line=line, column=column, value=raw)
            for line, action, year, whole, raw, total in over.iter_rows()
        ]
    return problems


def load_moyens(folder: Path, sheets: dict[Path, list[str]], communes: pl.DataFrame,
                actions: pl.DataFrame, participations: pl.DataFrame, first_year: int,
                last_year: int,
                ) -> tuple[pl.DataFrame | None, Path | None, list[Problem], str | None]:
    """The validated table (None when the folder has none), the file it was read from, the
    problems found and, for a CSV, the encoding it was decoded with (``check`` says it).
    ``communes``, ``actions``, ``participations`` are the validated tables; years must lie
    from ``first_year`` to ``last_year``."""
    source = find_source(folder, TABLE, sheets, optional=True)
    if source is None:
        return None, None, [], None
    if isinstance(source, Problem):
        return None, None, [source], None
    raw = read_table(source, TABLE)
    if isinstance(raw, list):
        return None, source.path, raw, None
    frame, problems = check_rows(raw, communes, actions, participations, first_year, last_year)
    if problems:
        return None, source.path, problems, raw.encoding
    if frame is None or frame.is_empty():  # a template's sheet not filled yet: no table
        return None, None, [], None
    return frame, source.path, [], raw.encoding


def check_rows(raw: RawTable, communes: pl.DataFrame, actions: pl.DataFrame,
               participations: pl.DataFrame, first_year: int,
               last_year: int) -> tuple[pl.DataFrame | None, list[Problem]]:
    """Check the rows of a ``moyens`` table read as text (a file, a sheet, or the rows an
    import built) against the valid tables: the typed table, or the problems found."""
    typed, problems = _typed(raw)
    if typed is None:
        return None, problems
    problems += _references(typed, raw.label, communes, actions, participations,
                            first_year, last_year)
    problems += _duplicates(typed, raw.label)
    problems += _sums(typed, raw.label)
    if problems:
        return None, problems
    return (typed.select(*SCHEMA).sort("annee", "action_id", "code_insee", nulls_last=False),
            [])


def with_lines(raw: RawTable) -> pl.DataFrame | None:
    """The rows of a ``moyens`` table read as text, typed as the data set has them, with the
    line of each row in its file (column ``LINE``): what ``mutualisation diff`` quotes. None
    when a required column is missing."""
    typed = _typed(raw)[0]
    return None if typed is None else typed.select(*SCHEMA, LINE)


def summary(dataset: Dataset) -> list[str]:
    """What ``mutualisation check`` says of the table: years covered, actions with and
    without figures, totals of each year (none without the table)."""
    moyens = dataset.moyens
    if moyens is None:
        return []
    own = moyens.filter(pl.col("code_insee").is_null())
    years = sorted(moyens["annee"].unique().to_list())
    lines = [f"  {TABLE:<16}: {moyens.height}{dataset.source_note(TABLE)}"]
    if not years:
        return lines
    lines.append(f"    années renseignées : {', '.join(map(str, years))}")
    for year in years:
        rows = own.filter(pl.col("annee") == year)
        deployed = dataset.actions.filter(is_deployed(pl.lit(reference_date(year))))
        missing = deployed.join(rows, on="action_id", how="anti").height
        # Exact sums (cents); a figure no row gives is left out, not said to be zero.
        sums = rows.select(pl.when(pl.col(c).is_not_null().any())
                           .then((pl.col(c) * 100).round(0).cast(pl.Int64).sum())
                           for c in PARTS).row(0)
        said = [fr_etp, lambda n: plural(n, "agent transféré", "agents transférés"),
                lambda n: f"coût {fr_euros(n, 2)}", lambda n: f"économies {fr_euros(n, 2)}"]
        figures = [say(total // 100 if column == "agents_transferes" else total / 100)
                   for say, column, total in zip(said, PARTS, sums, strict=True)
                   if total is not None]
        given = plural(rows.height, "action renseignée", "actions renseignées")
        without = plural(missing, "action déployée", "actions déployées")
        lines.append(f"    {year} : {given}, {without} sans chiffres"
                     + (" ; " + ", ".join(figures) if figures else ""))
    return lines


#: What each column expects, shown as a note on its header in the template's sheet.
NOTES: dict[str, str] = {
    "action_id": "Identifiant d'une action de la feuille « actions » (liste déroulante).",
    "annee": "Année des chiffres (AAAA), une des années des données.",
    "code_insee": "Vide : l'action dans son ensemble. Rempli : la part d'une commune qui "
                  "participe à l'action cette année-là (liste déroulante).",
    "etp": "Équivalents temps plein au 31 décembre (nombre décimal, 2,5).",
    "agents_transferes": "Agents transférés ou mis à disposition dans l'année (nombre entier).",
    "cout_fonctionnement": "Coût de fonctionnement de l'année, en euros (1 234,50) ; sur la "
                           "ligne d'une commune, la part qui lui est imputée.",
    "economies": "Économies déclarées pour l'année, en euros. Peut rester vide.",
    "mode_financement": "Mode de financement (liste déroulante) : "
                        + ", ".join(MODES_FINANCEMENT) + ".",
    "cle_repartition": "Comment le coût est réparti (texte libre : au nombre d'habitants…).",
}


def write_sheet(book: Any, lists: dict[str, str], last_row: int, author: str) -> None:
    """Add the ``moyens`` sheet to the template ``book`` (an xlsxwriter workbook): headers
    with notes, text, number and year formats, and drop-down lists of the actions and
    communes (``lists``: their ranges) and of the financing modes."""
    sheet = book.add_worksheet(TABLE)
    required = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    optional = book.add_format({"bg_color": "#F2F2F2", "border": 1})
    text = book.add_format({"num_format": "@"})
    euros = book.add_format({"num_format": "#,##0.00"})
    decimal = book.add_format({"num_format": "0.0#"})
    sheet.freeze_panes(1, 0)
    first, last = 1, last_row - 1
    for index, column in enumerate(SCHEMA):
        is_required = column in REQUIRED
        sheet.write_string(0, index, column, required if is_required else optional)
        sheet.write_comment(0, index, f"{'Obligatoire' if is_required else 'Facultatif'}. "
                            f"{NOTES[column]}", {"author": author, "x_scale": 2, "y_scale": 1.5})
        if column in ("action_id", "code_insee"):
            sheet.set_column(index, index, 14, text)
            sheet.data_validation(first, index, last, index, {
                "validate": "list", "source": lists[column], "error_title": "Valeur inconnue",
                "error_message": "Choisir une valeur de la liste."})
        elif column == "mode_financement":
            sheet.set_column(index, index, 26)
            sheet.data_validation(first, index, last, index, {
                "validate": "list", "source": list(MODES_FINANCEMENT),
                "error_title": "Mode inconnu", "error_message": "Choisir un mode de la liste."})
        elif column in ("annee", "agents_transferes"):
            sheet.set_column(index, index, 12)
            low, high = (1950, 2100) if column == "annee" else (0, 1_000_000)
            sheet.data_validation(first, index, last, index, {
                "validate": "integer", "criteria": "between", "minimum": low, "maximum": high,
                "error_title": "Nombre entier attendu",
                "error_message": f"Saisir un nombre entier de {low} à {high}."})
        elif column in DECIMALS:
            sheet.set_column(index, index, 16, euros if column in AMOUNTS else decimal)
            sheet.data_validation(first, index, last, index, {
                "validate": "decimal", "criteria": ">=", "value": 0,
                "error_title": "Nombre positif attendu",
                "error_message": "Saisir un nombre positif ou nul."})
        else:
            sheet.set_column(index, index, 30)
