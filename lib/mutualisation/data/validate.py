"""Validation of a data folder (DESIGN.md, "Input data contract").

Values read as text (:mod:`mutualisation.data.read`) are checked and typed by Polars
expressions; every problem becomes a :class:`~mutualisation.data.problems.Problem` that
names the file, the line, the column and the value. :func:`load_dataset` raises
:class:`~mutualisation.data.problems.DataError` with all of them (capped per file) before
anything is used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from mutualisation.config import METADATA_FILE
from mutualisation.data import populations as population_table
from mutualisation.data.action_rules import check_abandoned, check_actions, summary_lines
from mutualisation.data.cells import clean, insee_text
from mutualisation.data.mergers import carried_over, mergers
from mutualisation.data.model import MAY_BE_EMPTY, REQUIRED, SCHEMAS, TABLES, Dataset
from mutualisation.data.parameters import INSEE_PATTERN
from mutualisation.data.problems import DataError, Problem, shown
from mutualisation.data.read import (
    LINE,
    RESERVED_PREFIX,
    RawTable,
    bad_byte,
    find_source,
    list_folder,
    read_bytes,
    read_table,
    sheet_names,
    workbooks_of,
)

_ISO_DATE = r"^\d{4}-\d{1,2}-\d{1,2}$"


_FR_DATE = r"^\d{1,2}/\d{1,2}/\d{4}$"


# Excel and Parquet datetimes arrive as "2019-01-01 00:00:00": the time is noise.
_MIDNIGHT = r"[ T]00:00(?::00(?:\.0+)?)?$"


# French Excel writes thousands with (narrow) no-break spaces.
_SPACES = r"[\s\u00a0\u202f]"


_DATE_COLUMNS = {
    name: tuple(c for c, t in schema.items() if t == pl.Date()) for name, schema in SCHEMAS.items()
}


def _problems(frame: pl.DataFrame, label: str, column: str, message: str) -> list[Problem]:
    """Problems for the rows of ``frame`` (columns LINE and ``column``, raw text)."""
    return [
        Problem(label, message, line=line, column=column, value=value if value is not None else "")
        for line, value in frame.select(LINE, pl.col(column)).iter_rows()
    ]


def _date(column: str) -> pl.Expr:
    text = clean(column).str.replace(_MIDNIGHT, "")
    return pl.coalesce(
        pl.when(text.str.contains(_ISO_DATE)).then(text.str.to_date("%Y-%m-%d", strict=False)),
        pl.when(text.str.contains(_FR_DATE)).then(text.str.to_date("%d/%m/%Y", strict=False)),
    )


def _integer(column: str) -> pl.Expr:
    text = clean(column).str.replace_all(_SPACES, "").str.replace(r"\.0+$", "")
    return pl.when(text.str.contains(r"^\d+$")).then(text.cast(pl.Int64, strict=False))


#: How a yes/no cell may be written (case and spaces ignored); an empty cell is null.
_BOOLEANS = {"oui": True, "vrai": True, "true": True, "1": True, "x": True,
             "non": False, "faux": False, "false": False, "0": False}

#: Columns holding an INSEE code.
_INSEE_COLUMNS = ("code_insee", "code_successeur")


def _boolean(column: str) -> pl.Expr:
    return clean(column).str.to_lowercase().replace_strict(
        _BOOLEANS, default=None, return_dtype=pl.Boolean)


def check_table(raw: RawTable) -> tuple[pl.DataFrame | None, list[Problem]]:
    """Check one table on its own (required columns and values, INSEE codes, dates, integers,
    yes/no values, duplicate keys, dates in order) and return it typed (or None when it
    can't be), with the problems found."""
    frame, label, schema = raw.frame, raw.label, SCHEMAS[raw.table]
    missing = [c for c in REQUIRED[raw.table] if c not in frame.columns]
    if missing:
        found = ", ".join(shown(c) for c in frame.columns if c != LINE) or "aucune"
        return None, [
            Problem(label, f"colonne obligatoire absente (colonnes trouvées : {found})",
                    line=raw.header_line, column=c)
            for c in missing
        ]
    if frame.height == 0 and raw.table not in MAY_BE_EMPTY:
        return None, [Problem(label, "la table ne contient aucune ligne")]

    frame = frame.with_columns(pl.lit(None, pl.String).alias(c)
                               for c in schema if c not in frame.columns)
    typed_exprs = []
    for column, dtype in schema.items():
        if column in _INSEE_COLUMNS:
            typed_exprs.append(insee_text(column))
        elif dtype == pl.Boolean():
            typed_exprs.append(_boolean(column))
        elif dtype == pl.Date():
            typed_exprs.append(_date(column))
        elif dtype == pl.Int64():
            typed_exprs.append(_integer(column))
        else:
            typed_exprs.append(clean(column))
    typed = frame.with_columns(
        (e.alias(f"__typed_{c}") for e, c in zip(typed_exprs, schema, strict=True))
    )

    problems: list[Problem] = []
    for column, dtype in schema.items():
        new = pl.col(f"__typed_{column}")
        present = clean(column).is_not_null()
        if column in REQUIRED[raw.table]:
            problems += _problems(typed.filter(~present), label, column,
                                  "valeur obligatoire manquante")
        if column in _INSEE_COLUMNS:
            bad = typed.filter(present & ~new.str.contains(INSEE_PATTERN))
            problems += _problems(bad, label, column,
                                  "code INSEE mal formé (5 caractères : 59350, 2A004…)")
        elif dtype == pl.Date():
            bad = typed.filter(present & new.is_null())
            problems += _problems(bad, label, column,
                                  "date illisible (attendu AAAA-MM-JJ ou JJ/MM/AAAA)")
        elif dtype == pl.Int64():
            bad = typed.filter(present & new.is_null())
            problems += _problems(bad, label, column, "nombre entier attendu")
        elif dtype == pl.Boolean():
            bad = typed.filter(present & new.is_null())
            problems += _problems(bad, label, column, "oui ou non attendu")

    key = {"communes": "code_insee", "actions": "action_id"}.get(raw.table)
    if key is not None:
        dup = typed.with_columns(
            pl.col(LINE).min().over(f"__typed_{key}").alias("__first")
        ).filter(pl.col(f"__typed_{key}").is_not_null() & (pl.col(LINE) != pl.col("__first")))
        problems += [
            Problem(label, f"{key} en double (déjà ligne {first_line})",
                    line=line, column=key, value=value)
            for line, value, first_line in dup.select(LINE, key, "__first").iter_rows()
        ]

    out = typed.select(
        LINE,
        *(pl.col(f"__typed_{c}").alias(c).cast(t) for c, t in schema.items()),
        *(c for c in frame.columns if c not in schema and c != LINE),
        # The text as written, to quote it in messages of the later checks.
        *(pl.col(c).alias(f"__raw_{c}") for c in schema),
    )
    ordered = {"communes": ("date_adhesion", "date_sortie"),
               "actions": ("date_inscription", "date_deploiement"),
               "participations": ("date_debut", "date_fin")}.get(raw.table)
    if ordered is not None:
        problems += _ordered(out, label, *ordered)
    if raw.table == "actions":
        out, found = check_actions(out, label)
        problems += found
    return out, problems


def _ordered(typed: pl.DataFrame, label: str, start: str, end: str) -> list[Problem]:
    """Rows whose ``end`` date comes before their ``start`` date."""
    bad = typed.filter(pl.col(end) < pl.col(start)).select(LINE, start, f"__raw_{end}")
    return [
        Problem(label, f"{end} antérieure à {start} ({s.strftime('%d/%m/%Y')})",
                line=line, column=end, value=e)
        for line, s, e in bad.iter_rows()
    ]


def _check_participations(
    participations: pl.DataFrame, communes: pl.DataFrame, actions: pl.DataFrame, label: str,
    communes_complete: bool = True, actions_complete: bool = True,
) -> list[Problem]:
    """Rules that relate a participation to its commune, its action and its siblings.

    A reference is only called unknown when the table it points to had no bad key
    (``*_complete``): otherwise the row at fault is the one already reported there.
    """
    # Helper columns start with RESERVED_PREFIX: an extra column of the file (say a
    # « date_adhesion » in participations) can't be mistaken for them.
    joined_on, inscribed_on = f"{RESERVED_PREFIX}adhesion", f"{RESERVED_PREFIX}inscription"
    bound = f"{RESERVED_PREFIX}borne"
    joined = (
        participations.join(communes.select("code_insee", pl.col("date_adhesion")
                                            .alias(joined_on),
                                            pl.col("adhesion_borne_inferieure").fill_null(False)
                                            .alias(bound)),
                            on="code_insee", how="left")
        .join(actions.select("action_id", pl.col("date_inscription").alias(inscribed_on)),
              on="action_id", how="left")
        .sort(LINE)
    )
    problems = []
    if communes_complete:
        unknown = ~pl.col("code_insee").is_in(communes["code_insee"].implode())
        problems += _problems(joined.filter(unknown), label, "code_insee",
                              "commune absente de la table communes")
    if actions_complete:
        unknown = ~pl.col("action_id").is_in(actions["action_id"].implode())
        problems += _problems(joined.filter(unknown), label, "action_id",
                              "action absente de la table actions")

    def fr(d: date) -> str:
        return d.strftime("%d/%m/%Y")

    early = joined.filter(pl.col("date_debut") < pl.col(joined_on))
    problems += [
        Problem(label, f"participation antérieure à l'adhésion de la commune {code} "
                f"({fr(joined_at)}){_BOUND_HINT if bounded else ''}", line=line,
                column="date_debut", value=start)
        for line, code, start, joined_at, bounded in
        early.select(LINE, "code_insee", "__raw_date_debut", joined_on, bound).iter_rows()
    ]
    early = joined.filter(pl.col("date_debut") < pl.col(inscribed_on))
    problems += [
        Problem(label, f"participation antérieure à l'inscription de l'action {action} "
                f"({fr(inscribed)})", line=line, column="date_debut", value=start)
        for line, action, start, inscribed in
        early.select(LINE, "action_id", "__raw_date_debut", inscribed_on).iter_rows()
    ]

    # Periods are [debut, fin): an open end runs forever. A period overlaps an earlier
    # one of the same pair when it starts before the latest end seen so far; the line
    # named is the period holding that latest end (not merely the previous one).
    open_end = pl.col("date_fin").fill_null(date.max)
    pair = ("code_insee", "action_id")
    overlaps = (
        participations.sort("code_insee", "action_id", "date_debut", LINE)
        .with_columns(open_end.cum_max().over(*pair).alias("__max_end"))
        .with_columns(pl.when(open_end == pl.col("__max_end")).then(pl.col(LINE))
                      .forward_fill().over(*pair).alias("__max_line"))
        .with_columns(
            pl.col("__max_end").shift(1).over(*pair).alias("__prev_end"),
            pl.col("__max_line").shift(1).over(*pair).alias("__prev_line"),
        )
        .filter(pl.col("date_debut") < pl.col("__prev_end"))
        .sort(LINE)
    )
    problems += [
        Problem(label, f"chevauche une autre participation de {code} à {action} "
                f"(ligne {prev})", line=line, column="date_debut", value=start)
        for line, code, action, start, prev in
        overlaps.select(LINE, "code_insee", "action_id", "__raw_date_debut", "__prev_line")
        .iter_rows()
    ]
    return problems


#: Said when the adhesion date is only a lower bound (``mutualisation init``'s first edition).
_BOUND_HINT = (", qui n'est qu'une borne (adhesion_borne_inferieure : membre dès le premier "
               "millésime du référentiel) : mettre la vraie date d'adhésion dans communes et "
               "vider adhesion_borne_inferieure, ou recréer le dossier avec « mutualisation init "
               "--membres-depuis AAAA-MM-JJ »")


def _check_successors(communes: pl.DataFrame, label: str) -> list[Problem]:
    """A commune that left by a merger names a commune of the table, and the date it left."""
    merged = communes.filter(pl.col("code_successeur").is_not_null()
                             & pl.col("code_successeur").str.contains(INSEE_PATTERN))
    known = communes["code_insee"].drop_nulls().implode()
    rows = merged.select(LINE, "code_insee", "code_successeur", "__raw_code_successeur",
                         "date_sortie")
    problems = []
    for line, code, successor, raw, left in rows.iter_rows():
        if successor == code:
            message = "la commune nouvelle ne peut pas être la commune elle-même"
        elif left is None:
            message = ("code_successeur sans date_sortie : indiquer la date de la fusion "
                       "dans date_sortie")
        elif successor not in known[0]:
            message = "commune nouvelle absente de la table communes"
        else:
            continue
        problems.append(Problem(label, message, line=line, column="code_successeur",
                                value=raw or ""))
    return problems


def _cleanly_typed(
    typed: dict[str, pl.DataFrame],
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Participations, communes and actions restricted to rows whose keys and dates typed.

    A row already reported (bad code, unreadable date, duplicate key) is left out here, so
    that it does not also produce a misleading "unknown commune" or "overlap" message.
    """
    def typed_or_empty(column: str) -> pl.Expr:
        return pl.col(column).is_not_null() | clean(f"__raw_{column}").is_null()

    participations = typed["participations"].filter(
        pl.col("code_insee").str.contains(INSEE_PATTERN), pl.col("action_id").is_not_null(),
        pl.col("date_debut").is_not_null(), typed_or_empty("date_fin"),
    )
    communes = typed["communes"].filter(pl.col("code_insee").str.contains(INSEE_PATTERN)).unique(
        "code_insee", keep="first", maintain_order=True)
    actions = typed["actions"].filter(pl.col("action_id").is_not_null()).unique(
        "action_id", keep="first", maintain_order=True)
    return participations, communes, actions


@dataclass(frozen=True)
class _Meta:
    illustrative: bool
    first_year: int | None
    last_year: int | None
    description: str
    members_since: date | None = None


def _read_metadata(path: Path) -> _Meta | Problem:
    data = read_bytes(path)
    if isinstance(data, Problem):
        return data
    try:
        meta = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as err:
        return bad_byte(data, err.start, path.name, "le fichier n'est pas en UTF-8")
    except json.JSONDecodeError as err:
        return Problem(path.name, f"JSON mal formé vers la colonne {err.colno} (virgule, "
                       "guillemet ou accolade en trop ou manquant ?)", line=err.lineno)
    if not isinstance(meta, dict):
        return Problem(path.name, "un objet JSON est attendu")
    illustrative = meta.get("illustratif", False)
    if not isinstance(illustrative, bool):
        return Problem(path.name, "« illustratif » doit valoir true ou false",
                       column="illustratif", value=str(illustrative))
    years = meta.get("annees")
    first = last = None
    if years is not None:
        ok = (isinstance(years, dict)
              and all(isinstance(years.get(k), int) and not isinstance(years.get(k), bool)
                      for k in ("debut", "fin"))
              and years["debut"] <= years["fin"])
        if not ok:
            return Problem(path.name, "« annees » doit être {\"debut\": AAAA, \"fin\": AAAA} "
                           "avec debut <= fin", column="annees", value=json.dumps(years))
        first, last = years["debut"], years["fin"]
    description = meta.get("description", "")
    since = meta.get("membres_depuis")
    try:
        since = None if since is None else date.fromisoformat(str(since))
    except ValueError:
        return Problem(path.name, "« membres_depuis » doit être une date AAAA-MM-JJ",
                       column="membres_depuis", value=str(since))
    return _Meta(illustrative, first, last, str(description), since)


def _covered_years(communes: pl.DataFrame, actions: pl.DataFrame,
                   participations: pl.DataFrame) -> tuple[int, int]:
    """From the first inscription to the last dated event of the data (with no action yet:
    the year of the last dated event)."""
    first = actions["date_inscription"].min()
    last = max(
        d for d in (
            frame.select(pl.max_horizontal(pl.col(cols).max())).item()
            for frame, cols in ((communes, _DATE_COLUMNS["communes"]),
                                (actions, _DATE_COLUMNS["actions"]),
                                (participations, _DATE_COLUMNS["participations"]))
        ) if d is not None
    )
    if first is None:
        return last.year, last.year
    return first.year, max(first.year, last.year)


def load_dataset(folder: str | Path) -> Dataset:
    """Load and validate the three tables of ``folder``; raise DataError on bad input."""
    folder = Path(folder)
    entries = list_folder(folder)
    if isinstance(entries, Problem):
        raise DataError([entries])
    problems: list[Problem] = []
    sources: dict[str, Path] = {}
    raws: dict[str, RawTable] = {}
    sheets: dict[Path, list[str]] = {}
    for book in workbooks_of(entries):
        names = sheet_names(book)
        if isinstance(names, Problem):
            problems.append(names)
        else:
            sheets[book] = names
    for table in TABLES:
        source = find_source(folder, table, sheets)
        if isinstance(source, Problem):
            problems.append(source)
            continue
        sources[table] = source.path
        raw = read_table(source, table)
        if isinstance(raw, list):
            problems += raw
        else:
            raws[table] = raw

    typed: dict[str, pl.DataFrame] = {}
    for table, raw in raws.items():
        frame, found = check_table(raw)
        problems += found
        if frame is not None:
            typed[table] = frame
    populations_raw, populations_path, found = population_table.read_raw(folder, sheets)
    problems += found
    populations = None
    if populations_raw is not None:
        sources[population_table.TABLE] = populations_path
        populations, found = check_table(populations_raw)
        problems += found
        if populations is not None:
            problems += population_table.check_populations(
                populations, typed.get("communes"), populations_raw.label)

    meta = _Meta(False, None, None, "")
    meta_path = folder / METADATA_FILE
    if meta_path.is_file():
        sources["metadata"] = meta_path
        read = _read_metadata(meta_path)
        if isinstance(read, Problem):
            problems.append(read)
        else:
            meta = read
    if "communes" in typed:
        problems += _check_successors(typed["communes"], raws["communes"].label)
    if all(t in typed for t in TABLES):
        # The rules across tables run on the rows that typed cleanly, so that a file's
        # problems are reported together, not one stage per run.
        participations, communes, actions = _cleanly_typed(typed)
        problems += _check_participations(
            participations, communes, actions, raws["participations"].label,
            communes_complete=communes.height == typed["communes"].height,
            actions_complete=actions.height == typed["actions"].height,
        )
        problems += check_abandoned(participations, actions, raws["participations"].label,
                                    raws["actions"].label)
    if problems:
        raise DataError(problems)

    communes, actions, participations = (typed[t] for t in TABLES)

    first, last = _covered_years(communes, actions, participations)
    frames = {t: typed[t].select(pl.exclude(LINE, r"^__raw_.*$")) for t in TABLES}
    first = meta.first_year if meta.first_year is not None else first
    last = meta.last_year if meta.last_year is not None else last
    moyens, moyens_path, moyens_encoding = _moyens(folder, sheets, frames, first, last)
    if moyens_path is not None:
        sources["moyens"] = moyens_path
    return Dataset(
        communes=frames["communes"].sort("code_insee"),
        actions=frames["actions"].sort("action_id"),
        participations=frames["participations"].sort("code_insee", "action_id", "date_debut"),
        first_year=first,
        last_year=last,
        illustrative=meta.illustrative,
        description=meta.description,
        sources=sources,
        encodings={t: raw.encoding for t, raw in raws.items() if raw.encoding is not None}
        | ({population_table.TABLE: populations_raw.encoding}
           if populations_raw is not None and populations_raw.encoding else {})
        | ({"moyens": moyens_encoding} if moyens_encoding else {}),
        years_declared=meta.first_year is not None,
        members_since=meta.members_since,
        populations=None if populations is None else populations.select(
            "code_insee", "annee", "population").sort("code_insee", "annee"),
        moyens=moyens,
    )


def _moyens(folder: Path, sheets: dict[Path, list[str]], frames: dict[str, pl.DataFrame],
            first: int, last: int) -> tuple[pl.DataFrame | None, Path | None, str | None]:
    """The optional ``moyens`` table, checked against the valid tables (raises DataError),
    the file it was read from and, for a CSV, its encoding."""
    from mutualisation.data.moyens import load_moyens

    moyens, path, problems, encoding = load_moyens(
        folder, sheets, frames["communes"], frames["actions"], frames["participations"],
        first, last)
    if problems:
        raise DataError(problems)
    return moyens, path, encoding


def check_year(dataset: Dataset, year: int) -> None:
    """Raise DataError when ``year`` is outside the years the data covers."""
    if not dataset.first_year <= year <= dataset.last_year:
        where = str(dataset.sources.get("metadata", Path("données")))
        declared = (" (années déclarées par sa clé « annees » : l'étendre quand les données "
                    "d'une autre année sont complètes)" if dataset.years_declared else "")
        raise DataError([Problem(
            where,
            f"aucune donnée complète pour l'année {year} : le jeu de données couvre "
            f"{dataset.first_year} à {dataset.last_year}{declared}",
        )])


def describe(dataset: Dataset) -> str:
    """A short French summary of a loaded data set, for ``mutualisation check``."""
    flag = " (données illustratives)" if dataset.illustrative else ""

    def count(table: str) -> str:
        return f"  {table:<16}: {getattr(dataset, table).height}{dataset.source_note(table)}"

    return "\n".join([
        f"Données valides{flag}",
        *(count(table) for table in TABLES),
        f"  années couvertes: {dataset.first_year} à {dataset.last_year}",
        *summary_lines(dataset),
        *_merger_lines(dataset),
        *_moyens_lines(dataset),
    ])


def _moyens_lines(dataset: Dataset) -> list[str]:
    from mutualisation.data.moyens import summary

    return summary(dataset)


def _merger_lines(dataset: Dataset) -> list[str]:
    """What ``check`` says of the mergers: who merged into whom, and what becomes of the
    participations left under an absorbed code."""
    merged = mergers(dataset.communes)
    if merged.is_empty():
        return []

    def fr(d: date) -> str:
        return d.strftime("%d/%m/%Y")

    names = dict(dataset.communes.select("code_insee", "nom").iter_rows())
    lines = ["Fusions de communes (participations reprises par la commune nouvelle) :"]
    for (day, successor), group in merged.group_by("date_sortie", "code_successeur",
                                                   maintain_order=True):
        absorbed = ", ".join(f"{n} ({c})" for c, n in group.select("code_insee", "nom")
                             .iter_rows())
        lines.append(f"  {fr(day)} : {absorbed} → {names.get(successor, '?')} ({successor})")
    for row in carried_over(dataset.communes, dataset.participations).iter_rows(named=True):
        old, new = row["code_origine"], row["code_insee"]
        what = (f"reprise par {names.get(new, '?')} ({new}) dès le {fr(row['date_debut'])}"
                if row["reprise"] else f"{names.get(new, '?')} ({new}) y participe déjà")
        lines.append(f"  participation de {names.get(old, '?')} ({old}) à {row['action_id']} "
                     f": {what}")
    late = dataset.participations.join(
        merged.select("code_insee", "date_sortie", "code_successeur"), on="code_insee"
    ).filter(pl.col("date_debut") >= pl.col("date_sortie"))
    for code, action, start, left, new in late.select(
            "code_insee", "action_id", "date_debut", "date_sortie", "code_successeur").iter_rows():
        lines.append(f"  attention : participation de {names.get(code, '?')} ({code}) à "
                     f"{action} commencée le {fr(start)}, après sa fusion du {fr(left)} : "
                     f"ignorée ; l'inscrire sous le code de {names.get(new, '?')} ({new})")
    return lines
