"""The conversion of a follow-up sheet into ``participations.csv``: start dates settled,
the rules of the input contract checked, the conversion report, and both files written
together (:func:`import_followup`, the entry point)."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from mutualisation.data.followup.cells import CellProblem, fr_date, parse_default
from mutualisation.data.followup.forms import filled_actions_csv
from mutualisation.data.followup.names import (
    CODE_MATCH,
    EXACT,
    MAPPED,
    MAPPING_FILE,
    NORMALISED,
)
from mutualisation.data.followup.reference import Reference, read_reference, resolve_communes
from mutualisation.data.followup.shapes import Rows, Stats, list_rows, matrix_rows
from mutualisation.data.followup.sheet import MATRIX, Sheet, find_header, read_sheet
from mutualisation.data.problems import DataError, Problem
from mutualisation.data.read import find_source, has_rows, list_folder
from mutualisation.files import os_reason, replacing
from mutualisation.formatting import fr_int, plural

#: The table written, in the data folder.
OUTPUT_FILE = "participations.csv"
#: The conversion report, written beside the output.
REPORT_FILE = "rapport_import.txt"


class WriteError(DataError):
    """The input was understood but the files could not be written (nothing was)."""


def settle(rows: Rows, sheet: Sheet, reference: Reference, default: date | None,
            stats: Stats) -> tuple[pl.DataFrame, list[Problem]]:
    """The participations with their commune codes and start dates, and what's wrong with
    them: unknown starts with no date to take, starts before the commune's accession or
    the action's inscription, ends before starts, overlaps."""
    communes = resolve_communes(rows.frame["written"], reference).filter(
        pl.col("target").is_not_null()).select("written", code_insee="target")
    frame = (
        rows.frame.join(communes, on="written", how="inner")
        .filter(pl.col("action_id").is_not_null())
        .join(reference.communes.select("code_insee", "nom", "date_adhesion"), on="code_insee")
        .join(reference.actions.select("action_id", "date_inscription", "date_deploiement"),
              on="action_id")
    )
    base = pl.when(pl.col("unknown")).then(
        pl.coalesce(pl.col("date_deploiement"), pl.lit(default, dtype=pl.Date)))
    frame = frame.with_columns(base=base).with_columns(
        date_debut=pl.when(pl.col("unknown") & pl.col("base").is_not_null())
        .then(pl.max_horizontal("base", "date_adhesion", "date_inscription"))
        .when(~pl.col("unknown")).then(pl.col("start")),
        date_fin=pl.col("end"),
    )
    label = sheet.label
    problems: list[Problem] = []
    undated = (frame.filter(pl.col("unknown") & pl.col("base").is_null())
               .group_by("action_id").agg(pl.col("cell").sort_by("__row").first(),
                                          pl.col("__row").min(), pl.len())
               .sort("__row", "action_id"))
    problems += [
        CellProblem(label, f"action {action} non déployée : date de début inconnue pour "
                    f"{plural(n, 'participation', 'participations')} (écrire la date dans la "
                    "cellule, ou donner --date-par-defaut)", line=row, cell=cell)
        for action, cell, row, n in undated.iter_rows()
    ]
    known = frame.filter(~pl.col("unknown"))
    problems += [
        CellProblem(label, f"date antérieure à l'adhésion de {nom} ({code}) à "
                    f"l'intercommunalité, le {fr_date(joined)}", line=row, value=fr_date(start),
                    cell=cell)
        for row, cell, start, nom, code, joined in
        known.filter(pl.col("date_debut") < pl.col("date_adhesion"))
        .select("__row", "cell", "date_debut", "nom", "code_insee", "date_adhesion").iter_rows()
    ]
    problems += [
        CellProblem(label, f"date antérieure à l'inscription de l'action {action}, le "
                    f"{fr_date(inscribed)}", line=row, value=fr_date(start), cell=cell)
        for row, cell, start, action, inscribed in
        known.filter(pl.col("date_debut") < pl.col("date_inscription"))
        .select("__row", "cell", "date_debut", "action_id", "date_inscription").iter_rows()
    ]
    problems += [
        CellProblem(label, f"date de fin ({fr_date(end)}) antérieure au début ({fr_date(start)})",
                    line=row, cell=cell)
        for row, cell, start, end in
        frame.filter(pl.col("date_fin") < pl.col("date_debut"))
        .select("__row", "cell", "date_debut", "date_fin").iter_rows()
    ]
    problems += _overlaps(frame, label)
    dated = frame.filter(pl.col("date_debut").is_not_null())
    unknown = dated.filter(pl.col("unknown"))
    stats.unknown_start = unknown.height
    stats.at_deployment = unknown.filter(pl.col("date_deploiement").is_not_null()).height
    stats.at_default = unknown.height - stats.at_deployment
    stats.moved_later = unknown.filter(pl.col("date_debut") > pl.col("base")).height
    out = (dated.select("code_insee", "action_id", "date_debut", "date_fin")
           .unique().sort("code_insee", "action_id", "date_debut", "date_fin"))
    return out, problems


