"""A large synthetic data set: an intercommunality of the size of the largest French EPCI.

The largest French EPCI has 158 member communes; this writes one of that size (by default
158 communes, 100 actions over 10 years) into a data folder that passes
``mutualisation check``. Everything is drawn from a fixed seed: the same arguments give
byte-identical files.

Usage, from the project root::

    .venv/bin/python bench/big_data.py DIR [--communes 158] [--actions 100] [--years 10]
                                           [--first-year 2015] [--seed 158]

or from Python::

    from big_data import write_big_dataset   # with bench/ on sys.path
    write_big_dataset(folder, communes=158, actions=100, years=10)

What it writes (``communes.csv``, ``actions.csv``, ``participations.csv``,
``metadata.json``) follows every rule of DESIGN.md's "Bad input":

- communes: unique INSEE codes ``59xxx``, French-looking names (a few long ones, two
  homonyms told apart by their code in the charts), populations (one unknown);
  about 80 % are members from the first day, the others join in waves over the years,
  two leave (withdrawals, no merger);
- actions: unique ids (``ACH01``, ``NUM07`` …, by domain), about 15 % inscribed when
  the schéma is adopted (19 June of the first year), the others spread over the years,
  about 85 % deployed (never before their inscription), eleven domains and a few
  without one;
- participations: each deployed action has its own popularity; a member commune joins
  it on or after the deployment and its own joining, some leave it (``date_fin``),
  a few of those come back later (a second period that does not overlap the first);
  a commune that leaves the intercommunality leaves its actions that day.

Standard library only.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

#: Default seed (the number of communes of the largest EPCI).
SEED = 158

DOMAINS: dict[str, tuple[str, list[str]]] = {
    # domaine: (id prefix, objects of the action labels)
    "achats": ("ACH", ["fournitures administratives", "produits d'entretien",
                       "mobilier scolaire", "véhicules légers", "denrées alimentaires",
                       "vêtements de travail", "matériel informatique", "carburants"]),
    "numérique": ("NUM", ["protection des données (RGPD)", "archivage électronique",
                          "télétransmission des actes", "logiciels de gestion financière",
                          "sécurité informatique", "espaces numériques de travail"]),
    "énergie": ("ENE", ["fourniture d'électricité", "fourniture de gaz",
                        "certificats d'économie d'énergie", "éclairage public",
                        "rénovation énergétique des écoles"]),
    "ressources humaines": ("RHU", ["formation des agents", "médecine préventive",
                                    "remplacement des agents absents", "action sociale",
                                    "inspection santé et sécurité au travail"]),
    "juridique": ("JUR", ["assistance juridique", "veille réglementaire",
                          "assurance dommages aux biens", "contentieux"]),
    "habitat": ("HAB", ["permis de louer", "lutte contre l'habitat indigne",
                        "guichet de la rénovation"]),
    "urbanisme": ("URB", ["instruction du droit des sols", "système d'information "
                          "géographique", "numérotation des voies"]),
    "environnement": ("ENV", ["gestion des espaces verts", "lutte contre les nuisibles",
                              "prévention des inondations", "biodiversité"]),
    "sécurité": ("SEC", ["police municipale intercommunale", "vidéoprotection",
                         "fourrière animale"]),
    "patrimoine": ("PAT", ["entretien des églises", "diagnostic amiante",
                           "contrôle des aires de jeux"]),
    "culture et sport": ("CUL", ["réseau des médiathèques", "école de musique",
                                 "équipements sportifs partagés"]),
}
#: Share of actions without a domain (shown as "non renseigné").
NO_DOMAIN_SHARE = 0.04

_KINDS = ["Groupement de commandes", "Service commun", "Plateforme mutualisée",
          "Marché mutualisé", "Appui aux communes", "Convention de prestation"]

_ROOTS = ["Beau", "Bois", "Bourg", "Champ", "Clair", "Fontaine", "Haut", "Mar", "Mont",
          "Neuf", "Pont", "Roche", "Val", "Ville", "Wat", "Her", "Ber", "Lam", "Fré", "Esc",
          "Ha", "Wam", "Ron", "Lin", "Sec", "Tour", "Camp", "Flers", "Anne", "Œil"]
_ENDINGS = ["ville", "court", "mont", "bourg", "lez", "ghem", "hem", "in", "ières",
            "ecques", "elles", "y", "ais", "ies", "ain", "eux"]
_SAINTS = ["Saint-André", "Saint-Amand", "Sainte-Marie", "Saint-Pierre", "Saint-Éloi",
           "Notre-Dame"]
_RIVERS = ["sur-Lys", "sur-Deûle", "lez-Lannoy", "en-Pévèle", "en-Weppes", "sur-Marque",
           "de-la-Haute-Vallée-de-l'Escaut"]


def _name(rng: random.Random, used: set[str]) -> str:
    """A French-looking commune name not used yet."""
    while True:
        draw = rng.random()
        if draw < 0.12:
            name = f"{rng.choice(_SAINTS)}-{rng.choice(_ROOTS)}{rng.choice(_ENDINGS)}"
        else:
            name = rng.choice(_ROOTS) + rng.choice(_ENDINGS)
        if rng.random() < 0.18:
            name += "-" + rng.choice(_RIVERS)
        if name not in used:
            used.add(name)
            return name


def _day(rng: random.Random, start: date, end: date) -> date:
    """A day drawn uniformly from [start, end]."""
    return start + timedelta(days=rng.randint(0, max(0, (end - start).days)))


def _first_of_month(rng: random.Random, start: date, end: date) -> date | None:
    """The first day of a month drawn from those in [start, end] (None when there is none)."""
    months = []
    year, month = start.year, start.month
    if start.day != 1:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    while date(year, month, 1) <= end:
        months.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return rng.choice(months) if months else None


def generate(communes: int = 158, actions: int = 100, years: int = 10,
             first_year: int = 2015, seed: int = SEED) -> dict[str, Any]:
    """The rows of the three tables and the metadata (see the module docstring)."""
    if not 2 <= communes <= 999 or actions < 1 or years < 1:
        raise ValueError("communes: 2 to 999, actions and years: at least 1")
    rng = random.Random(seed)
    start = date(first_year, 1, 1)
    adopted = date(first_year, 6, 19)
    last_year = first_year + years - 1
    end = date(last_year, 12, 31)

    # ---------------------------------------------------------------- communes
    codes = sorted(rng.sample(range(1, 1000), communes))
    used: set[str] = set()
    commune_rows = []
    for code in codes:
        population = int(rng.lognormvariate(8.0, 1.3)) + 80
        commune_rows.append({"code_insee": f"59{code:03d}", "nom": _name(rng, used),
                             "date_adhesion": start, "date_sortie": None,
                             "population": population})
    # two homonyms (told apart by their INSEE code in the charts), one unknown population
    if communes >= 4:
        commune_rows[-1]["nom"] = commune_rows[0]["nom"]
        commune_rows[communes // 2]["population"] = None
    # about a fifth join later, in waves on 1 January of a later year
    later = rng.sample(range(communes), communes // 5) if years > 1 else []
    for index in later:
        commune_rows[index]["date_adhesion"] = date(rng.randint(first_year + 1, last_year), 1, 1)
    # two withdrawals, after the communes joined
    leaving = [i for i in range(communes) if i not in set(later)]
    for index in rng.sample(leaving, min(2, len(leaving))) if years > 2 else []:
        row = commune_rows[index]
        row["date_sortie"] = _day(rng, date(first_year + 2, 1, 1), end)

    # ---------------------------------------------------------------- actions
    domains = list(DOMAINS)
    counters = dict.fromkeys(domains, 0)
    action_rows = []
    at_adoption = max(1, round(actions * 0.15))
    for number in range(actions):
        domain = domains[number % len(domains)] if number < len(domains) else rng.choice(domains)
        prefix, objects = DOMAINS[domain]
        counters[domain] += 1
        action_id = f"{prefix}{counters[domain]:02d}"
        label = f"{rng.choice(_KINDS)} : {rng.choice(objects)}"
        if number % 17 == 5:  # a few long labels
            label += " et accompagnement des communes dans la passation de leurs marchés"
        inscribed = adopted if number < at_adoption else _day(rng, adopted, end)
        deployed = None
        if rng.random() < 0.85 or number < at_adoption:
            deadline = min(end, inscribed + timedelta(days=rng.randint(60, 1100)))
            deployed = _first_of_month(rng, inscribed, deadline)
            if deployed is None:
                deployed = inscribed
        no_domain = number >= len(domains) and rng.random() < NO_DOMAIN_SHARE
        action_rows.append({"action_id": action_id, "libelle": label,
                            "date_inscription": inscribed, "date_deploiement": deployed,
                            "domaine": None if no_domain else domain})
    action_rows.sort(key=lambda r: r["action_id"])

    # ---------------------------------------------------------------- participations
    participation_rows = []
    for action in action_rows:
        deployed = action["date_deploiement"]
        if deployed is None:
            continue
        popularity = rng.betavariate(1.2, 3.0)
        for commune in commune_rows:
            if rng.random() >= popularity:
                continue
            left_epci = commune["date_sortie"]
            earliest = max(deployed, commune["date_adhesion"])
            latest = min(end, left_epci - timedelta(days=1)) if left_epci else end
            if earliest > latest:
                continue
            begin = earliest if rng.random() < 0.5 else _day(rng, earliest, latest)
            finish = None
            if rng.random() < 0.08 and (latest - begin).days > 60:
                finish = _day(rng, begin + timedelta(days=30), latest)
            elif left_epci is not None:
                finish = left_epci
            participation_rows.append({"code_insee": commune["code_insee"],
                                       "action_id": action["action_id"],
                                       "date_debut": begin, "date_fin": finish})
            # some come back after leaving: a second period after the first one ends
            if finish is not None and left_epci is None and rng.random() < 0.3:
                back = finish + timedelta(days=rng.randint(30, 400))
                if back <= end:
                    participation_rows.append({"code_insee": commune["code_insee"],
                                               "action_id": action["action_id"],
                                               "date_debut": back, "date_fin": None})
    participation_rows.sort(key=lambda r: (r["code_insee"], r["action_id"], r["date_debut"]))

    metadata = {
        "intercommunalite": f"Intercommunalité fictive de {communes} communes",
        "schema_adopte_le": adopted.isoformat(),
        "illustratif": True,
        "annees": {"debut": first_year, "fin": last_year},
        "description": (f"Jeu de données synthétique (bench/big_data.py, graine {seed}) : "
                        f"{communes} communes, {actions} actions sur {years} ans, "
                        "pour éprouver les rapports à la taille des plus grands EPCI."),
    }
    return {"communes": commune_rows, "actions": action_rows,
            "participations": participation_rows, "metadata": metadata}


_COLUMNS = {
    "communes": ["code_insee", "nom", "date_adhesion", "date_sortie", "population"],
    "actions": ["action_id", "libelle", "date_inscription", "date_deploiement", "domaine"],
    "participations": ["code_insee", "action_id", "date_debut", "date_fin"],
}


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write_big_dataset(folder: str | Path, communes: int = 158, actions: int = 100,
                      years: int = 10, first_year: int = 2015, seed: int = SEED) -> Path:
    """Write the data set into ``folder`` (created if needed); return the folder.

    Tables as UTF-8 comma CSV, and ``metadata.json`` (years covered: ``first_year`` to
    ``first_year + years - 1``, flagged illustrative).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = generate(communes, actions, years, first_year, seed)
    for table, columns in _COLUMNS.items():
        with (folder / f"{table}.csv").open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(columns)
            writer.writerows([_cell(row[c]) for c in columns] for row in data[table])
    (folder / "metadata.json").write_text(
        json.dumps(data["metadata"], ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="dossier de données à écrire")
    parser.add_argument("--communes", type=int, default=158)
    parser.add_argument("--actions", type=int, default=100)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--first-year", type=int, default=2015)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    folder = write_big_dataset(args.folder, args.communes, args.actions, args.years,
                               args.first_year, args.seed)
    print(f"Données écrites dans {folder}")


if __name__ == "__main__":
    main()
