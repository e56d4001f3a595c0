"""The official reference shipped with the package: EPCIs, member communes, mergers, outlines.

The files live in ``referentiel/`` beside this module; ``scripts/build_reference.py``
(``make referentiel``) builds them and ``referentiel/PROVENANCE.md`` says where they come
from. This module only reads them (standard library and Polars), with no network access.

Snapshots are dated 1 January of their year (``annee``). The membership of an EPCI is traced
through the snapshots; an EPCI that was merged into another is followed to it by its member
communes (:func:`find_epci_by_siren`).
"""

from __future__ import annotations

import difflib
import functools
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import polars as pl

from mutualisation.config import PACKAGE_DIR
from mutualisation.formatting import agree, plural

__all__ = [
    "REFERENCE_DIR",
    "AmbiguousEpciError",
    "Epci",
    "EpciMatch",
    "ReferenceLookupError",
    "UnknownEpciError",
    "commune_events",
    "current_communes",
    "editions",
    "epci_lineage",
    "epci_snapshots",
    "find_epci",
    "find_epci_by_name",
    "find_epci_by_siren",
    "members",
    "membership_history",
    "outlines",
    "populations",
    "snapshot_years",
]

#: Folder of the reference files (package data).
REFERENCE_DIR = PACKAGE_DIR / "referentiel"
#: Grid of the outline coordinates, in degrees (see PROVENANCE.md).
QUANTUM = 1e-5
_DECIMALS = 5


class ReferenceLookupError(LookupError):
    """Something asked of the reference is not in it; ``str()`` is one line for people."""


class UnknownEpciError(ReferenceLookupError):
    """No EPCI answers the query; ``suggestions`` holds the closest ones (maybe none)."""

    def __init__(self, message: str, suggestions: tuple[Epci, ...] = ()) -> None:
        super().__init__(message)
        self.suggestions = suggestions


class AmbiguousEpciError(ReferenceLookupError):
    """Several EPCIs answer the query; ``candidates`` lists them, sorted by SIREN."""

    def __init__(self, message: str, candidates: tuple[Epci, ...]) -> None:
        super().__init__(message)
        self.candidates = candidates


@dataclass(frozen=True)
class Epci:
    """An EPCI as one snapshot of the reference shows it."""

    siren: str
    nom: str
    type: str
    departement: str
    nombre_communes: int
    annee: int

    def label(self) -> str:
        """``nom (SIREN …, type, département …)``, to tell homonyms apart."""
        return f"{self.nom} (SIREN {self.siren}, {self.type}, département {self.departement})"


@dataclass(frozen=True)
class EpciMatch:
    """The current EPCI found for a query, and how it was found."""

    epci: Epci
    query: str
    #: The EPCI the query named when it no longer exists (followed to ``epci``), else None.
    followed_from: Epci | None = None

    @property
    def note(self) -> str | None:
        """A French sentence telling that an EPCI that no longer exists was followed."""
        old = self.followed_from
        if old is None:
            return None
        return (
            f"Le SIREN {old.siren} ({old.nom}, référentiel {old.annee}) n'existe plus : "
            f"ses communes font partie de {self.epci.nom} (SIREN {self.epci.siren}) "
            f"au 1er janvier {old.annee + 1}."
        )


# --- Files ---------------------------------------------------------------------------------


@functools.cache
def _read(name: str) -> pl.DataFrame:
    return pl.read_parquet(REFERENCE_DIR / f"{name}.parquet")


@functools.cache
def editions() -> dict:
    """The editions of the reference (``editions.json``), to copy into a manifest."""
    return json.loads((REFERENCE_DIR / "editions.json").read_text(encoding="utf-8"))


def epci_snapshots() -> pl.DataFrame:
    """Every EPCI of every snapshot: annee, siren, nom, type, mode_financement, populations,
    nombre_communes, departement (the department of most members)."""
    return _read("epci")


def members() -> pl.DataFrame:
    """Member communes of every EPCI and snapshot: annee, siren, code_insee, nom,
    siren_commune, population_municipale, population_totale (DGCL; null before 2021)."""
    return _read("membres")


def current_communes() -> pl.DataFrame:
    """The current communes (INSEE COG, ``commune-actuelle`` only): code_insee, nom,
    departement, region, siren, population (INSEE), anciens_codes."""
    return _read("communes")