def _overlaps(frame: pl.DataFrame, label: str) -> list[Problem]:
    """Two participations of a commune in an action whose periods meet (the same commune
    twice in a matrix, or overlapping lines of a list)."""
    open_end = pl.col("date_fin").fill_null(date.max)
    pair = ("code_insee", "action_id")
    found = (
        frame.filter(pl.col("date_debut").is_not_null())
        .sort("code_insee", "action_id", "date_debut", "__row")
        .with_columns(open_end.cum_max().over(*pair).alias("__max_end"))
        .with_columns(pl.when(open_end == pl.col("__max_end")).then(pl.col("cell"))
                      .forward_fill().over(*pair).alias("__max_cell"))
        .with_columns(pl.col("__max_end").shift(1).over(*pair).alias("__prev_end"),
                      pl.col("__max_cell").shift(1).over(*pair).alias("__prev_cell"))
        .filter(pl.col("date_debut") < pl.col("__prev_end"))
        .sort("__row", "cell")
    )
    return [
        CellProblem(label, f"{nom} ({code}) participe déjà à {action} à cette date (cellule "
                    f"{previous}) : une commune en double ?", line=row, value=written,
                    cell=cell)
        for row, cell, written, nom, code, action, previous in
        found.select("__row", "cell", "written", "nom", "code_insee", "action_id",
                     "__prev_cell").iter_rows()
    ]


_HOW = {CODE_MATCH: "par code INSEE", EXACT: "à l'identique",
        NORMALISED: "après normalisation", MAPPED: f"par {MAPPING_FILE}"}
_KINDS = {"marque": ("X/oui/1/✓ (date inconnue)", "X/oui/1/✓ (date inconnue)"),
          "date": ("date", "dates"), "annee": ("année", "années"),
          "serie": ("date en numéro de série Excel", "dates en numéro de série Excel"),
          "non": ("« non »", "« non »"), "vide": ("vide", "vides")}


def _by_how(counts: dict[str, int]) -> str:
    parts = [f"{fr_int(counts[how])} {text}" for how, text in _HOW.items()
             if counts.get(how)]
    return ", ".join(parts) if parts else "aucune"


