"""The data a report was made from, kept inside it (``OUT/Y/donnees/``), and its tables
read back with the line each row has in its file.

The snapshot holds every table of the loaded data set, validated and typed, whatever it is
(the three required tables, the optional ones, the optional and extra columns): one CSV per
table, UTF-8, comma-separated, dates ``AAAA-MM-JJ``, rows sorted on every column so that the
same data always gives the same bytes, whatever the order, the encoding or the format of
the files it was read from. The folder's ``metadata.json`` is copied as it is. A snapshot is
itself a valid data folder: ``mutualisation report --data OUT/2019/donnees`` remakes the
report, and ``mutualisation diff --depuis OUT/2019`` compares with it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from mutualisation.config import METADATA_FILE, SNAPSHOT_DIR
from mutualisation.data import moyens
from mutualisation.data.model import SCHEMAS, TABLES, Dataset
from mutualisation.data.read import LINE, RawTable, TableSource, find_source, read_table
from mutualisation.data.validate import check_table, load_dataset
from mutualisation.files import sha256


def dataset_tables(dataset: Dataset) -> dict[str, pl.DataFrame]:
    """Every table of ``dataset`` by name, sorted by name: the required ones and any
    optional table the data folder had (a table is a frame attribute named as its source)."""
    names = set(TABLES) | {name for name in dataset.sources if name != "metadata"}
    return {name: frame for name in sorted(names)
            if isinstance(frame := getattr(dataset, name, None), pl.DataFrame)}


def sorted_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` sorted on all its columns, in order (nulls first): one order for one content."""
    if not frame.columns or frame.height == 0:
        return frame
    return frame.sort(frame.columns, nulls_last=False, maintain_order=True)


def write_snapshot(dataset: Dataset, report: Path) -> dict[str, str]:
    """Write ``report/donnees/`` (one sorted CSV per table, and the metadata file) and return
    the SHA-256 of each file written, by its path relative to ``report``."""
    folder = report / SNAPSHOT_DIR
    folder.mkdir()
    for name, frame in dataset_tables(dataset).items():
        sorted_rows(frame).write_csv(folder / f"{name}.csv", date_format="%Y-%m-%d",
                                     line_terminator="\n")
    metadata = dataset.sources.get("metadata")
    if metadata is not None:
        shutil.copyfile(metadata, folder / METADATA_FILE)
    return {f"{SNAPSHOT_DIR}/{path.name}": sha256(path) for path in sorted(folder.iterdir())}


def _checked(raw: RawTable) -> pl.DataFrame | None:
    return check_table(raw)[0]


#: How each known table is typed with its lines: the tables of ``SCHEMAS`` by the common
#: checks, ``moyens`` by its own module.
_LOCATORS: dict[str, Callable[[RawTable], pl.DataFrame | None]] = {
    **dict.fromkeys(SCHEMAS, _checked), moyens.TABLE: moyens.with_lines}


@dataclass(frozen=True)
class LocatedTable:
    """A validated table with the line of each row in its file (column ``LINE``)."""

    #: How messages name the file: ``participations.csv``, ``donnees.xlsx (feuille « … »)``.
    label: str
    frame: pl.DataFrame


def located_tables(folder: Path) -> dict[str, LocatedTable]:
    """The tables of the data folder ``folder``, validated (DataError on bad input), each
    row with its line as a spreadsheet shows it (header = line 1).

    A table this module knows no schema of (added by a later version) comes without lines
    (LINE null): it can still be compared.
    """
    dataset = load_dataset(folder)
    located = {}
    for name, frame in dataset_tables(dataset).items():
        source = find_source(folder, name) if name in _LOCATORS else None
        raw = read_table(source, name) if isinstance(source, TableSource) else None
        typed = _LOCATORS[name](raw) if isinstance(raw, RawTable) else None
        if typed is None:
            label = dataset.sources[name].name if name in dataset.sources else name
            located[name] = LocatedTable(label, frame.with_columns(pl.lit(None, pl.Int64)
                                                                   .alias(LINE)))
            continue
        located[name] = LocatedTable(raw.label, typed.select(*frame.columns, LINE))
    return located