def commune_events(codes: Iterable[str] | None = None) -> pl.DataFrame:
    """Commune events: date, code_insee, nom, code_successeur, nom_successeur, nature, source.

    A merger has one row per former commune (the one whose code the commune nouvelle keeps
    included, with ``code_successeur == code_insee``). With ``codes``, only the rows where
    one of them is the former or the successor commune.
    """
    events = _read("evenements")
    if codes is None:
        return events
    wanted = sorted(set(codes))
    return events.filter(
        pl.col("code_insee").is_in(wanted) | pl.col("code_successeur").is_in(wanted)
    )


@functools.cache
def snapshot_years() -> tuple[int, ...]:
    """The years of the snapshots (1 January), oldest first."""
    return tuple(sorted(epci_snapshots()["annee"].unique().to_list()))


def _epci(siren: str, year: int) -> Epci | None:
    row = epci_snapshots().filter((pl.col("annee") == year) & (pl.col("siren") == siren))
    if row.is_empty():
        return None
    r = row.row(0, named=True)
    return Epci(r["siren"], r["nom"], r["type"], r["departement"], r["nombre_communes"], year)


@functools.cache
def _member_sets(year: int) -> dict[str, frozenset[str]]:
    frame = members().filter(pl.col("annee") == year).group_by("siren").agg("code_insee")
    return {siren: frozenset(codes) for siren, codes in frame.iter_rows()}


def _best_overlap(codes: frozenset[str], year: int) -> str | None:
    """The EPCI of ``year`` sharing most communes with ``codes`` (ties: smallest SIREN)."""
    scores = [(len(codes & other), siren) for siren, other in _member_sets(year).items()]
    best = min(((-n, siren) for n, siren in scores if n), default=None)
    return None if best is None else best[1]


# --- Finding an EPCI -----------------------------------------------------------------------


def find_epci(query: str) -> EpciMatch:
    """An EPCI by SIREN (9 digits, spaces allowed) or else by name."""
    compact = re.sub(r"\s", "", query)
    if compact.isdigit():
        return find_epci_by_siren(compact)
    return find_epci_by_name(query)


def find_epci_by_siren(siren: str) -> EpciMatch:
    """The current EPCI of SIREN ``siren``; one that no longer exists is followed, snapshot
    after snapshot, to the EPCI that holds most of its communes (``followed_from`` says so).

    Raises :class:`UnknownEpciError` for a SIREN found in no snapshot.
    """
    siren = re.sub(r"\s", "", siren)
    years = snapshot_years()
    if not (len(siren) == 9 and siren.isdigit()):
        raise UnknownEpciError(f"SIREN invalide : « {siren} » (9 chiffres attendus).")
    present = [y for y in years if siren in _member_sets(y)]
    if not present:
        raise UnknownEpciError(
            f"aucune intercommunalité de SIREN {siren} dans le référentiel "
            f"({years[0]}–{years[-1]})."
        )
    last = present[-1]
    if last == years[-1]:
        return EpciMatch(_epci(siren, last), siren)
    current, codes = siren, _member_sets(last)[siren]
    for year in years[years.index(last) + 1 :]:
        current = _best_overlap(codes, year)
        if current is None:
            raise UnknownEpciError(f"L'intercommunalité de SIREN {siren} n'a pas de successeur.")
        codes = _member_sets(year)[current]
    return EpciMatch(_epci(current, years[-1]), siren, followed_from=_epci(siren, last))


_ABBREVIATIONS = [
    (r"\bcommunaute de communes\b", "cc"),
    (r"\bcommunaute d agglomeration\b", "ca"),
    (r"\bcommunaute urbaine\b", "cu"),
]


def _normalise(text: str) -> str:
    """Lower case, no accents, ligatures split, punctuation as spaces, usual abbreviations."""
    text = unicodedata.normalize("NFKD", text.casefold().replace("œ", "oe").replace("æ", "ae"))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = " ".join(re.sub(r"[^0-9a-z]+", " ", text).split())
    for pattern, short in _ABBREVIATIONS:
        text = re.sub(pattern, short, text)
    return text


