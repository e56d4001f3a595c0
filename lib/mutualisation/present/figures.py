"""The charts of a bilan and of a commune sheet, by figure name (the file stem in ``figures/``).

The notebooks display them and :mod:`mutualisation.run.ahead` draws the same charts ahead
of the kernel, so both ask this module.
"""

from __future__ import annotations

from typing import Any

from mutualisation.compute.bilan import Bilan
from mutualisation.compute.fiche import Fiche
from mutualisation.compute.indicators import NO_DOMAIN
from mutualisation.present import charts
from mutualisation.present.accessible import bilan_alternatives, fiche_alternatives
from mutualisation.present.charts import moyens as moyens_charts
from mutualisation.present.charts.reach import by_legal_form, population_by_action


class Figures(dict):
    """Charts by figure name; a chart the report does not draw reads as None, which a
    notebook cell displays as nothing (``figures["domaines"]`` of a schéma with no action)."""

    def __missing__(self, name: str) -> None:
        return None


def _named(figures: dict[str, Any]) -> Figures:
    return Figures((name, charts.named(chart, name)) for name, chart in sorted(figures.items()))


def bilan_figures(bilan: Bilan) -> Figures:
    """The charts of the bilan, by file stem (the map only when the data has outlines).

    A schéma with no action inscribed at the reference date has no chart: every figure reads
    as None and the bilan says so in words (:mod:`mutualisation.present.bilan_text`).
    """
    if bilan.indicators["actions_inscrites"] == 0:
        return Figures()
    figures: dict[str, Any] = {
        "actions_par_annee": charts.actions_by_year(bilan.series),
        "actions_deployees_annee": charts.deployed_this_year(bilan.actions),
        "participations_par_action": charts.participations_by_action(bilan.actions),
        "domaines": charts.by_domain(bilan.domains),
        "parts_communes": charts.participation_shares(bilan.series_long),
        "distribution": charts.actions_distribution(bilan.distribution),
        "matrice": charts.commune_action_matrix(bilan.communes, bilan.actions),
        "taille_communes": charts.uptake_by_size(bilan.communes),
    }
    if bilan.outlines is not None:
        figures["carte"] = charts.commune_map(bilan.outlines, bilan.communes)
    if bilan.forms is not None:
        figures["formes_juridiques"] = by_legal_form(bilan.forms)
    if bilan.population_known:
        figures["population_par_action"] = population_by_action(bilan.actions_reach)
    if bilan.moyens is not None:
        figures["moyens_actions"] = moyens_charts.cost_and_staff(bilan.moyens.actions, bilan.year)
        figures["moyens_evolution"] = moyens_charts.evolution(
            bilan.moyens.series, bilan.moyens.first_year_with_figures)
    # Each chart with its description and data for the page (present/accessible.py).
    return Figures(bilan_alternatives(bilan, _named(figures)))


def fiche_figures(fiche: Fiche) -> Figures:
    """The charts of the commune sheet, by file stem."""
    # Every domain of the data: a domain keeps its colour on both action charts.
    domains = fiche.dataset.actions["domaine"].fill_null(NO_DOMAIN).unique().to_list()
    named = _named({
        "actions": charts.commune_actions_timeline(fiche.actions, fiche.reference, domains),
        "actions_disponibles": charts.available_actions(
            fiche.available,
            "La commune participe déjà à toutes les actions déployées"
            if fiche.indicators["actions_deployees"] else "Aucune action déployée",
            domains,
        ),
        "comparaison": charts.peer_distribution(fiche.peer_counts, fiche.code_insee, fiche.name,
                                                fiche.size_class),
        "parcours": charts.commune_timeline(fiche.timeline, fiche.name, fiche.size_class),
    })
    # Each chart with its description and data for the page (present/accessible.py).
    return Figures(fiche_alternatives(fiche, named))


def figures_of(kind: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """The charts the notebook of ``kind`` ("bilan", "fiche") builds with its papermill
    ``parameters``, by figure name."""
    if kind == "bilan":
        return bilan_figures(Bilan.build(parameters["donnees"], parameters["annee"],
                                         parameters["seuils"]))
    if kind == "fiche":
        return fiche_figures(Fiche.build(parameters["donnees"], parameters["annee"],
                                         parameters["code_insee"]))
    raise ValueError(f"unknown notebook kind {kind!r}")

