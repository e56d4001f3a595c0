"""What a reader who cannot see a chart gets instead (RGAA 4.1 criteria 1.3 and 1.6).

Every chart of a bilan or of a commune sheet carries, besides its title (its accessible
name), a one- or two-sentence French description of what it says, computed from the same
data, and that data as a small table (« Voir les données » under the chart). They travel
in the chart's ``usermeta`` (:func:`attach`), the static renderer copies them into the
notebook output's metadata, and the page template (:mod:`mutualisation.export.figure`)
writes them beside the inline SVG.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import polars as pl

from mutualisation.compute.bilan import Bilan
from mutualisation.compute.fiche import Fiche
from mutualisation.compute.indicators import NO_DOMAIN
from mutualisation.config import FIGURE_KEY
from mutualisation.formatting import (
    agree,
    fr_date,
    fr_decimal,
    fr_etp,
    fr_euros,
    fr_int,
    fr_percent,
    plural,
)

#: Keys of a chart's ``usermeta`` (and of its output's metadata) besides the figure name.
DESCRIPTION_KEY = "description"
DATA_KEY = "donnees"


@dataclass(frozen=True)
class Alternative:
    """A chart's description and its data as text: ``columns`` headers, ``rows`` cells."""

    description: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def as_meta(self) -> dict[str, Any]:
        return {DESCRIPTION_KEY: self.description,
                DATA_KEY: {"colonnes": list(self.columns),
                           "lignes": [list(row) for row in self.rows]}}


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, int):
        return fr_int(value)
    if isinstance(value, float):
        return fr_decimal(value, 2)
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if hasattr(value, "isoformat"):
        return value.strftime("%d/%m/%Y")
    return str(value)


def _table(frame: pl.DataFrame, headers: dict[str, str]) -> dict[str, Any]:
    """``frame``'s columns named in ``headers`` (in that order), every cell as French text."""
    frame = frame.select(list(headers))
    # A year is a label, not a count: « 2019 », never « 2 019 ».
    frame = frame.with_columns(pl.col(name).cast(pl.String) for name in frame.columns
                               if name == "annee")
    rows = tuple(tuple(_cell(value) for value in row) for row in frame.iter_rows())
    return {"columns": tuple(headers.values()), "rows": rows}


# ------------------------------------------------------------------------------------------
# The bilan
# ------------------------------------------------------------------------------------------

def _actions_by_year(bilan: Bilan) -> Alternative:
    series = bilan.series.sort("annee")
    first, last = series.row(0, named=True), series.row(-1, named=True)
    text = (f"En {last['annee']}, le schéma compte "
            f"{plural(last['actions_inscrites'], 'action inscrite', 'actions inscrites')}, "
            f"dont {plural(last['actions_deployees'], 'déployée', 'déployées')}")
    if first["annee"] != last["annee"]:
        text += (f" ; en {first['annee']}, "
                 f"{plural(first['actions_inscrites'], 'inscrite', 'inscrites')} et "
                 f"{plural(first['actions_deployees'], 'déployée', 'déployées')}")
    return Alternative(text + ".", **_table(series, {
        "annee": "Année", "actions_inscrites": "Actions inscrites",
        "actions_deployees": "Actions déployées"}))


def _most_followed(actions: pl.DataFrame) -> str:
    top = actions.sort(["nb_communes", "action_id"], descending=[True, False]).row(0, named=True)
    return (f"la plus suivie, « {top['libelle']} », réunit "
            f"{plural(top['nb_communes'], 'commune', 'communes')}")


def _action_table(actions: pl.DataFrame) -> dict[str, Any]:
    actions = actions.with_columns(pl.col("domaine").fill_null(NO_DOMAIN))
    return _table(actions.sort("action_id"), {
        "action_id": "Code", "libelle": "Action", "domaine": "Domaine",
        "nb_communes": "Communes participantes"})


def _deployed_this_year(bilan: Bilan) -> Alternative:
    actions = bilan.actions.filter(pl.col("deployee_annee"))
    if actions.is_empty():
        return Alternative(f"Aucune action n'a été déployée en {bilan.year}.",
                           **_action_table(actions))
    text = (f"{plural(actions.height, 'action a été déployée', 'actions ont été déployées')} "
            f"en {bilan.year} ; {_most_followed(actions)}.")
    return Alternative(text, **_action_table(actions))