def find_epci_by_name(name: str) -> EpciMatch:
    """The current EPCI named ``name``, ignoring case, accents and punctuation
    ("Communauté de communes" may stand for "CC").

    An exact name wins; otherwise a name that contains the query. A former name is followed
    to the current EPCI. Raises :class:`AmbiguousEpciError` when several EPCIs match and
    :class:`UnknownEpciError` (with the closest names as ``suggestions``) when none does.
    """
    wanted = _normalise(name)
    if not wanted:
        raise UnknownEpciError("Nom d'intercommunalité vide.")
    years = snapshot_years()
    for year in reversed(years):  # current names first, then former ones
        frame = epci_snapshots().filter(pl.col("annee") == year).select("siren", "nom")
        names = {siren: _normalise(nom) for siren, nom in frame.iter_rows()}
        exact = sorted(s for s, n in names.items() if n == wanted)
        found = exact or sorted(s for s, n in names.items() if wanted in n)
        if len(found) > 1:
            candidates = tuple(_epci(s, year) for s in found)
            listed = " ; ".join(c.label() for c in candidates)
            raise AmbiguousEpciError(
                f"« {name} » désigne {len(found)} intercommunalités : {listed}.", candidates
            )
        if found:
            match = find_epci_by_siren(found[0])
            return EpciMatch(match.epci, name, match.followed_from)
    latest = epci_snapshots().filter(pl.col("annee") == years[-1])
    by_name = {_normalise(nom): siren for siren, nom in latest.select("siren", "nom").iter_rows()}
    close = difflib.get_close_matches(wanted, sorted(by_name), n=3, cutoff=0.6)
    suggestions = tuple(_epci(by_name[n], years[-1]) for n in close)
    listed = " ; ".join(s.label() for s in suggestions)
    hint = (f" ; {agree(len(suggestions), 'la plus proche', 'les plus proches')} : {listed}"
            if suggestions else "")
    raise UnknownEpciError(f"aucune intercommunalité ne s'appelle « {name} »{hint}.", suggestions)


# --- Membership ----------------------------------------------------------------------------


def epci_lineage(siren: str) -> dict[int, str]:
    """Snapshot year -> SIREN under which the current EPCI ``siren`` (or its main predecessor)
    appears. Before its first snapshot, the predecessor is the EPCI of the previous snapshot
    that shares most communes with it, if that EPCI's own communes mostly went to it (a
    merger); a new EPCI made of pieces of others has no predecessor.
    """
    match = find_epci_by_siren(siren)
    years = snapshot_years()
    lineage = {}
    current = match.epci.siren
    for index in range(len(years) - 1, -1, -1):
        year = years[index]
        if current in _member_sets(year):
            lineage[year] = current
            continue
        later = years[index + 1]
        before = _best_overlap(_member_sets(later)[current], year)
        if before is None or _best_overlap(_member_sets(year)[before], later) != current:
            break
        lineage[year] = current = before
    return dict(sorted(lineage.items()))


def membership_history(siren: str) -> pl.DataFrame:
    """Every commune that was a member of the EPCI (or of its main predecessor) in a snapshot.

    Columns: code_insee, nom (its latest name as a member), date_adhesion (1 January of the
    first snapshot where it is a member), adhesion_borne_inferieure (True when that is the
    first snapshot of the reference: it may have joined earlier), date_sortie (null while a
    member; the merger date for a commune absorbed by a merger, else 1 January of the first
    snapshot without it), code_successeur (the commune nouvelle, for a merger), motif_sortie
    (``fusion``, ``changement de code`` or ``retrait``; null while a member), population
    (see :func:`populations`). Sorted by code_insee.
    """
    lineage = epci_lineage(siren)
    years = snapshot_years()
    rows = (
        members()
        .join(pl.DataFrame({"annee": list(lineage), "siren": list(lineage.values())},
                           schema={"annee": pl.Int16, "siren": pl.String}),
              on=["annee", "siren"])
        .sort("code_insee", "annee")
    )
    events = commune_events().filter(pl.col("code_successeur") != pl.col("code_insee"))
    out = []
    for (code,), group in rows.group_by("code_insee", maintain_order=True):
        present = group["annee"].to_list()
        first, last = present[0], present[-1]
        leaving, successor, reason = None, None, None
        if last != years[-1]:
            after = years[years.index(last) + 1]
            merged = events.filter(
                (pl.col("code_insee") == code)
                & (pl.col("date") > date(last, 1, 1))
                & (pl.col("date") <= date(after, 1, 1))
            ).sort("date")
            if merged.is_empty():
                leaving, reason = date(after, 1, 1), "retrait"
            else:
                event = merged.row(0, named=True)
                leaving, successor, reason = (
                    event["date"], event["code_successeur"], event["nature"]
                )
        out.append({
            "code_insee": code,
            "nom": group["nom"][-1],
            "date_adhesion": date(first, 1, 1),
            "adhesion_borne_inferieure": first == years[0],
            "date_sortie": leaving,
            "code_successeur": successor,
            "motif_sortie": reason,
        })
    history = pl.DataFrame(out, schema={
        "code_insee": pl.String, "nom": pl.String, "date_adhesion": pl.Date,
        "adhesion_borne_inferieure": pl.Boolean, "date_sortie": pl.Date,
        "code_successeur": pl.String, "motif_sortie": pl.String,
    })
    pops = populations(history["code_insee"].to_list()).select(
        "code_insee", pl.col("population_municipale").alias("population")
    )
    return history.join(pops, on="code_insee", how="left").sort("code_insee")


