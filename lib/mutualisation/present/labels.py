"""Every French label of a key figure and of a table column, in one place: the page's
table of key figures, the workbook's headers, the index page and the charts use them.
"""

from __future__ import annotations

import re

from mutualisation.formatting import plural

#: Labels of the key figures counted the same way every year (keys of indicators.json).
KEY_FIGURES: dict[str, str] = {
    "communes_membres": "Communes membres",
    "actions_inscrites": "Actions inscrites",
    "actions_deployees": "Actions déployées",
    "participations_actives": "Participations actives",
}
#: Short label of the actions deployed during the year, in the index's table of years.
DEPLOYED_DURING_YEAR = "Déployées dans l’année"


def deployed_in(year: int) -> str:
    """« Actions déployées en 2019 »."""
    return f"Actions déployées en {year}"


def at_least(k: int) -> str:
    """« au moins 2 actions »."""
    return "au moins " + plural(k, "action", "actions")


def communes_at_least(k: int) -> str:
    """« Communes dans au moins 2 actions »."""
    return f"Communes dans {at_least(k)}"


def share_at_least(k: int) -> str:
    """« Part des communes dans au moins 2 actions »."""
    return f"Part des communes dans {at_least(k)}"


#: Label of the population of the member communes (key figures).
POPULATION_MEMBERS = "Population des communes membres"


def population_share_at_least(k: int) -> str:
    """« Part de la population dans au moins 2 actions »."""
    return f"Part de la population dans {at_least(k)}"


#: French headers of the tables' columns; a column missing here keeps its own name.
#: ``communes_au_moins_K`` and ``part_au_moins_K`` are named by :func:`column_label`.
COLUMN_LABELS: dict[str, str] = {
    "action_id": "Code de l'action",
    "libelle": "Libellé",
    "domaine": "Domaine",
    "date_inscription": "Date d'inscription",
    "date_deploiement": "Date de déploiement",
    "deployee": "Déployée",
    "deployee_annee": "Déployée dans l'année",
    "nb_communes": "Communes participantes",
    "code_insee": "Code INSEE",
    "nom": "Commune",
    "population": "Population",
    "nb_actions": "Nombre d'actions",
    "actions": "Actions suivies",
    "actions_disponibles": "Actions déployées non suivies",
    "communes": "Communes",
    "actions_inscrites": "Actions inscrites",
    "actions_deployees": "Actions déployées",
    "participations": "Participations",
    "mouvement": "Mouvement",
    "date": "Date",
    "annee": "Année",
    "communes_membres": "Communes membres",
    "actions_deployees_annee": "Actions déployées dans l'année",
    "participations_actives": "Participations actives",
    "forme_juridique": "Forme juridique",
    "date_abandon": "Date d'abandon",
    "part_population": "Part de la population",
    # The moyens table (staff and costs) and its indicators.
    "renseigne": "Moyens renseignés",
    "etp": "ETP",
    "agents_transferes": "Agents transférés",
    "cout_fonctionnement": "Coût de fonctionnement (€)",
    "economies": "Économies déclarées (€)",
    "mode_financement": "Mode de financement",
    "cle_repartition": "Clé de répartition",
    "population_couverte": "Population couverte",
    "cout_par_habitant": "Coût par habitant (€)",
    "actions_renseignees": "Actions renseignées",
    "actions_non_renseignees": "Actions non renseignées",
    "evolution_etp": "Évolution des ETP",
    "evolution_agents_transferes": "Évolution des agents transférés",
    "evolution_cout_fonctionnement": "Évolution du coût (€)",
    "evolution_economies": "Évolution des économies (€)",
}

_THRESHOLD_COLUMN = re.compile(r"(communes|part)_au_moins_(\d+)")


def column_label(name: str) -> str:
    """The French header of a table column (the raw name when there is none)."""
    if name in COLUMN_LABELS:
        return COLUMN_LABELS[name]
    match = _THRESHOLD_COLUMN.fullmatch(name)
    if match:
        what, k = match.group(1), int(match.group(2))
        return communes_at_least(k) if what == "communes" else share_at_least(k)
    return name