def _participations_by_action(bilan: Bilan) -> Alternative:
    actions = bilan.actions.filter(pl.col("deployee"))
    members = bilan.indicators["communes_membres"]
    if actions.is_empty():
        return Alternative("Aucune action n'est déployée.", **_action_table(actions))
    least = actions.sort(["nb_communes", "action_id"]).row(0, named=True)
    if least["nb_communes"] == actions["nb_communes"].max():
        text = (f"{plural(actions.height, 'action déployée', 'actions déployées')}, "
                f"{agree(actions.height, 'suivie', 'chacune suivie')} par "
                f"{plural(least['nb_communes'], 'commune', 'communes')} sur {fr_int(members)}.")
        return Alternative(text, **_action_table(actions))
    text = (f"{plural(actions.height, 'action déployée', 'actions déployées')} ; "
            f"{_most_followed(actions)} sur {fr_int(members)}, la moins suivie, "
            f"« {least['libelle']} », {fr_int(least['nb_communes'])}.")
    return Alternative(text, **_action_table(actions))


def _by_domain(bilan: Bilan) -> Alternative:
    domains = bilan.domains.with_columns(pl.col("domaine").fill_null(NO_DOMAIN))
    top = domains.sort(["participations", "domaine"], descending=[True, False]).row(0, named=True)
    text = (f"{plural(domains.height, 'domaine', 'domaines')} ; le domaine « {top['domaine']} » "
            f"réunit le plus de participations ({fr_int(top['participations'])}, pour "
            f"{plural(top['actions_deployees'], 'action déployée', 'actions déployées')}).")
    return Alternative(text, **_table(domains, {
        "domaine": "Domaine", "actions_inscrites": "Actions inscrites",
        "actions_deployees": "Actions déployées", "participations": "Participations"}))


def _participation_shares(bilan: Bilan) -> Alternative:
    shares = bilan.series_long.sort(["annee", "seuil"])
    members = bilan.indicators["communes_membres"]
    now = shares.filter(pl.col("annee") == bilan.year)
    parts = [f"{fr_int(row['communes'])} à au moins {plural(row['seuil'], 'action', 'actions')}"
             for row in now.iter_rows(named=True)]
    if parts:
        # « 86 communes sur 90 participent à au moins 5 actions » for the first threshold.
        first = now["communes"][0]
        said = (f" {agree(first, 'commune', 'communes')} sur {fr_int(members)} "
                f"{agree(first, 'participe', 'participent')} à ")
        parts[0] = parts[0].replace(" à ", said, 1)
        listed = ", ".join(parts[:-1]) + " et " + parts[-1] if len(parts) > 1 else parts[0]
        text = f"En {bilan.year}, {listed}."
    else:
        text = f"Aucune commune membre en {bilan.year}."
    return Alternative(text, **_table(
        shares.with_columns(pl.col("part").map_elements(fr_percent, return_dtype=pl.String)),
        {"annee": "Année", "seuil": "Au moins … actions", "communes": "Communes",
         "part": "Part des communes membres"}))


def _distribution(bilan: Bilan) -> Alternative:
    counts = bilan.distribution.sort("nb_actions")
    communes = bilan.communes
    if communes.is_empty():
        return Alternative("Aucune commune membre.", **_table(counts, {
            "nb_actions": "Nombre d'actions", "communes": "Communes"}))
    mode = counts.sort(["communes", "nb_actions"], descending=[True, False]).row(0, named=True)
    text = (f"Chaque commune membre participe à un nombre d'actions déployées compris entre "
            f"{fr_int(communes['nb_actions'].min())} et {fr_int(communes['nb_actions'].max())} ; "
            f"le plus souvent {fr_int(mode['nb_actions'])} "
            f"({plural(mode['communes'], 'commune', 'communes')}).")
    return Alternative(text, **_table(counts, {"nb_actions": "Nombre d'actions",
                                              "communes": "Communes"}))


