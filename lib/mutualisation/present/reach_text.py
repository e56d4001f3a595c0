"""The words of what issue #18 added to the bilan: the section « Formes de mutualisation »,
the actions abandoned during the year, and the notes on populations and on membership dates
set by ``mutualisation init --membres-depuis``.

Each function returns an empty string when the data gives nothing to say, so that a data
folder without legal forms or abandon dates shows no empty section.
"""

from __future__ import annotations

from html import escape

import polars as pl

from mutualisation.compute import population
from mutualisation.compute.bilan import Bilan
from mutualisation.formatting import agree, fr_date, fr_int, fr_percent, plural


def _p(text: str) -> str:
    return f"<p>{text}</p>"


def forms_section(bilan: Bilan) -> str:
    """The title and lead of the section « Formes de mutualisation » ("" without legal form)."""
    forms = bilan.forms
    if forms is None:
        return ""
    given = forms.filter(pl.col("forme_juridique") != population.NO_FORM)
    missing = forms.filter(pl.col("forme_juridique") == population.NO_FORM)
    top = given.sort("actions_inscrites", "forme_juridique", descending=[True, False])
    text = "<h2>Formes de mutualisation</h2>"
    if top.height:
        first = top.row(0, named=True)
        text += _p(f"Les actions inscrites relèvent de "
                   f"{plural(given.height, 'forme juridique', 'formes juridiques')} ; la plus "
                   f"fréquente est « {escape(first['forme_juridique'])} » "
                   f"({plural(first['actions_inscrites'], 'action', 'actions')}).")
    if missing.height:
        count = missing["actions_inscrites"].item()
        text += _p(f"{plural(count, 'action n’a', 'actions n’ont')} pas de forme juridique "
                   "renseignée (« non renseignée »).")
    return text


def forms_table(bilan: Bilan) -> pl.DataFrame:
    """The table of the section, in French formats (an empty frame without legal form)."""
    forms = bilan.forms
    if forms is None:
        return pl.DataFrame()
    columns = {
        "Forme juridique": forms["forme_juridique"].to_list(),
        "Actions inscrites": [fr_int(v) for v in forms["actions_inscrites"]],
        "Actions déployées": [fr_int(v) for v in forms["actions_deployees"]],
        "Communes participantes": [fr_int(v) for v in forms["communes"]],
    }
    if bilan.population_known:
        total = bilan.indicators["population_membres"]
        columns["Population couverte"] = [fr_int(v) for v in forms["population"]]
        columns["Part de la population"] = [
            fr_percent(population.share(v, total), 1) for v in forms["population"]]
    return pl.DataFrame(columns)


def abandoned_text(bilan: Bilan) -> str:
    """The actions that left the schéma during the year ("" when none did)."""
    gone = bilan.abandoned
    if gone.is_empty():
        return ""
    items = [f"{escape(label)} ({escape(code)}), le {fr_date(day)}"
             for code, label, day in gone.select("action_id", "libelle", "date_abandon")
             .iter_rows()]
    who = plural(gone.height, "action a quitté", "actions ont quitté")
    return _p(f"{who} le schéma en {bilan.year} (abandon ou suspension) : "
              + "; ".join(items)
              + agree(gone.height, ". Elle n’est plus comptée", ". Elles ne sont plus comptées")
              + " à partir de cette date.")


def notes(bilan: Bilan) -> list[str]:
    """Items of the data notes: which populations were used, or why there is no population
    figure; the membership date given by ``init --membres-depuis``."""
    items = []
    members = bilan.member_populations
    if bilan.population_known:
        years, from_column = population.vintage(members)
        parts = []
        if years:
            listed = ", ".join(str(y) for y in years)
            in_table = members.height - from_column
            parts.append(f"table populations, {agree(len(years), 'millésime', 'millésimes')}"
                         f" {listed} ({plural(in_table, 'commune', 'communes')})")
        if from_column:
            parts.append(f"colonne population de la table communes "
                         f"({plural(from_column, 'commune', 'communes')}"
                         + (f", sans population dans la table populations jusqu’à {bilan.year})"
                            if bilan.dataset.populations is not None else ")"))
        items.append(f"Populations retenues pour {bilan.year} : " + " ; ".join(parts) + ".")
    else:
        unknown = plural(members["population"].null_count(), "commune membre",
                         "communes membres")
        items.append(f"Population inconnue pour {unknown} en {bilan.year} : le bilan donne "
                     "les nombres de communes seuls, sans part de la population.")
    if population.abandons_given(bilan.dataset):
        items.append("Une action abandonnée ou suspendue (date_abandon) n’est plus comptée, ni "
                     "inscrite ni déployée, à partir de cette date.")
    since = bilan.dataset.members_since
    if since is not None:
        items.append("Les communes membres dès le premier millésime du référentiel officiel "
                     f"sont datées du {fr_date(since)} (mutualisation init --membres-depuis).")
    return items
