"""A new data folder for any French intercommunality, from the official reference
(``mutualisation init``).

:func:`init_data_folder` finds the EPCI (:func:`mutualisation.data.reference.find_epci`: a
SIREN, an old SIREN followed to its successor, or a name) and writes, offline:

- ``communes.csv``: every commune that was a member in a snapshot of the reference, with
  ``date_adhesion`` (1 January of the first snapshot where it is a member),
  ``adhesion_borne_inferieure`` (« oui » when that is the reference's first snapshot: it may
  have joined earlier), ``date_sortie``, ``code_successeur`` (the commune nouvelle, for a
  commune absorbed by a merger), ``motif_sortie`` (for information) and ``population``
  (municipal population of the DGCL's EPCI file, latest snapshot giving one);
- ``communes.geojson``: the outlines, for the map (communes absorbed by a merger are drawn
  by their commune nouvelle; communes the reference has no outline for are said);
- ``metadata.json``: name, SIREN, type, the years covered, the schéma's adoption date when
  given, the reference's editions;
- ``actions_participations.xlsx``: the ``actions`` and ``participations`` sheets to fill, as
  :func:`mutualisation.data.template.write_template` writes them.

The folder is built beside its destination, checked by
:func:`mutualisation.data.validate.load_dataset`, then renamed into place: it appears whole
or not at all, and an existing folder is only replaced with ``force``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from mutualisation.config import METADATA_FILE, OUTLINES_FILE
from mutualisation.data import reference
from mutualisation.data.model import SCHEMAS, Dataset, is_member
from mutualisation.data.template import write_template
from mutualisation.data.validate import load_dataset
from mutualisation.files import os_reason, write_json
from mutualisation.formatting import agree, fr_date, plural

#: The workbook of the tables to fill.
WORKBOOK_FILE = "actions_participations.xlsx"
#: The communes table written by init.
COMMUNES_FILE = "communes.csv"
#: The populations by year written by init.
POPULATIONS_FILE = "populations.csv"

__all__ = ["COMMUNES_FILE", "POPULATIONS_FILE", "WORKBOOK_FILE", "BadMembersSince", "InitError",
           "InitResult", "init_data_folder"]


class InitError(Exception):
    """The data folder can't be written; ``str()`` is one French line."""


class FolderExists(InitError):
    """The data folder exists and is not empty (and ``force`` was not given)."""


class BadMembersSince(InitError):
    """``members_since`` is after the reference's first edition: it can't date its members."""


@dataclass(frozen=True)
class InitResult:
    """What :func:`init_data_folder` wrote, and what the user should know."""

    folder: Path
    epci: reference.Epci
    #: Files written, in the order shown.
    files: tuple[str, ...]
    #: Number of communes in ``communes.csv``, and of members on 1 January of the last
    #: snapshot.
    communes: int
    members: int
    #: French sentences: the old SIREN followed, lower-bound dates, missing outlines…
    notes: tuple[str, ...] = field(default=())
    #: One French line per file written (after its name).
    details: tuple[str, ...] = field(default=())

    @property
    def lines(self) -> list[str]:
        """The French lines to print."""
        return [
            f"Intercommunalité : {self.epci.label()}.",
            f"Dossier de données écrit : {self.folder}",
            *(f"  {name:<28} {detail}" for name, detail in
              zip(self.files, self.details, strict=True)),
            *self.notes,
            f"Étape suivante : remplir les feuilles « actions » et « participations » de "
            f"{WORKBOOK_FILE} (et, si besoin, la feuille facultative « moyens » : effectifs et "
            f"coûts), puis « mutualisation check --data {self.folder} ».",
        ]