def _per_commune(bilan: Bilan, with_actions: bool) -> Alternative:
    communes = bilan.communes.sort("code_insee")
    none = communes.filter(pl.col("nb_actions") == 0).height
    mean = communes["nb_actions"].mean() if communes.height else 0.0
    text = (f"{plural(communes.height, 'commune membre', 'communes membres')}, "
            f"{fr_decimal(mean or 0.0, 1)} actions déployées en moyenne par commune ; ")
    text += (f"{plural(none, 'commune ne participe', 'communes ne participent')} à aucune."
             if none else "toutes participent à au moins une.")
    if with_actions:
        text = (f"Une case par commune membre et action déployée, "
                f"{plural(int(communes['nb_actions'].sum()), 'participation', 'participations')}"
                f" en tout : " + text[0].lower() + text[1:])
    headers = {"nom": "Commune", "code_insee": "Code INSEE", "nb_actions": "Actions suivies"}
    if with_actions:
        headers["actions"] = "Codes des actions"
    return Alternative(text, **_table(communes, headers))


def _by_size(bilan: Bilan, chart: Any) -> Alternative:
    frame = chart.data if isinstance(getattr(chart, "data", None), pl.DataFrame) else None
    if frame is None or frame.is_empty():
        return Alternative("Aucune commune membre.", (), ())
    top = frame.sort("moyenne", descending=True).row(0, named=True)
    text = (f"{plural(frame.height, 'classe de taille', 'classes de taille')} ; les communes de "
            f"la classe « {top['classe']} » participent en moyenne au plus d'actions "
            f"({fr_decimal(top['moyenne'], 1)}).")
    return Alternative(text, **_table(frame, {
        "classe": "Taille", "communes": "Communes", "moyenne": "Moyenne d'actions",
        "minimum": "Minimum", "maximum": "Maximum"}))


def _by_legal_form(bilan: Bilan) -> Alternative:
    forms = bilan.forms
    top = forms.sort(["actions_inscrites", "communes"], descending=True,
                     maintain_order=True).row(0, named=True)
    text = (f"{plural(forms.height, 'forme juridique', 'formes juridiques')} ; la plus "
            f"fréquente, « {top['forme_juridique']} », compte "
            f"{plural(top['actions_inscrites'], 'action inscrite', 'actions inscrites')} et "
            f"{plural(top['communes'], 'commune participante', 'communes participantes')}.")
    return Alternative(text, **_table(forms, {
        "forme_juridique": "Forme juridique", "actions_inscrites": "Actions inscrites",
        "actions_deployees": "Actions déployées", "communes": "Communes participantes"}))


def _population_by_action(bilan: Bilan) -> Alternative:
    actions = bilan.actions_reach.filter(pl.col("deployee"))
    headers = {"action_id": "Code", "libelle": "Action", "population": "Population couverte",
               "part_population": "Part de la population"}
    if actions.is_empty():
        return Alternative("Aucune action n'est déployée.", **_table(actions, headers))
    top = actions.sort(["population", "action_id"], descending=[True, False]).row(0, named=True)
    text = (f"{plural(actions.height, 'action déployée', 'actions déployées')} ; la plus "
            f"étendue, « {top['libelle']} », couvre {fr_int(top['population'])} habitants, "
            f"{fr_percent(top['part_population'], 1)} de la population des communes membres.")
    shown = actions.with_columns(pl.col("part_population").map_elements(
        lambda share: fr_percent(share, 1), return_dtype=pl.String))
    return Alternative(text, **_table(shown, headers))


def _moyens_by_action(bilan: Bilan) -> Alternative:
    actions = bilan.moyens.actions.filter(pl.col("renseigne"))
    headers = {"action_id": "Code", "libelle": "Action",
               "cout_fonctionnement": "Coût de fonctionnement", "etp": "ETP"}
    shown = actions.with_columns(
        pl.col("cout_fonctionnement").map_elements(fr_euros, return_dtype=pl.String),
        pl.col("etp").map_elements(fr_etp, return_dtype=pl.String))
    costed = actions.filter(pl.col("cout_fonctionnement").is_not_null())
    if costed.is_empty():
        return Alternative(f"Aucun coût n'est renseigné pour {bilan.year}.",
                           **_table(shown, headers))
    top = costed.sort(["cout_fonctionnement", "action_id"],
                      descending=[True, False]).row(0, named=True)
    said = plural(costed.height, "action a un coût renseigné", "actions ont un coût renseigné")
    total = fr_euros(costed["cout_fonctionnement"].sum())
    text = (f"{said} en {bilan.year}, {total} au total ; la plus coûteuse, "
            f"« {top['libelle']} », {fr_euros(top['cout_fonctionnement'])}.")
    return Alternative(text, **_table(shown, headers))


