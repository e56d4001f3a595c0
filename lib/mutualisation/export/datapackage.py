"""``datapackage.json``: the open-data description of a report folder (Frictionless Data
Package, https://specs.frictionlessdata.io/): the data the report was made from
(``donnees/*.csv``) and the tables of the bilan (``tables/*.csv``), each with its Table
Schema — French titles and descriptions, types and formats, constraints (required values,
the INSEE code pattern, unique keys, the closed lists of legal forms and financing modes),
primary and foreign keys — its size and SHA-256.

The licence is the data folder's to declare (``metadata.json``, key ``licence``: a name
such as ``etalab-2.0`` or ``ODbL-1.0``, an address, or an object ``{name, title, path}``);
without it the package has none and its description says so. Same files, same bytes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import polars as pl

from mutualisation.config import DATAPACKAGE_FILE, SNAPSHOT_DIR
from mutualisation.data import moyens
from mutualisation.data.model import REQUIRED, Dataset
from mutualisation.data.vocabulary import FORMES_JURIDIQUES, MODES_FINANCEMENT
from mutualisation.files import sha256, write_json
from mutualisation.present import labels

#: The INSEE code pattern as Table Schema writes it (XML Schema regex, anchored by rule).
INSEE_PATTERN = "([0-9]{5}|2[AB][0-9]{3})"

#: Well-known licences by the name a metadata file may give.
LICENCES: dict[str, dict[str, str]] = {
    "etalab-2.0": {"name": "etalab-2.0", "title": "Licence Ouverte / Open Licence version 2.0",
                   "path": "https://www.etalab.gouv.fr/licence-ouverte-open-licence"},
    "odbl-1.0": {"name": "ODbL-1.0", "title": "Open Data Commons Open Database License 1.0",
                 "path": "https://opendatacommons.org/licenses/odbl/1-0/"},
    "cc-by-4.0": {"name": "CC-BY-4.0", "title": "Creative Commons Attribution 4.0",
                  "path": "https://creativecommons.org/licenses/by/4.0/"},
}

#: The input tables: title, description.
TABLES: dict[str, tuple[str, str]] = {
    "communes": ("Communes", "Les communes membres de l’intercommunalité, leurs dates "
                 "d’adhésion et de sortie."),
    "actions": ("Actions", "Les actions de mutualisation inscrites au schéma."),
    "participations": ("Participations", "La participation d’une commune à une action, du "
                       "début à la fin (vide : toujours en cours)."),
    "populations": ("Populations", "La population municipale d’une commune pour une année."),
    "moyens": ("Moyens et coûts", "Effectifs et coûts d’une action pour une année (code INSEE "
               "rempli : la part d’une commune)."),
}

#: The input columns: title, description (columns not listed: extra columns of the file).
FIELDS: dict[str, tuple[str, str]] = {
    "code_insee": ("Code INSEE", "Code officiel géographique de la commune (5 caractères)."),
    "nom": ("Commune", "Nom de la commune."),
    "date_adhesion": ("Date d’adhésion", "Date à laquelle la commune a rejoint "
                      "l’intercommunalité."),
    "date_sortie": ("Date de sortie", "Date à laquelle elle l’a quittée (fusion, retrait) ; "
                    "vide si elle est membre."),
    "population": ("Population", "Population municipale."),
    "code_successeur": ("Commune nouvelle", "Code INSEE de la commune nouvelle dans laquelle "
                        "la commune a fusionné."),
    "adhesion_borne_inferieure": ("Adhésion au plus tard", "Vrai quand la date d’adhésion "
                                  "n’est qu’une borne (la commune a pu adhérer avant)."),
    "action_id": ("Code de l’action", "Identifiant court et stable de l’action."),
    "libelle": ("Libellé", "Libellé de l’action."),
    "date_inscription": ("Date d’inscription", "Date d’inscription de l’action au schéma."),
    "date_deploiement": ("Date de déploiement", "Date de déploiement ; vide si l’action "
                         "n’est pas encore déployée."),
    "domaine": ("Domaine", "Thème de l’action (achats, numérique, habitat…)."),
    "forme_juridique": ("Forme juridique", "Forme juridique de la mutualisation."),
    "date_abandon": ("Date d’abandon", "Date à laquelle l’action a quitté le schéma."),
    "date_debut": ("Date de début", "Date à laquelle la commune a rejoint l’action."),
    "date_fin": ("Date de fin", "Date à laquelle elle l’a quittée ; vide si elle y participe "
                 "encore."),
    "annee": ("Année", "Année du chiffre."),
    "etp": ("Équivalents temps plein", "Effectif au 31 décembre, en équivalents temps plein."),
    "agents_transferes": ("Agents transférés", "Agents transférés ou mis à disposition dans "
                          "l’année."),
    "cout_fonctionnement": ("Coût de fonctionnement (€)", "Coût de fonctionnement de l’année, "
                            "en euros."),
    "economies": ("Économies (€)", "Économies déclarées, en euros."),
    "mode_financement": ("Mode de financement", "Comment le coût est financé."),
    "cle_repartition": ("Clé de répartition", "Comment le coût est partagé entre communes."),
}

#: Closed lists of values, by column.
ENUMS: dict[str, tuple[str, ...]] = {
    "forme_juridique": FORMES_JURIDIQUES,
    "mode_financement": MODES_FINANCEMENT,
}

#: Primary keys of the input tables, and their foreign keys: (fields, table, its fields).
PRIMARY_KEYS: dict[str, list[str]] = {
    "communes": ["code_insee"],
    "actions": ["action_id"],
    "participations": ["code_insee", "action_id", "date_debut"],
    "populations": ["code_insee", "annee"],
}
FOREIGN_KEYS: dict[str, list[tuple[str, str, str]]] = {
    "communes": [("code_successeur", "communes", "code_insee")],
    "participations": [("code_insee", "communes", "code_insee"),
                       ("action_id", "actions", "action_id")],
    "populations": [("code_insee", "communes", "code_insee")],
    "moyens": [("action_id", "actions", "action_id"), ("code_insee", "communes", "code_insee")],
}

#: The tables of the bilan: title, description.
REPORT_TABLES: dict[str, tuple[str, str]] = {
    "actions": ("Bilan : actions", "Chaque action inscrite au 31 décembre, son état et le "
                "nombre de communes qui y participent."),
    "communes": ("Bilan : communes", "Chaque commune membre au 31 décembre et les actions "
                 "qu’elle suit."),
    "distribution": ("Bilan : distribution", "Nombre de communes selon leur nombre "
                     "d’actions."),
    "domaines": ("Bilan : domaines", "Actions et participations par domaine."),
    "mouvements": ("Bilan : adhésions et sorties", "Communes entrées ou sorties dans "
                   "l’année."),
    "series": ("Bilan : séries", "Les chiffres clés de chaque année depuis la première."),
    "formes_juridiques": ("Bilan : formes juridiques", "Actions inscrites et déployées, "
                          "communes participantes et leur population, par forme juridique "
                          "de mutualisation."),
    "moyens": ("Bilan : moyens et coûts", "Chaque action déployée ou chiffrée dans l’année : "
               "ETP, agents transférés, coût de fonctionnement, économies, mode de financement "
               "et coût par habitant couvert (« non renseigné » : action sans chiffres)."),
    "moyens_communes": ("Bilan : ce que financent les communes", "La part du coût de chaque "
                        "action imputée à chaque commune dans l’année."),
    "moyens_series": ("Bilan : séries des moyens", "Les totaux des moyens de chaque année et "
                      "leur évolution depuis l’année précédente."),
}

#: Required columns of the input tables read by their own module (optional tables).
_OPTIONAL_REQUIRED: dict[str, tuple[str, ...]] = {moyens.TABLE: moyens.REQUIRED}

#: Columns whose values validation keeps positive or zero.
_NOT_NEGATIVE: tuple[str, ...] = ("population", *moyens.PARTS)


def _type(dtype: pl.DataType) -> dict[str, Any]:
    if dtype == pl.Date:
        return {"type": "date"}  # the default format: AAAA-MM-JJ
    if dtype == pl.Boolean:
        return {"type": "boolean", "trueValues": ["true"], "falseValues": ["false"]}
    if dtype.is_integer():
        return {"type": "integer"}
    if dtype.is_numeric():
        return {"type": "number"}
    return {"type": "string"}


def _input_field(table: str, name: str, dtype: pl.DataType) -> dict[str, Any]:
    title, description = FIELDS.get(name, (name, "Colonne supplémentaire du fichier "
                                           "d’origine, gardée telle quelle."))
    field: dict[str, Any] = {"name": name, "title": title, "description": description,
                             **_type(dtype)}
    constraints: dict[str, Any] = {}
    required = REQUIRED.get(table, ()) or _OPTIONAL_REQUIRED.get(table, ())
    if name in required or name in PRIMARY_KEYS.get(table, ()):
        constraints["required"] = True
    if name in ("code_insee", "code_successeur"):
        constraints["pattern"] = INSEE_PATTERN
    if name in ENUMS:
        constraints["enum"] = list(ENUMS[name])
    if PRIMARY_KEYS.get(table) == [name]:
        constraints["unique"] = True
    if name in _NOT_NEGATIVE:
        constraints["minimum"] = 0
    if constraints:
        field["constraints"] = constraints
    return field


def _input_schema(table: str, frame: pl.DataFrame, present: set[str]) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "fields": [_input_field(table, name, dtype) for name, dtype in frame.schema.items()],
        "missingValues": [""],
    }
    if table in PRIMARY_KEYS:
        schema["primaryKey"] = PRIMARY_KEYS[table]
    keys = [{"fields": field, "reference": {"resource": "" if other == table else other,
                                            "fields": other_field}}
            for field, other, other_field in FOREIGN_KEYS.get(table, [])
            if field in frame.columns and other in present]
    if keys:
        schema["foreignKeys"] = keys
    return schema


def _report_schema(frame: pl.DataFrame) -> dict[str, Any]:
    return {
        "fields": [{"name": name, "title": labels.column_label(name), **_type(dtype)}
                   for name, dtype in frame.schema.items()],
        "missingValues": [""],
    }


def _resource(folder: Path, path: str, name: str, title: str, description: str,
              schema: dict[str, Any]) -> dict[str, Any]:
    file = folder / path
    return {
        "name": name, "path": path, "profile": "tabular-data-resource", "title": title,
        "description": description, "format": "csv", "mediatype": "text/csv",
        "encoding": "utf-8", "bytes": file.stat().st_size, "hash": f"sha256:{sha256(file)}",
        "schema": schema,
    }


def licence(metadata: dict[str, Any]) -> dict[str, str] | None:
    """The licence a data folder's metadata declares (key ``licence``), as a Data Package
    writes it; None when it declares none."""
    value = metadata.get("licence")
    if isinstance(value, dict):
        found = {k: str(value[k]) for k in ("name", "title", "path") if value.get(k)}
        return found if ("name" in found or "path" in found) else None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.lower() in LICENCES:
        return dict(LICENCES[text.lower()])
    if re.match(r"https?://", text):
        return {"path": text}
    return {"name": re.sub(r"[^-a-z0-9._]+", "-", text.lower()).strip("-") or "licence",
            "title": text}


def _metadata(dataset: Dataset) -> dict[str, Any]:
    path = dataset.sources.get("metadata")
    if path is None:
        return {}
    value = json.loads(path.read_text(encoding="utf-8-sig"))
    return value if isinstance(value, dict) else {}


def datapackage(report: Path, year: int, dataset: Dataset,
                tables: dict[str, pl.DataFrame]) -> dict[str, Any]:
    """The Data Package of the bilan of ``year`` in the folder ``report``, its ``donnees/``
    and its ``tables/`` (the frames ``tables``, by file stem) already written."""
    meta = _metadata(dataset)
    who = meta.get("intercommunalite")
    kept = sorted(p.stem for p in (report / SNAPSHOT_DIR).glob("*.csv"))
    present = set(kept)
    resources = []
    for table in kept:
        frame = getattr(dataset, table)
        title, description = TABLES.get(table, (table, f"Table « {table} » des données."))
        resources.append(_resource(report, f"{SNAPSHOT_DIR}/{table}.csv", table, title,
                                   description, _input_schema(table, frame, present)))
    for name, frame in sorted(tables.items()):
        title, description = REPORT_TABLES.get(name, (name, "Table du bilan."))
        resources.append(_resource(report, f"tables/{name}.csv", f"bilan-{name}",
                                   title, description, _report_schema(frame)))
    found = licence(meta)
    description = (f"Les données du bilan {year} du schéma de mutualisation"
                   f"{f' de {who}' if who else ''} (dossier {SNAPSHOT_DIR}/, telles que le "
                   "bilan les a lues, validées) et les tables du bilan (dossier tables/).")
    if found is None:
        description += (" Licence non précisée : la déclarer dans le fichier metadata.json "
                        "des données (clé « licence », par exemple « etalab-2.0 »).")
    package: dict[str, Any] = {
        "profile": "tabular-data-package",
        "name": f"bilan-mutualisation-{year}",
        "title": f"Bilan {year} du schéma de mutualisation"
                 f"{f' — {who}' if who else ''}",
        "description": description,
    }
    if found is not None:
        package["licenses"] = [found]
    package["resources"] = resources
    return package


def write_datapackage(report: Path, year: int, dataset: Dataset,
                      tables: dict[str, pl.DataFrame]) -> Path:
    """Write ``report/datapackage.json`` (see :func:`datapackage`) and return its path."""
    target = report / DATAPACKAGE_FILE
    write_json(target, datapackage(report, year, dataset, tables))
    return target
