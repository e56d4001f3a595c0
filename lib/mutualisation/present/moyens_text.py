"""The words and tables of « Moyens et coûts » (bilan) and « Ce que la commune finance »
(commune sheet), from :mod:`mutualisation.compute.moyens`. Nothing here when the data has no
``moyens`` table: every function then gives an empty text or None."""

from __future__ import annotations

from html import escape
from typing import Any

import polars as pl

from mutualisation.compute.moyens import NOT_GIVEN
from mutualisation.compute.population import NO_FORM
from mutualisation.formatting import agree, fr_etp, fr_euros, fr_int, plural
from mutualisation.present.bilan_text import enumeration, paragraph

#: The title of the bilan's section and of the commune sheet's.
SECTION = "Moyens et coûts"
FICHE_SECTION = "Ce que la commune finance"

#: Key figures of the section: key of the ``moyens`` indicators, label, kind.
_KEY_FIGURES: tuple[tuple[str, str, str], ...] = (
    ("cout_fonctionnement", "Coût de fonctionnement", "€"),
    ("etp", "Équivalents temps plein (ETP)", "ETP"),
    ("agents_transferes", "Agents transférés ou mis à disposition", "n"),
    ("economies", "Économies déclarées", "€"),
    ("cout_par_habitant", "Coût par habitant couvert", "€2"),
    ("actions_renseignees", "Actions aux moyens renseignés", "n"),
    ("actions_non_renseignees", "Actions déployées non renseignées", "n"),
)


def key_figure(key: str) -> tuple[str, str] | None:
    """The label and kind of a key figure of the section (a key of the ``moyens``
    indicators), or None when the section does not show it."""
    return next(((label, kind) for name, label, kind in _KEY_FIGURES if name == key), None)


def shown(value: float | None, kind: str) -> str:
    """A figure of the section in French (« non renseigné » when unknown)."""
    if value is None:
        return NOT_GIVEN
    if kind == "€":
        return fr_euros(value)
    if kind == "€2":
        return fr_euros(value, 2)
    if kind == "ETP":
        return fr_etp(value)
    return fr_int(int(value))


def _change(now: float | None, before: float | None, kind: str) -> str:
    if now is None or before is None:
        return "—"
    delta = round(now - before, 2)
    text = shown(abs(delta), kind)
    return ("+" if delta > 0 else "−" if delta < 0 else "") + text


def _year_figures(series: pl.DataFrame, year: int) -> dict[str, Any] | None:
    rows = series.filter(pl.col("annee") == year)
    return rows.row(0, named=True) if rows.height else None


def key_figures(bilan: Any) -> pl.DataFrame | None:
    """The section's key figures of the year beside the year before, with the change."""
    moyens = bilan.moyens
    if moyens is None:
        return None
    now = moyens.indicators
    before = _year_figures(moyens.series, bilan.year - 1)
    columns: dict[str, list[str]] = {
        "Indicateur": [label for _, label, _ in _KEY_FIGURES],
        str(bilan.year): [shown(now[key], kind) for key, _, kind in _KEY_FIGURES],
    }
    if before is not None:
        columns[str(bilan.year - 1)] = [shown(before[key], kind) for key, _, kind in _KEY_FIGURES]
        columns["Évolution"] = [_change(now[key], before[key], kind)
                                for key, _, kind in _KEY_FIGURES]
    return pl.DataFrame(columns)