def _communes(history: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """The communes table to write, and notes about mergers outside the intercommunality."""
    notes = []
    codes = set(history["code_insee"])
    outside = history.filter(pl.col("code_successeur").is_not_null()
                             & ~pl.col("code_successeur").is_in(sorted(codes)))
    if outside.height:
        listed = ", ".join(f"{n} ({c} → {s})" for c, n, s in
                           outside.select("code_insee", "nom", "code_successeur").iter_rows())
        notes.append(f"Fusion dans une commune hors de l'intercommunalité, comptée comme une "
                     f"sortie : {listed}.")
    table = history.with_columns(
        pl.when(pl.col("code_insee").is_in(outside["code_insee"].implode()))
        .then(None).otherwise(pl.col("code_successeur")).alias("code_successeur"),
        pl.when(pl.col("adhesion_borne_inferieure")).then(pl.lit("oui"))
        .otherwise(pl.lit(None, pl.String)).alias("adhesion_borne_inferieure"),
        pl.col("population").cast(pl.Int64),
    ).select("code_insee", "nom", "date_adhesion", "adhesion_borne_inferieure", "date_sortie",
             "code_successeur", "motif_sortie", "population").sort("code_insee")
    return table, notes


def _years(schema_adopted: date | None, members_since: date | None = None) -> tuple[int, int]:
    last = reference.snapshot_years()[-1]
    start = schema_adopted or members_since
    if start is None:
        return last, last
    return start.year, max(last, start.year)


def _members_since(communes: pl.DataFrame, since: date) -> pl.DataFrame:
    """The communes present in the reference's first edition dated from ``since``: their
    adhesion date is then a known date, no longer a lower bound."""
    bounded = pl.col("adhesion_borne_inferieure") == "oui"
    return communes.with_columns(
        pl.when(bounded).then(pl.lit(since)).otherwise(pl.col("date_adhesion"))
        .alias("date_adhesion"),
        pl.lit(None, pl.String).alias("adhesion_borne_inferieure"),
    )


def _populations(communes: pl.DataFrame) -> tuple[pl.DataFrame, str]:
    """The populations by year of the communes, from every edition of the reference that
    gives one, and the line saying which years it covers."""
    table = reference.populations_by_year(communes["code_insee"].to_list())
    given = sorted(set(table["annee"].to_list()))
    none = [y for y in reference.snapshot_years() if y not in given]
    detail = (f"{plural(table.height, 'population', 'populations')} par année"
              + (f" ({given[0]} à {given[-1]})" if given else ""))
    if none:
        years = ", ".join(str(y) for y in none)
        detail += (f" ; aucune pour {years} : le fichier de la DGCL de "
                   f"{agree(len(none), 'cette année', 'ces années')} n'en donne pas")
    return table, detail


def _metadata(epci: reference.Epci, schema_adopted: date | None,
              years: tuple[int, int], members_since: date | None = None) -> dict:
    meta: dict = {
        "intercommunalite": epci.nom,
        "siren": epci.siren,
        "type": epci.type,
        "departement": epci.departement,
    }
    if schema_adopted is not None:
        meta["schema_adopte_le"] = schema_adopted.isoformat()
    if members_since is not None:
        meta["membres_depuis"] = members_since.isoformat()
    meta |= {
        "illustratif": False,
        "annees": {"debut": years[0], "fin": years[1]},
        "description": (
            f"Communes de l'intercommunalité {epci.nom} (SIREN {epci.siren}) d'après le "
            "référentiel officiel livré avec le paquet (DGCL, INSEE, IGN ; Licence Ouverte / "
            "Etalab 2.0), écrites par mutualisation init. Actions et participations à compléter."
        ),
        "referentiel": reference.editions(),
    }
    return meta


def _empty_dataset(communes: pl.DataFrame, years: tuple[int, int]) -> Dataset:
    """The communes as a data set with no action, for the drop-down lists of the workbook."""
    typed = communes.with_columns(
        (pl.col("adhesion_borne_inferieure") == "oui").alias("adhesion_borne_inferieure"))
    frames = {
        name: pl.DataFrame(schema=schema) for name, schema in SCHEMAS.items()
    }
    frames["communes"] = typed.select(
        pl.col(c).cast(t) for c, t in SCHEMAS["communes"].items())
    return Dataset(frames["communes"], frames["actions"], frames["participations"],
                   first_year=years[0], last_year=years[1])


def _write(staging: Path, match: reference.EpciMatch, schema_adopted: date | None,
           members_since: date | None = None,
           ) -> tuple[list[str], list[str], list[str], int, int]:
    epci = match.epci
    history = reference.membership_history(epci.siren)
    communes, notes = _communes(history)
    bounded = communes.filter(pl.col("adhesion_borne_inferieure") == "oui")
    if members_since is not None:
        communes = _members_since(communes, members_since)
    years = _years(schema_adopted, members_since)
    last = date(reference.snapshot_years()[-1], 1, 1)
    members = communes.filter(is_member(pl.lit(last)))
    merged = communes.filter(pl.col("code_successeur").is_not_null())
    withdrawn = communes.filter(pl.col("date_sortie").is_not_null()
                                & pl.col("code_successeur").is_null())

    communes.write_csv(staging / COMMUNES_FILE, date_format="%Y-%m-%d")
    left = []
    if merged.height:
        left.append(plural(merged.height, "absorbée par une fusion", "absorbées par une fusion"))
    if withdrawn.height:
        left.append(plural(withdrawn.height, "sortie", "sorties"))
    details = [
        f"{plural(communes.height, 'commune', 'communes')}, "
        f"{plural(members.height, 'membre', 'membres')} au {fr_date(last)}"
        + (f" ; {', '.join(left)}" if left else "")
    ]

    drawn = sorted(set(communes["code_insee"]) - set(merged["code_insee"]))
    outlines = reference.outlines(drawn, missing_ok=True)
    found = {f["properties"]["code_insee"] for f in outlines["features"]}
    missing = [c for c in drawn if c not in found]
    (staging / OUTLINES_FILE).write_text(
        _geojson(outlines), encoding="utf-8")
    details.append(f"{plural(len(found), 'contour', 'contours')} (IGN – ADMIN EXPRESS COG, "
                   "géométrie simplifiée)")
    if missing:
        names = dict(communes.select("code_insee", "nom").iter_rows())
        listed = ", ".join(f"{names[c]} ({c})" for c in missing)
        notes.append(f"Pas de contour dans le référentiel pour {listed} : "
                     f"{agree(len(missing), 'elle manque', 'elles manquent')} à la carte.")
    if merged.height:
        notes.append("Une commune absorbée par une fusion n'a pas de contour propre : la carte "
                     "montre sa commune nouvelle.")

    populations, populations_detail = _populations(communes)
    populations.write_csv(staging / POPULATIONS_FILE)
    details.append(populations_detail)

    write_json(staging / METADATA_FILE, _metadata(epci, schema_adopted, years, members_since))
    details.append(f"années {years[0]} à {years[1]}"
                   + (f", schéma adopté le {fr_date(schema_adopted)}" if schema_adopted else "")
                   + ", éditions du référentiel")

    write_template(staging / WORKBOOK_FILE, _empty_dataset(communes, years),
                   tables=("actions", "participations"))
    details.append("feuilles « actions » et « participations » à remplir, « moyens » "
                   "facultative")

    if match.note:
        notes.insert(0, match.note)
    if bounded.height and members_since is not None:
        notes.append(
            f"{plural(bounded.height, 'commune membre', 'communes membres')} dès le premier "
            f"millésime du référentiel ({fr_date(bounded['date_adhesion'].min())}) : "
            f"date d'adhésion mise au {fr_date(members_since)} (--membres-depuis).")
    elif bounded.height:
        first = bounded["date_adhesion"].min()
        notes.append(
            f"{plural(bounded.height, 'commune est membre', 'communes sont membres')} dès le "
            f"premier millésime du référentiel ({fr_date(first)}) : leur date d'adhésion est "
            "une borne (colonne adhesion_borne_inferieure) ; mettez la vraie date si vous la "
            "connaissez, surtout si le schéma est plus ancien.")
    notes.append(f"{METADATA_FILE} déclare les années couvertes ({years[0]} à {years[1]}) : "
                 "étendre sa clé « annees » quand les données d'une nouvelle année sont "
                 "complètes.")
    notes.append("Les autres dates d'adhésion et de sortie sont le 1er janvier du millésime qui "
                 "constate le changement (au plus tard) ; les fusions sont à leur date.")
    no_population = communes.filter(pl.col("population").is_null()).height
    notes.append("Population : population municipale de la DGCL, dernier millésime qui la "
                 "donne (2021 à 2025)"
                 + (f" ; {plural(no_population, 'commune', 'communes')} sans population."
                    if no_population else "."))
    files = [COMMUNES_FILE, OUTLINES_FILE, POPULATIONS_FILE, METADATA_FILE, WORKBOOK_FILE]
    return files, details, notes, communes.height, members.height


def _geojson(collection: dict) -> str:
    return json.dumps(collection, ensure_ascii=False, separators=(",", ":")) + "\n"


def _staging(folder: Path) -> Path:
    return folder.with_name(f".{folder.name}.init-{os.getpid()}")


def _put_in_place(staging: Path, folder: Path, force: bool) -> None:
    """Rename ``staging`` to ``folder``; an existing folder is replaced only with ``force``
    (an empty one always), and only once the new one is complete."""
    old = None
    if folder.exists() or folder.is_symlink():
        if not folder.is_dir():
            raise FolderExists(f"{folder} existe et n'est pas un dossier.")
        if any(folder.iterdir()):
            if not force:
                raise FolderExists(f"Le dossier {folder} existe déjà et n'est pas vide : "
                                "choisissez un autre dossier, ou --force pour le remplacer.")
            old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
            folder.rename(old)
        else:
            folder.rmdir()
    try:
        staging.rename(folder)
    except BaseException:
        if old is not None:
            old.rename(folder)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def init_data_folder(epci: str, folder: Path, *, schema_adopted: date | None = None,
                     force: bool = False, members_since: date | None = None) -> InitResult:
    """Write a data folder for the EPCI ``epci`` (SIREN, old SIREN or name) into ``folder``.

    Raises :class:`mutualisation.data.reference.ReferenceLookupError` when the EPCI is not
    found (:class:`~mutualisation.data.reference.AmbiguousEpciError` lists the candidates
    with SIREN, type and department; :class:`~mutualisation.data.reference.UnknownEpciError`
    suggests the closest), :class:`InitError` when the folder exists (without ``force``) or
    can't be written, :class:`BadMembersSince` when ``members_since`` (the date the communes
    of the reference's first edition joined) is after that edition. Nothing is left behind
    on failure.
    """
    first_edition = date(reference.snapshot_years()[0], 1, 1)
    if members_since is not None and members_since > first_edition:
        raise BadMembersSince(
            f"--membres-depuis : le {fr_date(members_since)} est postérieur au premier "
            f"millésime du référentiel ({fr_date(first_edition)}), où ses communes sont déjà "
            f"membres : donner une date au plus tard le {fr_date(first_edition)}.")
    match = reference.find_epci(epci)
    folder = Path(folder).absolute()
    if folder.exists() and not folder.is_dir():
        raise FolderExists(f"{folder} existe et n'est pas un dossier : choisissez un dossier.")
    if folder.exists() and not force and any(folder.iterdir()):
        raise FolderExists(f"Le dossier {folder} existe déjà et n'est pas vide : choisissez un "
                        "autre dossier, ou --force pour le remplacer.")
    staging = _staging(folder)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir()
        files, details, notes, count, members = _write(staging, match, schema_adopted,
                                                       members_since)
        load_dataset(staging)  # ready for check and report, or fail here
        _put_in_place(staging, folder, force)
    except OSError as err:
        raise InitError(f"Impossible d'écrire {err.filename or folder} : "
                        f"{os_reason(err)}.") from err
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(staging)
    return InitResult(folder, match.epci, tuple(files), count, members, tuple(notes),
                      tuple(details))