def conversion_report(stats: Stats, sheet: Sheet, folder: Path, default: date | None) -> str:
    shape = ("tableau croisé (une ligne par commune, une colonne par action)"
             if stats.shape == MATRIX else
             "liste (une ligne par commune et action)")
    encoding = f" (encodage {stats.encoding})" if stats.encoding else ""
    communes = sum(stats.communes_by.get(h, 0) for h in _HOW)
    actions = sum(stats.actions_by.get(h, 0) for h in _HOW)
    what = ("colonne", "colonnes") if stats.shape == MATRIX else ("nom", "noms")
    lines = [
        f"Import de {sheet.label}{encoding} vers {folder.name}/{OUTPUT_FILE}",
        f"Forme : {shape}, en-tête ligne {stats.header_row}",
        f"Lignes lues : {fr_int(stats.rows_read)}",
        f"Communes reconnues : {communes} ({_by_how(stats.communes_by)})",
        f"Actions reconnues : {plural(actions, *what)} ({_by_how(stats.actions_by)})",
        "Cellules : " + (", ".join(plural(stats.cells_by[k], *forms)
                                   for k, forms in _KINDS.items() if stats.cells_by.get(k))
                         or "aucune"),
    ]
    if stats.unknown_start:
        default_text = f" ({fr_date(default)})" if default else ""
        lines.append(
            f"Débuts inconnus (X) : {stats.unknown_start} — {stats.at_deployment} à la date de "
            f"déploiement de l'action, {stats.at_default} à la date par défaut{default_text} ; "
            f"dont {stats.moved_later} reportés à l'adhésion de la commune ou à l'inscription "
            "de l'action, plus tardive")
    lines.append(f"Participations écrites : {stats.written}")
    if stats.shape == MATRIX:
        lines.append("Forme croisée : une date de début par commune et action, aucune date de "
                     "fin (participations en cours)")
    lines.append("Colonnes ignorées : " + (", ".join(stats.ignored_columns) or "aucune"))
    lines.append("Lignes ignorées : " + (", ".join(stats.ignored_rows) or "aucune"))
    if stats.rows_without:
        lines.append(f"Lignes sans participation : {stats.rows_without}")
    return "\n".join(lines) + "\n"


def _destination(folder: Path, force: bool) -> list[Problem]:
    """Why ``participations.csv`` can't be written in ``folder`` (nothing when it can)."""
    source = find_source(folder, "participations")
    if isinstance(source, Problem):
        return [] if "introuvable" in source.message else [source]
    if source.sheet is None and source.path.name == OUTPUT_FILE:
        if force:
            return []
        return [Problem(str(source.path), "existe déjà : --force pour le remplacer")]
    if source.sheet is not None and not has_rows(source, "participations"):
        return []  # an empty sheet (mutualisation init's workbook): the file will take over
    return [Problem(source.label, f"la table participations est déjà là : l'import écrit "
                    f"{OUTPUT_FILE}, retirer d'abord celle-ci du dossier")]