def _moyens_evolution(bilan: Bilan) -> Alternative:
    first = bilan.moyens.first_year_with_figures
    series = bilan.moyens.series.filter(pl.col("annee") >= (first or bilan.year))
    headers = {"annee": "Année", "cout_fonctionnement": "Coût de fonctionnement", "etp": "ETP"}
    shown = series.with_columns(
        pl.col("cout_fonctionnement").map_elements(fr_euros, return_dtype=pl.String),
        pl.col("etp").map_elements(fr_etp, return_dtype=pl.String))
    start, end = series.row(0, named=True), series.row(-1, named=True)
    if start["cout_fonctionnement"] is None or end["cout_fonctionnement"] is None:
        text = (f"Coût de fonctionnement et ETP de chaque année de {start['annee']} à "
                f"{end['annee']}.")
    else:
        text = (f"De {start['annee']} à {end['annee']}, le coût de fonctionnement des actions "
                f"renseignées passe de {fr_euros(start['cout_fonctionnement'])} à "
                f"{fr_euros(end['cout_fonctionnement'])}.")
    return Alternative(text, **_table(shown, headers))


# ------------------------------------------------------------------------------------------
# The commune sheet
# ------------------------------------------------------------------------------------------

def _fiche_actions(fiche: Fiche) -> Alternative:
    actions = fiche.actions.sort("depuis")
    name = fiche.name
    if actions.is_empty():
        text = f"{name} ne participe à aucune action déployée au {fr_date(fiche.reference)}."
    else:
        text = (f"{name} participe à "
                f"{plural(actions.height, 'action déployée', 'actions déployées')} au "
                f"{fr_date(fiche.reference)}, la première depuis le "
                f"{fr_date(actions['depuis'][0])}.")
    return Alternative(text, **_table(actions.with_columns(
        pl.col("domaine").fill_null(NO_DOMAIN)), {
        "action_id": "Code", "libelle": "Action", "domaine": "Domaine",
        "depuis": "Participe depuis le"}))


def _fiche_available(fiche: Fiche) -> Alternative:
    available = fiche.available.with_columns(pl.col("domaine").fill_null(NO_DOMAIN))
    if available.is_empty():
        text = f"{fiche.name} ne peut rejoindre aucune autre action déployée."
    else:
        text = (f"{fiche.name} peut encore rejoindre "
                f"{plural(available.height, 'action déployée', 'actions déployées')} ; "
                f"{_most_followed(available)}.")
    return Alternative(text, **_action_table(available))


def _fiche_peers(fiche: Fiche) -> Alternative:
    peers = fiche.peer_counts.sort(["rang", "nom"])
    n = fiche.indicators["nb_actions"]
    text = (f"{fiche.name} participe à {plural(n, 'action', 'actions')} ; les "
            f"{plural(peers.height, 'commune', 'communes')} de sa taille ({fiche.size_class}) "
            f"en suivent de {fr_int(peers['nb_actions'].min() or 0)} à "
            f"{fr_int(peers['nb_actions'].max() or 0)}.")
    return Alternative(text, **_table(peers, {
        "rang": "Rang", "nom": "Commune", "population": "Population",
        "nb_actions": "Actions suivies"}))


def _fiche_timeline(fiche: Fiche) -> Alternative:
    timeline = fiche.timeline.sort("annee")
    if timeline.is_empty():
        return Alternative(f"{fiche.name} n'a pas encore d'historique.", (), ())
    last = timeline.row(-1, named=True)
    text = (f"En {last['annee']}, {fiche.name} participe à "
            f"{plural(last['nb_actions'], 'action', 'actions')}, contre "
            f"{fr_decimal(last['moyenne_communes'] or 0.0, 1)} en moyenne pour les communes "
            f"membres et {fr_decimal(last['moyenne_strate'] or 0.0, 1)} pour celles de sa "
            "taille.")
    return Alternative(text, **_table(timeline, {
        "annee": "Année", "nb_actions": f"Actions de {fiche.name}",
        "moyenne_communes": "Moyenne des communes membres",
        "moyenne_strate": "Moyenne des communes de sa taille"}))


