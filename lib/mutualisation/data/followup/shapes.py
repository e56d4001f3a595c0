"""The two shapes of a follow-up sheet read into participations (before their dates are
settled): the matrix (one row per commune, one column per action) and the list (one row
per commune and action, optional start and end dates)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import polars as pl

from mutualisation.data.followup.cells import (
    TAKING_PART,
    CellProblem,
    cell_kind,
    cell_problems,
)
from mutualisation.data.followup.forms import read_forms
from mutualisation.data.followup.names import (
    ACTION_HEADERS,
    COMMUNE_HEADERS,
    END_HEADERS,
    FORM_HEADERS,
    IGNORE,
    IGNORED,
    IGNORED_HEADERS,
    IGNORED_ROWS,
    RESOLVED,
    START_HEADERS,
    UNKNOWN_CODE,
    name_problems,
    normalise_name,
    normalised,
    resolve,
)
from mutualisation.data.followup.reference import (
    Reference,
    action_choices,
    action_choices_by_id,
    action_names,
    commune_choices,
    resolve_communes,
)
from mutualisation.data.followup.sheet import Header, Sheet
from mutualisation.data.problems import Problem, shown


@dataclass
class Stats:
    """What the conversion saw, for the report."""

    shape: str = ""
    header_row: int = 0
    rows_read: int = 0
    rows_without: int = 0
    ignored_rows: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    communes_by: dict[str, int] = field(default_factory=dict)
    actions_by: dict[str, int] = field(default_factory=dict)
    cells_by: dict[str, int] = field(default_factory=dict)
    unknown_start: int = 0
    at_deployment: int = 0
    at_default: int = 0
    moved_later: int = 0
    written: int = 0
    encoding: str | None = None
    #: The legal form each action is given by a list's « Forme juridique » column.
    forms: dict[str, str] = field(default_factory=dict)


def _column_roles(header: Header, keys: dict[int, str]) -> dict[str, list[int]]:
    """Columns of a list by role: commune (code columns first), action, start, end."""
    def having(names: frozenset[str]) -> list[int]:
        return [c for c in sorted(keys) if keys[c] in names]

    communes = sorted(having(COMMUNE_HEADERS), key=lambda c: ("code" not in keys[c]
                                                             and "insee" not in keys[c], c))
    actions = sorted(having(ACTION_HEADERS), key=lambda c: ("id" not in keys[c].split()
                                                           and "code" not in keys[c], c))
    return {"commune": communes, "action": actions, "start": having(START_HEADERS)[:1],
            "end": having(END_HEADERS)[:1], "form": having(FORM_HEADERS)[:1]}


def _first_filled(columns: list[int]) -> pl.Expr:
    """The first non-empty value of ``columns`` (a code column before a name column)."""
    if not columns:
        return pl.lit(None, dtype=pl.String)
    return pl.coalesce(pl.when(pl.col(f"c{c}").str.strip_chars() != "").then(pl.col(f"c{c}"))
                       for c in columns)


def _body(sheet: Sheet, header: Header) -> pl.DataFrame:
    """The rows under the header that hold anything."""
    values = [c for c in sheet.cells.columns if c != "__row"]
    return sheet.cells.filter(
        (pl.col("__row") > header.row)
        & ~pl.all_horizontal(pl.col(values).str.strip_chars().fill_null("") == "")
    )


def _bad_cell_problems(sheet: Sheet, header: Header, columns: Iterable[int]) -> list[Problem]:
    """Workbook cells in error (``#N/A``, formulas never calculated) among the used ones."""
    used = set(columns)
    return [CellProblem(sheet.label, message, line=row, value=value)
            for row, col, value, message in sheet.bad if row > header.row and col in used]


@dataclass(frozen=True)
class Rows:
    """Participations read from the sheet, before their dates are settled."""

    #: ``__row``, ``cell`` (where the start was read), ``written`` (the commune as
    #: written), ``action_id``, ``start`` (null when unknown), ``unknown``, ``end``.
    frame: pl.DataFrame
    problems: list[Problem]


def _ignored_row(written: pl.Expr, reference: Reference) -> pl.Expr:
    """A row that is not a commune: a total, or written as the mapping file ignores."""
    ignored = reference.mapping.filter(pl.col("kind") == IGNORE)
    key = normalised(written)
    return (key.is_in(list(IGNORED_ROWS)) | key.str.starts_with("total ")
            | written.str.strip_chars().is_in(ignored["text"].implode())
            | key.is_in(ignored["key"].implode()))


def _without_ignored_rows(rows: pl.DataFrame, sheet: Sheet, reference: Reference,
                          stats: Stats) -> pl.DataFrame:
    """``rows`` less those that are not communes (said in the report): the commune cell,
    or the row's first cell when it has none (« Total » in a « N° » column), is a total or
    written as the mapping file ignores."""
    values = [c for c in sheet.cells.columns if c != "__row"]
    leftmost = pl.coalesce(pl.when(pl.col(c).str.strip_chars() != "").then(pl.col(c))
                           for c in values).str.strip_chars()
    said = (pl.when(pl.col("written").is_not_null()).then(pl.col("written"))
            .otherwise(leftmost))
    marked = rows.with_columns(said.alias("__said")).with_columns(
        _ignored_row(pl.col("__said"), reference).fill_null(False).alias("__ignored"))
    stats.rows_read = rows.height
    stats.ignored_rows = [f"ligne {row} « {shown(text)} »" for row, text in
                          marked.filter("__ignored").select("__row", "__said").iter_rows()]
    return marked.filter(~pl.col("__ignored")).drop("__said", "__ignored")


#: The participations of a sheet that has none (the columns :func:`matrix_rows` gives).
_NO_PARTICIPATIONS = pl.DataFrame(schema={
    "__row": pl.Int64, "cell": pl.String, "written": pl.String, "action_id": pl.String,
    "start": pl.Date, "unknown": pl.Boolean, "end": pl.Date})


def matrix_rows(sheet: Sheet, header: Header, reference: Reference,
            stats: Stats) -> Rows:
    problems: list[Problem] = []
    keys = {c: normalise_name(t) for c, t in header.texts.items()}
    commune_columns = _column_roles(header, keys)["commune"]
    body = _body(sheet, header)
    if not commune_columns:
        # No « Commune » header: the first column holding values under the header that is
        # neither an action nor a column always ignored (« N° »).
        action_keys = set(action_names(reference).select(normalised(pl.col("text")))
                          .to_series().to_list())
        commune_columns = [c for c in range(sheet.width)
                           if body[f"c{c}"].is_not_null().any()
                           and keys.get(c) not in IGNORED_HEADERS | FORM_HEADERS | action_keys
                           ][:1]
    others = {c: t for c, t in header.texts.items() if c not in commune_columns}
    builtin = {c for c, t in others.items() if keys[c] in IGNORED_HEADERS | FORM_HEADERS}
    resolved = resolve(pl.Series([t for c, t in others.items() if c not in builtin],
                                  dtype=pl.String),
                        action_names(reference), reference.mapping, "action")
    how = dict(resolved.select("written", "how").iter_rows())
    target = dict(resolved.select("written", "target").iter_rows())
    actions = {c: target[t] for c, t in others.items()
               if c not in builtin and how[t] in RESOLVED}
    ignored = sorted(builtin | {c for c, t in others.items()
                                if c not in builtin and how[t] == IGNORED})
    stats.ignored_columns = [f"{sheet.letters(c)} « {shown(header.texts[c])} »" for c in ignored]
    stats.actions_by = _count_by(resolved.filter(pl.col("how") != IGNORED))
    header_cells = pl.DataFrame(
        {"written": list(others.values()),
         "cell": [sheet.ref(header.row, c) for c in others],
         "__row": [header.row] * len(others), "count": [1] * len(others)},
        schema={"written": pl.String, "cell": pl.String, "__row": pl.Int64, "count": pl.Int64},
    ).unique("written", keep="first")
    problems += name_problems(resolved, header_cells, sheet.label, "action (en-tête)",
                               action_choices(reference),
                               action_choices_by_id(reference))
    seen: dict[str, int] = {}
    for col, action in sorted(actions.items()):
        if action in seen:
            problems.append(CellProblem(
                sheet.label, f"action {action} déjà en colonne {sheet.letters(seen[action])} : "
                "n'en garder qu'une", line=header.row, value=header.texts[col],
                cell=sheet.ref(header.row, col)))
        else:
            seen[action] = col
    problems += _bad_cell_problems(sheet, header, [*commune_columns, *actions])
    if not actions:  # nothing to read: say why, once, instead of unpivoting no column
        if not problems:
            problems.append(CellProblem(
                sheet.label, "aucune colonne d'action reconnue : les en-têtes doivent être des "
                "action_id ou des libellés de la table actions" + (
                    " (elle est vide : la remplir d'abord)" if reference.actions.is_empty()
                    else ""), line=header.row))
        return Rows(_NO_PARTICIPATIONS, problems)

    commune = _first_filled(commune_columns).str.strip_chars()
    commune_col = (pl.coalesce(pl.when(pl.col(f"c{c}").str.strip_chars() != "").then(pl.lit(c))
                               for c in commune_columns)
                   if commune_columns else pl.lit(None, dtype=pl.Int64))
    rows = body.with_columns(written=commune, commune_col=commune_col.fill_null(
        commune_columns[0] if commune_columns else 0))
    rows = _without_ignored_rows(rows, sheet, reference, stats)
    # Values under no header (a total row's cells under an empty header don't count).
    for col in range(sheet.width):
        if col in header.texts or col in commune_columns:
            continue
        filled = rows.filter(pl.col(f"c{col}").is_not_null()).select("__row", f"c{col}")
        if filled.height:
            row, value = filled.row(0)
            problems.append(CellProblem(
                sheet.label, f"colonne {sheet.letters(col)} sans en-tête mais remplie : lui "
                "donner pour en-tête l'action, ou la vider", line=row, value=value,
                cell=sheet.ref(row, col)))
    header_of = {c: header.texts[c] for c in actions}
    kind, parsed = cell_kind(pl.col("value"))
    cells = (
        rows.select("__row", "written", "commune_col", *(f"c{c}" for c in sorted(actions)))
        .unpivot(index=["__row", "written", "commune_col"], variable_name="col",
                 value_name="value")
        .with_columns(pl.col("col").str.slice(1).cast(pl.Int64))
        .with_columns(kind=kind, start=parsed)
        .with_columns(cell=sheet.ref_expr(),
                      header=pl.col("col").replace_strict(header_of, return_dtype=pl.String),
                      action_id=pl.col("col").replace_strict(actions, return_dtype=pl.String))
    )
    stats.cells_by = dict(cells.group_by("kind").len().sort("kind").iter_rows())
    problems += cell_problems(cells.filter(pl.col("kind") != "vide"), sheet.label,
                               ("marque", "non", "date", "annee", "serie"))
    taken = cells.filter(pl.col("kind").is_in(TAKING_PART))
    with_values = taken.select("__row").unique()
    stats.rows_without = rows.join(with_values, on="__row", how="anti").height
    orphan = rows.join(with_values, on="__row", how="semi").filter(pl.col("written").is_null())
    problems += [
        CellProblem(sheet.label, "commune manquante dans une ligne qui a des participations",
                    line=row, cell=sheet.ref(row, col))
        for row, col in orphan.select("__row", "commune_col").iter_rows()
    ]
    named = rows.join(with_values, on="__row", how="semi").filter(
        pl.col("written").is_not_null())
    frame = taken.filter(pl.col("written").is_not_null()).select(
        "__row", "cell", "written", "action_id", "start",
        unknown=pl.col("kind") == "marque", end=pl.lit(None, dtype=pl.Date))
    where = (named.with_columns(cell=sheet.ref_expr(col="commune_col"))
             .group_by("written").agg(pl.col("cell").first(), pl.col("__row").min(),
                                      pl.len().cast(pl.Int64).alias("count")))
    return Rows(frame, problems + _commune_rows(named, where, reference, sheet, stats))


def _commune_rows(named: pl.DataFrame, where: pl.DataFrame, reference: Reference,
                  sheet: Sheet, stats: Stats) -> list[Problem]:
    """Problems of the commune names (resolution is redone by :func:`_settle`)."""
    resolved = resolve_communes(named["written"], reference)
    stats.communes_by = _count_by(resolved.filter(pl.col("how") != IGNORED))
    shown_targets = dict(reference.communes.select(
        "code_insee", pl.format("{} {}", "code_insee", "nom").alias("shown")).iter_rows())
    problems = name_problems(resolved, where, sheet.label, "commune",
                              commune_choices(reference), shown_targets)
    unknown_codes = resolved.filter(pl.col("how") == UNKNOWN_CODE).join(where, on="written")
    problems += [
        CellProblem(sheet.label, "code INSEE absent de la table communes", line=row,
                    value=written, cell=cell)
        for written, cell, row in unknown_codes.select("written", "cell", "__row").iter_rows()
    ]
    return problems


def _count_by(resolved: pl.DataFrame) -> dict[str, int]:
    return dict(resolved.group_by("how").len().sort("how").iter_rows())


def list_rows(sheet: Sheet, header: Header, reference: Reference, stats: Stats) -> Rows:
    problems: list[Problem] = []
    keys = {c: normalise_name(t) for c, t in header.texts.items()}
    roles = _column_roles(header, keys)
    used = {c for columns in roles.values() for c in columns}
    stats.ignored_columns = [f"{sheet.letters(c)} « {shown(t)} »"
                             for c, t in sorted(header.texts.items()) if c not in used]
    problems += _bad_cell_problems(sheet, header, used)
    body = _body(sheet, header)
    commune_col = roles["commune"][0]
    action_col = roles["action"][0]
    rows = body.with_columns(
        written=_first_filled(roles["commune"]).str.strip_chars(),
        action_text=_first_filled(roles["action"]).str.strip_chars(),
        start_text=_first_filled(roles["start"]),
        end_text=_first_filled(roles["end"]),
        form_text=_first_filled(roles["form"]),
    )
    rows = _without_ignored_rows(rows, sheet, reference, stats)
    for role, col, what in (("written", commune_col, "commune manquante"),
                            ("action_text", action_col, "action manquante")):
        problems += [CellProblem(sheet.label, what, line=row, cell=sheet.ref(row, col))
                     for (row,) in rows.filter(pl.col(role).is_null()).select("__row")
                     .iter_rows()]
    rows = rows.filter(pl.col("written").is_not_null() & pl.col("action_text").is_not_null())
    start_kind, start = cell_kind(pl.col("start_text"))
    end_kind, end = cell_kind(pl.col("end_text"))
    start_col = roles["start"][0] if roles["start"] else action_col
    rows = rows.with_columns(
        start_kind=start_kind, start=start, end_kind=end_kind, end=end,
        cell=pl.format("{}{}", pl.lit(sheet.letters(start_col)), pl.col("__row")),
        end_cell=pl.format("{}{}", pl.lit(sheet.letters(roles["end"][0] if roles["end"]
                                                        else action_col)), pl.col("__row")),
        action_cell=pl.format("{}{}", pl.lit(sheet.letters(action_col)), pl.col("__row")),
        commune_cell=pl.format("{}{}", pl.lit(sheet.letters(commune_col)), pl.col("__row")),
    )
    starts = rows.select("__row", "cell",
                         header=pl.lit(header.texts.get(start_col), dtype=pl.String),
                         value=pl.col("start_text"), kind=pl.col("start_kind"))
    ends = rows.select("__row", cell=pl.col("end_cell"),
                       header=pl.lit(header.texts.get(roles["end"][0]) if roles["end"] else None,
                                     dtype=pl.String),
                       value=pl.col("end_text"), kind=pl.col("end_kind"))
    problems += cell_problems(starts, sheet.label, ("vide", "marque", "date", "annee", "serie"))
    problems += cell_problems(ends, sheet.label, ("vide", "date", "annee", "serie"))
    stats.cells_by = dict(pl.concat([starts, ends]).group_by("kind").len().sort("kind")
                          .iter_rows())

    actions = resolve(rows["action_text"], action_names(reference), reference.mapping,
                       "action")
    stats.actions_by = _count_by(actions.filter(pl.col("how") != IGNORED))
    action_where = (rows.group_by("action_text").agg(
        pl.col("action_cell").first().alias("cell"), pl.col("__row").min(),
        pl.len().cast(pl.Int64).alias("count")).rename({"action_text": "written"}))
    problems += name_problems(actions, action_where, sheet.label, "action",
                               action_choices(reference), action_choices_by_id(reference))
    skipped = rows.filter(pl.col("action_text").is_in(
        actions.filter(pl.col("how") == IGNORED)["written"].implode()))
    stats.ignored_rows += [f"ligne {row} « {shown(text)} »" for row, text in
                           skipped.select("__row", "action_text").iter_rows()]
    rows = rows.join(skipped, on="__row", how="anti")
    if roles["form"]:
        found_ids = actions.filter(pl.col("how").is_in(RESOLVED)).select(
            pl.col("written").alias("action_text"), pl.col("target").alias("action_id"))
        form_rows = rows.join(found_ids, on="action_text", how="left").with_columns(
            form_cell=pl.format("{}{}", pl.lit(sheet.letters(roles["form"][0])),
                                pl.col("__row")))
        stats.forms, found = read_forms(form_rows, sheet.label, reference.actions)
        problems += found
    where = rows.group_by("written").agg(pl.col("commune_cell").first().alias("cell"),
                                         pl.col("__row").min(),
                                         pl.len().cast(pl.Int64).alias("count"))
    problems += _commune_rows(rows, where, reference, sheet, stats)
    frame = (rows.join(actions.select(pl.col("written").alias("action_text"),
                                      pl.col("target").alias("action_id")),
                       on="action_text", how="left")
             .filter(pl.col("start_kind").is_in(["vide", "marque", "date", "annee", "serie"]))
             .select("__row", "cell", "written", "action_id", "start",
                     unknown=pl.col("start_kind").is_in(["vide", "marque"]), end="end"))
    return Rows(frame, problems)


