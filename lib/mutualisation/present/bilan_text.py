"""The words of the bilan: headline, section texts and notes, as small HTML fragments.

Every piece of text that comes from the data (names, labels) is escaped here,
because nbconvert does not sanitise what a notebook output contains. The commune sheet's
words are in :mod:`mutualisation.present.fiche_text`; both use the helpers here.
"""

from __future__ import annotations

import math
from html import escape

import polars as pl

from mutualisation.compute import indicators
from mutualisation.compute.bilan import Bilan
from mutualisation.data.model import reference_date
from mutualisation.formatting import (
    agree,
    fr_date,
    fr_decimal,
    fr_int,
    fr_percent,
    fr_signed_int,
    plural,
)
from mutualisation.present import labels, reach_text


def floor_percent(share: float) -> str:
    """A share as a whole percent rounded down: a headline never overstates (0.9556 → 95 %)."""
    return fr_percent(math.floor(round(share * 100, 6)) / 100)


def enumeration(items: list[str]) -> str:
    """French enumeration: « a », « a et b », « a, b et c »."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " et " + items[-1]


def paragraph(text: str, css: str = "") -> str:
    """``text`` (HTML already escaped) as a paragraph, with the CSS class ``css``."""
    cls = f' class="{css}"' if css else ""
    return f"<p{cls}>{text}</p>"


def _labels(actions: pl.DataFrame, condition: pl.Expr) -> list[str]:
    return [escape(label) for label in actions.filter(condition).sort("libelle")["libelle"]]


def title(bilan: Bilan) -> str:
    """The report's title (also the page's <title>)."""
    return f"Bilan {bilan.year} du schéma de mutualisation"


def banner(bilan: Bilan) -> str:
    """The warning shown first when the data set says it is illustrative."""
    if not bilan.dataset.illustrative:
        return ""
    detail = escape(bilan.dataset.description) if bilan.dataset.description else ""
    return (
        '<div class="bandeau-illustratif" role="note" style="border:2px solid #b45309;'
        'background:#fef3c7;padding:0.6em 1em;margin:0.5em 0;border-radius:4px">'
        f"<strong>Données illustratives</strong> — {detail}</div>"
    )


def first_full_year(bilan: Bilan, threshold: int) -> int | None:
    """First year since which every member commune has had at least ``threshold`` actions."""
    column = f"part_au_moins_{threshold}"
    if column not in bilan.series.columns:
        return None
    since = None
    for year, share in bilan.series.select("annee", column).iter_rows():
        since = (since or year) if share >= 1.0 else None
    return since


def no_action(bilan: Bilan) -> bool:
    """True when no action is inscribed at the reference date: a schéma just started."""
    return bilan.indicators["actions_inscrites"] == 0


def headline(bilan: Bilan) -> str:
    """The headline in the style of a press release, then the lead paragraph."""
    figures, year = bilan.indicators, bilan.year
    if no_action(bilan):
        members = plural(figures["communes_membres"], "commune membre", "communes membres")
        return (f"<h2>Aucune action inscrite au {fr_date(reference_date(year))}</h2>"
                + paragraph(f"Le schéma de mutualisation ne compte encore aucune action : "
                            f"les {members} de l’intercommunalité n’ont pas encore de "
                            "participation à mesurer. Les chiffres et les graphiques du bilan "
                            "apparaîtront avec les premières actions inscrites.", "chapeau"))
    parts = figures["part_communes_participantes"]
    start = bilan.dataset.first_year
    deployed = figures["actions_deployees"]
    noun = plural(deployed, "action de mutualisation déployée",
                  "actions de mutualisation déployées")
    head = (f"{noun} "
            f"depuis {start} et {floor_percent(parts[str(min(bilan.thresholds))])} "
            "des communes impliquées")
    this_year = figures["actions_deployees_annee"]
    labels = _labels(bilan.actions, pl.col("deployee_annee"))
    lead = (f"Au {fr_date(reference_date(year))}, le schéma compte "
            f"{plural(figures['actions_inscrites'], 'action inscrite', 'actions inscrites')}, "
            f"dont {plural(deployed, 'déployée', 'déployées')}")
    if this_year:
        lead += (f" ; {plural(len(this_year), 'l’a été', 'l’ont été')} en {year} : "
                 f"{enumeration(labels)}.")
    else:
        lead += f" ; aucune n’a été déployée en {year}."
    shares = [f"{floor_percent(parts[str(k)])} à au moins {plural(k, 'action', 'actions')}"
              for k in bilan.thresholds]
    members = plural(figures["communes_membres"], "commune membre", "communes membres")
    lead2 = f"Sur les {members}, {enumeration(shares)}."
    reach = _population_reach(bilan)
    return (f"<h2>{head}</h2>" + paragraph(lead, "chapeau") + paragraph(lead2, "chapeau")
            + (paragraph(reach, "chapeau") if reach else ""))


def _population_reach(bilan: Bilan) -> str:
    """« 18 communes sur 28, représentant 67 % de la population, participent à au moins
    1 action (en 2016 : 15 communes, 52 %). » ("" when the population figures can't be
    given)."""
    figures, prev = bilan.indicators, bilan.previous
    if "part_population_communes_participantes" not in figures:
        return ""
    k = str(min(bilan.thresholds))
    count, share = (figures["communes_participantes"][k],
                    figures["part_population_communes_participantes"][k])
    text = (f"{plural(count, 'commune', 'communes')} sur {fr_int(figures['communes_membres'])}, "
            f"représentant {floor_percent(share)} de la population, "
            f"{agree(count, 'participe', 'participent')} à au moins "
            f"{plural(int(k), 'action', 'actions')}")
    if prev is not None and "part_population_communes_participantes" in prev:
        before = prev["communes_participantes"][k]
        text += (f" (en {bilan.year - 1} : {plural(before, 'commune', 'communes')}, "
                 f"{floor_percent(prev['part_population_communes_participantes'][k])})")
    return text + "."


def key_figure_rows(bilan: Bilan) -> list[tuple[str, float, float | None, str]]:
    """The key figures as (label, year, year before or None, kind "n" or "%").

    One list for the page's table (:func:`key_figures`) and the workbook's first sheet.
    """
    figures, prev = bilan.indicators, bilan.previous
    rows: list[tuple[str, float, float | None, str]] = []

    def add(label: str, key: str, sub: str | None = None, kind: str = "n") -> None:
        now = figures[key] if sub is None else figures[key][sub]
        before = (None if prev is None or key not in prev
                  else prev[key] if sub is None else prev[key][sub])
        if isinstance(now, list):
            now, before = len(now), None if before is None else len(before)
        rows.append((label, now, before, kind))

    for key in ("communes_membres", "actions_inscrites", "actions_deployees"):
        add(labels.KEY_FIGURES[key], key)
    if no_action(bilan):  # nothing else to count yet
        return rows[:2]
    add(labels.deployed_in(bilan.year), "actions_deployees_annee")
    add(labels.KEY_FIGURES["participations_actives"], "participations_actives")
    for k in bilan.thresholds:
        add(labels.communes_at_least(k), "communes_participantes", str(k))
        add(labels.share_at_least(k), "part_communes_participantes", str(k), "%")
    if "population_membres" in figures:  # every member commune has a population
        add(labels.POPULATION_MEMBERS, "population_membres")
        # The shares only: the populations they stand for are in indicators.json.
        for k in bilan.thresholds:
            add(labels.population_share_at_least(k), "part_population_communes_participantes",
                str(k), "%")
    return rows


def key_figures(bilan: Bilan) -> pl.DataFrame:
    """The key figures of the year beside those of the year before, with the change."""
    rows = key_figure_rows(bilan)

    def show(value: float | None, kind: str) -> str:
        if value is None:
            return "—"
        return fr_percent(value, 1) if kind == "%" else fr_int(int(value))

    def change(now: float, before: float | None, kind: str) -> str:
        if before is None:
            return "—"
        if kind == "%":
            points = round((now - before) * 100, 1)
            sign = "+" if points > 0 else ""
            return f"{sign}{fr_decimal(points, 1)} pt"
        return fr_signed_int(int(now - before))

    columns = {
        "Indicateur": [r[0] for r in rows],
        str(bilan.year): [show(r[1], r[3]) for r in rows],
    }
    if bilan.previous is not None:  # the first year of the data has nothing to compare with
        columns[str(bilan.year - 1)] = [show(r[2], r[3]) for r in rows]
        columns["Évolution"] = [change(r[1], r[2], r[3]) for r in rows]
    return pl.DataFrame(columns)


def actions_text(bilan: Bilan) -> str:
    """What was deployed, what is waiting."""
    figures = bilan.indicators
    if no_action(bilan):
        return paragraph(f"Aucune action n’est inscrite au schéma au "
                         f"{fr_date(reference_date(bilan.year))}.")
    waiting = _labels(bilan.actions, ~pl.col("deployee"))
    if bilan.year > bilan.dataset.first_year:
        text = paragraph(
            f"Depuis {bilan.dataset.first_year}, le nombre d’actions inscrites est passé de "
            f"{fr_int(bilan.series['actions_inscrites'][0])} à "
            f"{fr_int(figures['actions_inscrites'])}, et celui des actions déployées de "
            f"{fr_int(bilan.series['actions_deployees'][0])} à "
            f"{fr_int(figures['actions_deployees'])}."
        )
    else:
        inscribed = plural(figures["actions_inscrites"], "action inscrite", "actions inscrites")
        text = paragraph(f"Première année du schéma : {inscribed}, "
                         f"dont {plural(figures['actions_deployees'], 'déployée', 'déployées')}.")
    if waiting:
        count = plural(len(waiting), "action inscrite n’est", "actions inscrites ne sont")
        text += paragraph(f"{count} pas encore {agree(len(waiting), 'déployée', 'déployées')}"
                          f" : {enumeration(waiting)}.")
    else:
        text += paragraph("Toutes les actions inscrites sont déployées.")
    return text


def communes_text(bilan: Bilan) -> str:
    """How widely the member communes take part."""
    figures = bilan.indicators
    members = figures["communes_membres"]
    if no_action(bilan):
        who = plural(members, "commune membre", "communes membres")
        return paragraph(f"{agree(members, 'La', 'Les')} {who} ne "
                         f"{agree(members, 'participe', 'participent')} encore à aucune "
                         "action : le schéma n’en compte pas.")
    mean = figures["moyenne_actions_par_commune"]
    text = paragraph(f"Au {fr_date(reference_date(bilan.year))}, une commune membre participe en "
              f"moyenne à {plural(mean, 'action déployée', 'actions déployées', 1)}.")
    full = [k for k in bilan.thresholds if first_full_year(bilan, k) is not None]
    if full and members:
        k = max(full)
        text += paragraph(f"Depuis {first_full_year(bilan, k)}, toutes les communes membres "
                          f"participent à au moins {plural(k, 'action', 'actions')}.")
    low = bilan.communes.filter(pl.col("nb_actions") < max(bilan.thresholds)).sort("nom")
    if low.height:
        names = [f"{escape(n)} ({fr_int(a)})"
                 for n, a in low.select("nom", "nb_actions").iter_rows()]
        count = plural(low.height, "commune participe", "communes participent")
        text += paragraph(f"{count} à moins de "
                          f"{plural(max(bilan.thresholds), 'action', 'actions')} : "
                          f"{enumeration(names)}.")
    return text


def _merger_items(bilan: Bilan, merged: pl.DataFrame) -> tuple[list[str], set[str]]:
    """One line per commune nouvelle of the year: « Terval naît de la fusion de … »; and the
    codes of the communes nouvelles that join on the day of their merger (told here)."""
    communes = bilan.dataset.communes
    names = dict(communes.select("code_insee", "nom").iter_rows())
    joined = dict(communes.select("code_insee", "date_adhesion").iter_rows())
    items, new = [], set()
    for (day, successor), group in merged.group_by("date", "code_successeur",
                                                   maintain_order=True):
        absorbed = sorted(group["nom"].to_list())
        name = escape(names.get(successor, successor))
        kept = joined.get(successor) is not None and joined[successor] < day
        if not kept:
            new.add(successor)
        merged_names = enumeration([escape(n) for n in absorbed])
        if kept:
            how = (f"de la fusion de {merged_names} avec la commune dont elle garde le code "
                   f"({escape(successor)})")
            before = len(absorbed) + 1
        else:
            how = f"de la fusion de {merged_names}"
            before = len(absorbed)
        items.append(f"<li>Le {fr_date(day)}, {name} naît {how} : "
                     f"{plural(before, 'commune membre', 'communes membres')} n’en font plus "
                     "qu’une</li>")
    return items, new


def _count_change(bilan: Bilan, merged: int, left: int, joined: int) -> str:
    """Why the member count moved, in a year with a merger."""
    if bilan.previous is None:
        return ""
    before, now = bilan.previous["communes_membres"], bilan.indicators["communes_membres"]
    reasons = [plural(merged, "commune absorbée par une fusion",
                      "communes absorbées par une fusion")]
    if left:
        reasons.append(plural(left, "sortie", "sorties"))
    if joined:
        reasons.append(plural(joined, "adhésion", "adhésions"))
    move = (f"passe de {fr_int(before)} à {fr_int(now)}" if now != before
            else f"reste de {fr_int(now)}")
    nobody = "" if left else ", sans qu’aucune commune ne quitte l’intercommunalité"
    return paragraph(f"Le nombre de communes membres {move} : {enumeration(reasons)}{nobody}.")


def changes_text(bilan: Bilan) -> str:
    """Communes that joined, merged or left during the year, and how they count."""
    changes = bilan.changes
    if changes.height == 0:
        return paragraph(
            f"Aucune commune n’a rejoint ni quitté l’intercommunalité en {bilan.year}.")
    extra = bilan.dataset.communes.select(
        "code_insee", "code_successeur",
        pl.col("adhesion_borne_inferieure").fill_null(False).alias("borne"))
    changes = changes.join(extra, on="code_insee", how="left", maintain_order="left")
    merged = changes.filter(pl.col("mouvement") == indicators.MERGED)
    merger_items, new = _merger_items(bilan, merged)
    # A commune nouvelle joining on the day of its merger is told by its merger.
    others = changes.filter(
        (pl.col("mouvement") != indicators.MERGED)
        & ~((pl.col("mouvement") == indicators.JOINED) & pl.col("code_insee").is_in(sorted(new))))
    # One line per movement and date: the founding members of an intercommunality all
    # join on the same day and read as one sentence, not as a list of 85 lines.
    grouped = (others.group_by("mouvement", "date", "borne", maintain_order=True)
               .agg(pl.col("nom").sort()))
    items = []
    for movement, day, bound, names in grouped.select("mouvement", "date", "borne",
                                                      "nom").iter_rows():
        verb = (("adhère", "adhèrent") if movement == "adhésion"
                else ("quitte l’intercommunalité", "quittent l’intercommunalité"))
        who = plural(len(names), "commune", "communes")
        listed = enumeration([escape(n) for n in names])
        if bound:
            items.append(f"<li>{who} {agree(len(names), 'membre', 'membres')} au "
                         f"{fr_date(day)}, première date connue (adhésion antérieure "
                         f"possible) : {listed}</li>")
        else:
            items.append(f"<li>{who} {verb[len(names) > 1]} le {fr_date(day)} : {listed}</li>")
    text = f"<ul>{''.join(merger_items + items)}</ul>"
    if merger_items:
        left = others.filter(pl.col("mouvement") == indicators.LEFT).height
        joined = others.filter(pl.col("mouvement") == indicators.JOINED).height
        text += _count_change(bilan, merged.height, left, joined)
    text += paragraph("Une commune qui adhère en cours d’année compte parmi les membres au "
                      "31 décembre, avec les actions auxquelles elle participe à cette date ; "
                      "une commune sortie avant le 31 décembre n’est plus comptée.")
    if merger_items:
        text += paragraph("Les participations d’une commune absorbée par une fusion passent à la "
                          "commune nouvelle à la date de la fusion, sauf aux actions auxquelles "
                          "celle-ci participait déjà.")
    return text


def data_notes(bilan: Bilan) -> str:
    """Data summary and quality notes of the annex."""
    ds, d = bilan.dataset, reference_date(bilan.year)
    p = ds.participations
    by_action = bilan.indicators["participations_par_action"]
    undeployed = sum(by_action[a] for a in bilan.indicators["actions_inscrites_non_deployees"])
    future = (p.filter(pl.col("date_debut") > d).height
              + ds.actions.filter(pl.col("date_inscription") > d).height)
    no_domain = ds.actions.filter(pl.col("domaine").is_null()).height
    no_population = ds.communes.filter(pl.col("population").is_null()).height
    items = [
        f"{plural(ds.communes.height, 'commune', 'communes')}, "
        f"{plural(ds.actions.height, 'action', 'actions')} et "
        f"{plural(p.height, 'participation', 'participations')} dans les données, "
        f"complètes de {ds.first_year} à {ds.last_year}.",
        f"Date de référence : {fr_date(d)} inclus.",
    ]
    if undeployed:
        active = plural(undeployed, "participation active", "participations actives")
        items.append(f"{active} à des "
                     "actions inscrites mais pas encore déployées : comptées par action, pas "
                     "dans le nombre d’actions des communes.")
    if future:
        items.append(f"{plural(future, 'enregistrement postérieur', 'enregistrements postérieurs')}"
                     f" au {fr_date(d)}, {agree(future, 'ignoré', 'ignorés')} pour ce bilan.")
    if no_domain:
        items.append(f"{plural(no_domain, 'action', 'actions')} sans domaine "
                     "(« non renseigné »).")
    if no_population:
        items.append(f"{plural(no_population, 'commune', 'communes')} sans population : hors "
                     "de l’analyse par taille.")
    items += reach_text.notes(bilan)
    if ds.illustrative:
        items.append("Les données sont illustratives : " + escape(ds.description))
    return "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def methods() -> str:
    """How the figures are defined, in plain words."""
    return (
        "<ul>"
        "<li>Une commune est <em>membre</em> au 31 décembre si elle a adhéré à cette date "
        "au plus tard et ne l’a pas quittée.</li>"
        "<li>Une commune qui fusionne dans une <em>commune nouvelle</em> n’est plus membre à "
        "sa date de sortie ; ses participations encore actives ce jour-là passent à la "
        "commune nouvelle à partir de cette date, sauf aux actions auxquelles celle-ci "
        "participe déjà. Le bilan la compte comme une fusion, non comme un retrait.</li>"
        "<li>Une action est <em>inscrite</em> dès son inscription au schéma, <em>déployée</em> "
        "dès sa date de déploiement.</li>"
        "<li>Le <em>nombre d’actions</em> d’une commune compte les actions déployées auxquelles "
        "elle participe au 31 décembre.</li>"
        "</ul>"
    )
