"""The « Révisions » paragraph of the bilan: earlier figures that changed since their report
was published, their published and new values, and why."""

from __future__ import annotations

from html import escape
from typing import Any

from mutualisation.compute.revisions import DATA, DEFINITION
from mutualisation.formatting import agree, fr_int, fr_percent, plural
from mutualisation.present import labels, moyens_text

#: How the figures of « Moyens et coûts » are named here (``moyens.<key>``).
_MOYENS = "moyens."


def figure_label(figure: str, year: int) -> str:
    """The French name of a figure of ``indicators.json`` (``communes_participantes.5``,
    ``moyens.etp``)."""
    if figure.startswith(_MOYENS):
        found = moyens_text.key_figure(figure.removeprefix(_MOYENS))
        return found[0] if found else figure
    base, _, k = figure.partition(".")
    if base == "population_membres":
        return labels.POPULATION_MEMBERS
    if base == "part_population_communes_participantes":
        return labels.population_share_at_least(int(k))
    if base == "communes_participantes":
        return labels.communes_at_least(int(k))
    if base == "part_communes_participantes":
        return labels.share_at_least(int(k))
    if base == "actions_deployees_annee":
        return labels.deployed_in(year)
    return labels.KEY_FIGURES.get(base, base)


def figure_value(figure: str, value: float | None) -> str:
    """A figure's value as the bilan writes it (a share in percent, one decimal; an amount
    in euros, ETP; an unknown « Moyens et coûts » figure « non renseigné »)."""
    if figure.startswith(_MOYENS):
        found = moyens_text.key_figure(figure.removeprefix(_MOYENS))
        return moyens_text.shown(value, found[1] if found else "n")
    if value is None:
        return "—"
    if figure.startswith("part_"):
        return fr_percent(value, 1)
    return fr_int(int(value))


def _them(count: int) -> str:
    """The pronoun standing for ``count`` revisions: « l’ » or « les »."""
    return agree(count, "l’", "les ")


def _why(items: list[dict[str, Any]], year: int) -> str:
    causes = {item["cause"] for item in items}
    lines = list(dict.fromkeys(line for item in items for line in item["changements"]))
    if DATA in causes:
        them = _them(sum(item["cause"] == DATA for item in items))
        said = (f"{agree(len(lines), 'Changement', f'Les {fr_int(len(lines))} changements')}"
                f" des données qui {them}{agree(len(lines), 'explique', 'expliquent')}")
        listed = "".join(f"<li>{escape(line)}</li>" for line in lines)
        text = f"<p>{said} :</p><ul>{listed}</ul>"
        if DEFINITION in causes:
            text += "<p>Les autres révisions viennent d’un changement de définition.</p>"
        return text
    if DEFINITION in causes:
        return ("<p>Aucune donnée de cette année n’a changé : la révision vient d’un "
                "changement de définition du calcul.</p>")
    problem = next((item["donnees_illisibles"] for item in items
                    if item.get("donnees_illisibles")), None)
    said = f"les changements qui {_them(len(items))}expliquent ne peuvent pas être listés"
    if problem is not None:
        return (f"<p>Les données gardées par le bilan {year} n’ont pas pu être relues : "
                f"{said}. Problème : {escape(problem)}.</p>")
    return f"<p>Le bilan {year} n’a pas gardé ses données : {said}.</p>"


def revisions_text(revisions: list[dict[str, Any]]) -> str:
    """The « Révisions » section ('' when no earlier figure changed)."""
    if not revisions:
        return ""
    years = sorted({item["annee"] for item in revisions})
    parts = ['<h2 id="revisions">Révisions</h2>',
             "<p>Des chiffres publiés dans les bilans précédents ont changé depuis leur "
             "publication ; les voici avec la valeur publiée et la nouvelle.</p>"]
    for year in years:
        items = [item for item in revisions if item["annee"] == year]
        figures = "".join(
            f"<li>{escape(figure_label(item['indicateur'], year))} : "
            f"{figure_value(item['indicateur'], item['publie'])} dans le bilan {year}, "
            f"{figure_value(item['indicateur'], item['nouveau'])} maintenant</li>"
            for item in items)
        parts.append(f"<p><strong>Chiffres de {year}</strong> "
                     f"({plural(len(items), 'chiffre révisé', 'chiffres révisés')}) :</p>"
                     f"<ul>{figures}</ul>{_why(items, year)}")
    return "".join(parts)