@contextlib.contextmanager
def _ctrl_c_deferred() -> Iterator[None]:
    """Ctrl-C (SIGINT) held back until the body ends, then delivered as it would have been
    (main thread only: elsewhere Python delivers no signal anyway)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[tuple[int, object]] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append((signum, frame)))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received:
            if callable(previous):
                previous(*received[0])
            else:
                raise KeyboardInterrupt


def _kept(path: Path) -> Path | None:
    """A hard link (a copy where links are not allowed) to the file ``path`` as it is, to
    put it back; None when there is no such file."""
    if not path.is_file():
        return None
    keep = path.with_name(f".{path.name}.avant")
    keep.unlink(missing_ok=True)
    try:
        os.link(path, keep)
    # OSError: a file system without hard links (FAT, some shares); AttributeError,
    # NotImplementedError: a Python without os.link
    except (OSError, AttributeError, NotImplementedError):
        keep.write_bytes(path.read_bytes())
    return keep


def write_together(files: dict[Path, bytes]) -> None:
    """Write every file of ``files`` or none: each is written whole beside its place
    (:func:`mutualisation.files.replacing`), then all are renamed into place with Ctrl-C
    held back; if a rename fails, the files already renamed get their previous content
    back (or are removed when they were new). Raises OSError."""
    kept: dict[Path, Path | None] = {}
    # A Ctrl-C held back is delivered once the files are in place, or put back.
    with _ctrl_c_deferred():
        try:
            for path in files:
                kept[path] = _kept(path)
            with contextlib.ExitStack() as stack:
                for path, data in files.items():
                    stack.enter_context(replacing(path)).write_bytes(data)
        except BaseException:
            for path, keep in kept.items():
                with contextlib.suppress(OSError):
                    if keep is None:
                        path.unlink(missing_ok=True)
                    else:
                        keep.replace(path)
            raise
        finally:
            for keep in kept.values():
                if keep is not None:
                    with contextlib.suppress(OSError):
                        keep.unlink(missing_ok=True)


@dataclass(frozen=True)
class ImportResult:
    """What :func:`import_followup` wrote."""

    #: The participations written, sorted as in the file.
    participations: pl.DataFrame
    #: The conversion report (French), as printed and written to ``report_path``.
    report: str
    output: Path
    report_path: Path


def _convert(file: Path, folder: Path, sheet: str | None,
             default: date | None) -> tuple[pl.DataFrame, Stats, Sheet]:
    """The participations of the sheet, or DataError with every problem found."""
    reference = read_reference(folder)
    sheet_read = read_sheet(file, sheet)
    if isinstance(reference, list) or isinstance(sheet_read, list):
        raise DataError((reference if isinstance(reference, list) else [])
                        + (sheet_read if isinstance(sheet_read, list) else []))
    header = find_header(sheet_read, reference)
    if isinstance(header, Problem):
        raise DataError([header])
    stats = Stats(shape=header.shape, header_row=header.row, encoding=sheet_read.encoding)
    convert = matrix_rows if header.shape == MATRIX else list_rows
    rows = convert(sheet_read, header, reference, stats)
    participations, found = settle(rows, sheet_read, reference, default, stats)
    problems = rows.problems + found
    if any("inconnue" in p.message or "ambiguë" in p.message for p in rows.problems):
        problems.append(Problem(
            str(folder / MAPPING_FILE),
            "pour un nom que la normalisation ne suffit pas à reconnaître : une ligne "
            "« ecrit,code » (code INSEE, action_id, ou « ignorer »), relue à chaque import"))
    if not problems and participations.height == 0:
        problems.append(Problem(sheet_read.label, "aucune participation trouvée (aucune cellule "
                                "X, date ou année sous les en-têtes d'actions)"))
    if problems:
        raise DataError(problems)
    stats.written = participations.height
    return participations, stats, sheet_read


def import_followup(file: str | Path, data: str | Path, *, sheet: str | None = None,
                    force: bool = False,
                    default_date: date | str | None = None) -> ImportResult:
    """Import the follow-up spreadsheet ``file`` into ``data``/participations.csv, with
    the conversion report beside it (:data:`REPORT_FILE`).

    ``sheet`` names the workbook's sheet (the first by default); ``force`` replaces an
    existing participations.csv; ``default_date`` (a date, or text as JJ/MM/AAAA,
    AAAA-MM-JJ or a year) starts the ``X`` cells of actions that have no deployment
    date. Raises DataError with every problem found, before anything is written
    (WriteError when only the writing failed: nothing was written either).
    """
    file, folder = Path(file), Path(data)
    listed = list_folder(folder)
    if isinstance(listed, Problem):
        raise DataError([listed])
    default = parse_default(default_date)
    problems: list[Problem] = [default] if isinstance(default, Problem) else []
    problems += _destination(folder, force)
    try:
        participations, stats, sheet_read = _convert(
            file, folder, sheet, None if isinstance(default, Problem) else default)
    except DataError as err:
        raise DataError(problems + err.problems) from None
    if problems:
        raise DataError(problems)
    actions_csv, forms_line = filled_actions_csv(folder, stats.forms)
    report = conversion_report(stats, sheet_read, folder, default)
    report += f"{forms_line}\n" if forms_line else ""
    output, report_path = folder / OUTPUT_FILE, folder / REPORT_FILE
    text = participations.write_csv(date_format="%Y-%m-%d", line_terminator="\n")
    files = {output: text.encode("utf-8"), report_path: report.encode("utf-8")}
    if actions_csv is not None:
        files[folder / "actions.csv"] = actions_csv
    try:
        write_together(files)
    except OSError as err:
        where = err.filename or output
        raise WriteError([Problem(str(where), f"écriture impossible : {os_reason(err)} ; "
                                  "rien n'a été écrit")]) from None
    return ImportResult(participations, report, output, report_path)