def populations(codes: Iterable[str], year: int | None = None) -> pl.DataFrame:
    """Population municipale and totale of communes, as the DGCL's EPCI file gives them.

    With ``year``, the snapshot of that year; otherwise, for each commune, the latest snapshot
    that gives a population (2021 onwards; the 2019 and 2020 files give none). Columns:
    code_insee, population_municipale, population_totale, annee (null when none is known).
    """
    wanted = sorted(set(codes))
    found = members().filter(
        pl.col("code_insee").is_in(wanted) & pl.col("population_municipale").is_not_null()
    )
    if year is not None:
        found = found.filter(pl.col("annee") == year)
    found = (
        found.sort("annee")
        .group_by("code_insee")
        .last()
        .select("code_insee", "population_municipale", "population_totale", "annee")
    )
    base = pl.DataFrame({"code_insee": wanted}, schema={"code_insee": pl.String})
    return base.join(found, on="code_insee", how="left").sort("code_insee")


def populations_by_year(codes: Iterable[str]) -> pl.DataFrame:
    """Every population municipale the reference gives for the communes ``codes``: one row
    per commune and edition that gives one (the DGCL's EPCI file of that year; 2021 onwards).
    Columns: code_insee, annee, population (Int64); sorted."""
    wanted = sorted(set(codes))
    return (
        members()
        .filter(pl.col("code_insee").is_in(wanted) & pl.col("population_municipale").is_not_null())
        .select("code_insee", pl.col("annee").cast(pl.Int64),
                pl.col("population_municipale").cast(pl.Int64).alias("population"))
        .sort("code_insee", "annee", "population")
        .unique(["code_insee", "annee"], keep="first", maintain_order=True)
    )


# --- Outlines ------------------------------------------------------------------------------


def outlines(codes: Iterable[str], *, missing_ok: bool = False) -> dict:
    """A GeoJSON FeatureCollection (WGS84) of the communes ``codes``, sorted by code.

    Each feature is a MultiPolygon with properties ``code_insee``, ``nom`` and
    ``population_municipale`` (:func:`populations`), as ``data/communes.geojson``. A former
    commune is drawn by the outline of the commune déléguée (or associée) that keeps its code.
    Raises :class:`ReferenceLookupError` naming the communes without outline, unless
    ``missing_ok`` (they are then left out).
    """
    wanted = sorted(set(codes))
    table = (
        _read("contours")
        .filter(pl.col("code_insee").is_in(wanted))
        .with_columns(rank=pl.col("nature").replace_strict(
            {"commune": 0, "commune déléguée": 1, "commune associée": 2}, return_dtype=pl.Int8))
        .sort("code_insee", "rank")
        .unique("code_insee", keep="first", maintain_order=True)
    )
    missing = sorted(set(wanted) - set(table["code_insee"]))
    if missing and not missing_ok:
        shown = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
        raise ReferenceLookupError(
            f"Pas de contour dans le référentiel pour "
            f"{plural(len(missing), 'commune', 'communes')} : {shown}."
        )
    pops = dict(populations(wanted).select("code_insee", "population_municipale").iter_rows())
    features = []
    for code, name, polygons in table.select("code_insee", "nom", "coordonnees").iter_rows():
        coordinates = [
            [
                [
                    [round(ring[i] * QUANTUM, _DECIMALS), round(ring[i + 1] * QUANTUM, _DECIMALS)]
                    for i in range(0, len(ring), 2)
                ]
                for ring in polygon
            ]
            for polygon in polygons
        ]
        features.append({
            "type": "Feature",
            "properties": {"code_insee": code, "nom": name, "population_municipale": pops[code]},
            "geometry": {"type": "MultiPolygon", "coordinates": coordinates},
        })
    return {"type": "FeatureCollection", "features": features}