def section(bilan: Any) -> str:
    """The section's heading and text: the year's figures, their evolution, the actions
    without figures, the financing modes."""
    moyens = bilan.moyens
    if moyens is None:
        return ""
    figures, year = moyens.indicators, bilan.year
    text = f"<h2>{SECTION}</h2>"
    given, missing = figures["actions_renseignees"], figures["actions_non_renseignees"]
    if not given:
        return text + paragraph(f"Aucune action n’a de moyens renseignés pour {year}"
                                + (f" ({plural(missing, 'action déployée', 'actions déployées')}"
                                   " sans chiffres)." if missing else "."))
    parts = []
    if figures["cout_fonctionnement"] is not None:
        parts.append(f"un coût de fonctionnement de {fr_euros(figures['cout_fonctionnement'])}")
    if figures["etp"] is not None:
        parts.append(f"{fr_etp(figures['etp'])} au 31 décembre")
    if figures["agents_transferes"] is not None:
        parts.append(plural(figures["agents_transferes"], "agent transféré ou mis à disposition",
                            "agents transférés ou mis à disposition"))
    who = agree(given, "l’action renseignée représente",
                f"les {fr_int(given)} actions renseignées représentent")
    text += paragraph(f"En {year}, {who} {enumeration(parts) or 'des moyens non chiffrés'}.")
    if figures["economies"] is not None:
        text += paragraph(f"Économies déclarées : {fr_euros(figures['economies'])}.")
    if figures["cout_par_habitant"] is not None:
        text += paragraph(f"Rapporté aux {fr_int(figures['population_couverte'])} habitants des "
                          f"communes qui y participent, le coût est de "
                          f"{fr_euros(figures['cout_par_habitant'], 2)} par habitant.")
    before = _year_figures(moyens.series, year - 1)
    if before is not None and before["cout_fonctionnement"] is not None \
            and figures["cout_fonctionnement"] is not None:
        delta = figures["cout_fonctionnement"] - before["cout_fonctionnement"]
        move = ("stable" if round(delta) == 0 else
                f"{'en hausse' if delta > 0 else 'en baisse'} de {fr_euros(abs(delta))}")
        text += paragraph(f"Par rapport à {year - 1} "
                          f"({fr_euros(before['cout_fonctionnement'])}), le coût est {move}.")
    if missing:
        counted = agree(missing, "elle n’est pas comptée", "elles ne sont pas comptées")
        text += paragraph(f"{plural(missing, 'action déployée n’a', 'actions déployées n’ont')} "
                          f"pas de moyens renseignés (« non renseigné ») : {counted} dans les "
                          "totaux, ni comme zéro.")
    modes = [f"{escape(mode)} : {fr_euros(row['cout_fonctionnement'])} "
             f"({plural(row['actions'], 'action', 'actions')})"
             for mode, row in figures["par_mode_financement"].items()
             if row["cout_fonctionnement"] is not None]
    if modes:
        text += paragraph("Financement : " + " ; ".join(modes) + ".")
    if moyens.forms is not None:  # legal forms, when the data has them
        # An unknown ETP is never zero: the form's cost alone then.
        forms = [f"{escape(form)} : {fr_euros(cost)}" + ("" if etp is None else f" ({fr_etp(etp)})")
                 for form, cost, etp in moyens.forms.select(
                     "forme_juridique", "cout_fonctionnement", "etp").iter_rows()
                 if cost is not None]
        if forms:
            text += paragraph("Par forme juridique : " + " ; ".join(forms) + ".")
    return text


def actions_table(bilan: Any) -> pl.DataFrame | None:
    """The actions of the year with their figures, in French (« non renseigné »)."""
    moyens = bilan.moyens
    if moyens is None:
        return None
    # Short headings: seven columns must fit the width of an A4 page.
    names = {"action": "Action", "etp": "ETP", "agents": "Agents transférés",
             "cost": "Coût", "savings": "Économies", "mode": "Financement",
             "head": "Par habitant", "form": "Forme juridique"}
    forms = moyens.forms is not None  # a column only when the data gives legal forms
    keys = ["action", *(["form"] if forms else []), "etp", "agents", "cost", "savings", "mode",
            "head"]
    columns: dict[str, list[str]] = {names[k]: [] for k in keys}
    for row in moyens.actions.sort("libelle").iter_rows(named=True):
        given = row["renseigne"]

        def cell(key: str, kind: str, *, row: dict[str, Any] = row, given: bool = given) -> str:
            # An action without figures is « non renseigné »; an empty cell of its row, « — ».
            if not given:
                return NOT_GIVEN
            return "—" if row[key] is None else shown(row[key], kind)
        values = {
            "action": row["libelle"],
            "form": row.get("forme_juridique") or NO_FORM,
            "etp": cell("etp", "ETP"),
            "agents": cell("agents_transferes", "n"),
            "cost": cell("cout_fonctionnement", "€"),
            "savings": cell("economies", "€"),
            "mode": row["mode_financement"] or NOT_GIVEN,
            "head": "—" if row["cout_par_habitant"] is None
            else shown(row["cout_par_habitant"], "€2"),
        }
        for key in keys:
            columns[names[key]].append(values[key])
    return pl.DataFrame(columns)


# --------------------------------------------------------------------------- commune sheet


def fiche_text(fiche: Any) -> str:
    """« Ce que la commune finance »: its charged share per action, total and trend."""
    charged, trend = fiche.finance, fiche.finance_series
    if charged is None:
        return ""
    name = escape(fiche.name)
    text = f"<h2>{FICHE_SECTION}</h2>"
    if charged.is_empty():
        return text + paragraph(f"Aucune part du coût des actions n’est imputée à {name} en "
                                f"{fiche.year}.")
    amounts = charged.filter(pl.col("cout_fonctionnement").is_not_null())
    total = fiche.indicators.get("cout_impute")
    items = [f"<li>{escape(label)} : "
             f"{shown(cost, '€2') if cost is not None else NOT_GIVEN}"
             f"{' (' + escape(mode) + ')' if mode else ''}</li>"
             for label, cost, mode in charged.select("libelle", "cout_fonctionnement",
                                                     "mode_financement").iter_rows()]
    text += paragraph(f"En {fiche.year}, {name} finance "
                      f"{plural(charged.height, 'action', 'actions')} du schéma"
                      + (f", pour {fr_euros(total, 2)} au total" if amounts.height else "") + " :")
    text += "<ul>" + "".join(items) + "</ul>"
    known = trend.filter(pl.col("cout_fonctionnement").is_not_null())
    if known.height > 1:
        steps = [f"{year} : {fr_euros(cost)}" for year, cost in
                 known.select("annee", "cout_fonctionnement").iter_rows()]
        text += paragraph("Évolution de sa part : " + " ; ".join(steps) + ".")
    return text