BILAN_ALTERNATIVES: dict[str, Callable[[Bilan, Any], Alternative]] = {
    "actions_par_annee": lambda bilan, chart: _actions_by_year(bilan),
    "actions_deployees_annee": lambda bilan, chart: _deployed_this_year(bilan),
    "participations_par_action": lambda bilan, chart: _participations_by_action(bilan),
    "domaines": lambda bilan, chart: _by_domain(bilan),
    "parts_communes": lambda bilan, chart: _participation_shares(bilan),
    "distribution": lambda bilan, chart: _distribution(bilan),
    "matrice": lambda bilan, chart: _per_commune(bilan, with_actions=True),
    "carte": lambda bilan, chart: _per_commune(bilan, with_actions=False),
    "taille_communes": _by_size,
    "formes_juridiques": lambda bilan, chart: _by_legal_form(bilan),
    "population_par_action": lambda bilan, chart: _population_by_action(bilan),
    "moyens_actions": lambda bilan, chart: _moyens_by_action(bilan),
    "moyens_evolution": lambda bilan, chart: _moyens_evolution(bilan),
}
FICHE_ALTERNATIVES: dict[str, Callable[[Fiche], Alternative]] = {
    "actions": _fiche_actions,
    "actions_disponibles": _fiche_available,
    "comparaison": _fiche_peers,
    "parcours": _fiche_timeline,
}


def _subtitle(chart: Any) -> str:
    title = chart.to_dict(validate=False).get("title")
    subtitle = title.get("subtitle", "") if isinstance(title, dict) else ""
    return " ".join(subtitle) if isinstance(subtitle, list) else str(subtitle)


def generic(chart: Any) -> Alternative:
    """For a chart this module does not know yet: its subtitle, and its data frame as is."""
    frame = getattr(chart, "data", None)
    if not isinstance(frame, pl.DataFrame):
        return Alternative(_subtitle(chart), (), ())
    return Alternative(_subtitle(chart), **_table(frame, {name: name for name in frame.columns}))


def attach(chart: Any, alternative: Alternative) -> Any:
    """``chart`` with ``alternative`` in its ``usermeta`` (beside the figure name)."""
    usermeta = dict(chart.usermeta) if isinstance(chart.usermeta, dict) else {}
    return chart.properties(usermeta={**usermeta, **alternative.as_meta()})


def bilan_alternatives(bilan: Bilan, figures: dict[str, Any]) -> dict[str, Any]:
    """``figures`` (charts of the bilan by name) each with its description and data."""
    return {name: attach(chart, BILAN_ALTERNATIVES[name](bilan, chart)
                         if name in BILAN_ALTERNATIVES else generic(chart))
            for name, chart in figures.items()}


def fiche_alternatives(fiche: Fiche, figures: dict[str, Any]) -> dict[str, Any]:
    """``figures`` (charts of the commune sheet by name) each with its description and data."""
    return {name: attach(chart, FICHE_ALTERNATIVES[name](fiche)
                         if name in FICHE_ALTERNATIVES else generic(chart))
            for name, chart in figures.items()}


def output_meta(spec: dict[str, Any]) -> dict[str, Any]:
    """What the notebook output of a drawn chart carries: figure name, title, description and
    data (empty for a chart without a figure name)."""
    usermeta = spec.get("usermeta") or {}
    if FIGURE_KEY not in usermeta:
        return {}
    title = spec.get("title")
    if isinstance(title, dict):
        title = title.get("text")
    if isinstance(title, list):
        title = " ".join(title)
    return {FIGURE_KEY: usermeta[FIGURE_KEY], "titre": title or "Graphique",
            **{key: usermeta[key] for key in (DESCRIPTION_KEY, DATA_KEY) if key in usermeta}}

