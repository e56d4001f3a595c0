"""The words of the bilan: headline, section texts and notes, as small HTML fragments.

Every piece of text that comes from the data (names, labels) is escaped here,
because nbconvert does not sanitise what a notebook output contains.
"""

from __future__ import annotations

import math
from html import escape

import polars as pl

from .bilan import Bilan
from .formatting import fr_date, fr_decimal, fr_int, fr_percent, fr_signed_int, plural
from .model import reference_date


def floor_percent(share: float) -> str:
    """A share as a whole percent rounded down: a headline never overstates (0.9556 → 95 %)."""
    return fr_percent(math.floor(round(share * 100, 6)) / 100)


def _enumerate(items: list[str]) -> str:
    """French enumeration: « a », « a et b », « a, b et c »."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " et " + items[-1]


def _p(text: str, css: str = "") -> str:
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


def headline(bilan: Bilan) -> str:
    """The headline in the style of a press release, then the lead paragraph."""
    ind, year = bilan.indicators, bilan.year
    parts = ind["part_communes_participantes"]
    start = bilan.dataset.first_year
    deployed = ind["actions_deployees"]
    noun = plural(deployed, "action de mutualisation déployée",
                  "actions de mutualisation déployées")
    head = (f"{noun} "
            f"depuis {start} et {floor_percent(parts[str(min(bilan.thresholds))])} "
            "des communes impliquées")
    this_year = ind["actions_deployees_annee"]
    labels = _labels(bilan.actions, pl.col("deployee_annee"))
    lead = (f"Au {fr_date(reference_date(year))}, le schéma compte "
            f"{plural(ind['actions_inscrites'], 'action inscrite', 'actions inscrites')}, "
            f"dont {fr_int(deployed)} {'déployée' if deployed <= 1 else 'déployées'}")
    if this_year:
        lead += (f" ; {fr_int(len(this_year))} "
                 f"{'l’a été' if len(this_year) == 1 else 'l’ont été'} en {year} : "
                 f"{_enumerate(labels)}.")
    else:
        lead += f" ; aucune n’a été déployée en {year}."
    shares = [f"{floor_percent(parts[str(k)])} à au moins {plural(k, 'action', 'actions')}"
              for k in bilan.thresholds]
    members = plural(ind["communes_membres"], "commune membre", "communes membres")
    lead2 = f"Sur les {members}, {_enumerate(shares)}."
    return f"<h2>{head}</h2>" + _p(lead, "chapeau") + _p(lead2, "chapeau")


def key_figures(bilan: Bilan) -> pl.DataFrame:
    """The key figures of the year beside those of the year before, with the change."""
    ind, prev = bilan.indicators, bilan.previous
    rows: list[tuple[str, float, float | None, str]] = []

    def add(label: str, key: str, sub: str | None = None, kind: str = "n") -> None:
        now = ind[key] if sub is None else ind[key][sub]
        before = None if prev is None else (prev[key] if sub is None else prev[key][sub])
        if isinstance(now, list):
            now, before = len(now), None if before is None else len(before)
        rows.append((label, now, before, kind))

    add("Communes membres", "communes_membres")
    add("Actions inscrites", "actions_inscrites")
    add("Actions déployées", "actions_deployees")
    add(f"Actions déployées en {bilan.year}", "actions_deployees_annee")
    add("Participations actives", "participations_actives")
    for k in bilan.thresholds:
        add(f"Communes dans au moins {plural(k, 'action', 'actions')}",
            "communes_participantes", str(k))
        add(f"Part des communes dans au moins {plural(k, 'action', 'actions')}",
            "part_communes_participantes", str(k), "%")

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

    return pl.DataFrame(
        {
            "Indicateur": [r[0] for r in rows],
            str(bilan.year): [show(r[1], r[3]) for r in rows],
            str(bilan.year - 1): [show(r[2], r[3]) for r in rows],
            "Évolution": [change(r[1], r[2], r[3]) for r in rows],
        }
    )


def actions_text(bilan: Bilan) -> str:
    """What was deployed, what is waiting."""
    ind = bilan.indicators
    waiting = _labels(bilan.actions, ~pl.col("deployee"))
    text = _p(
        f"Depuis {bilan.dataset.first_year}, le nombre d’actions inscrites est passé de "
        f"{fr_int(bilan.series['actions_inscrites'][0])} à {fr_int(ind['actions_inscrites'])}, "
        f"et celui des actions déployées de {fr_int(bilan.series['actions_deployees'][0])} "
        f"à {fr_int(ind['actions_deployees'])}."
    )
    if waiting:
        text += _p(f"{plural(len(waiting), 'action inscrite n’est', 'actions inscrites ne sont')} "
                   f"pas encore {'déployée' if len(waiting) == 1 else 'déployées'} : "
                   f"{_enumerate(waiting)}.")
    else:
        text += _p("Toutes les actions inscrites sont déployées.")
    return text


def communes_text(bilan: Bilan) -> str:
    """How widely the member communes take part."""
    ind = bilan.indicators
    members = ind["communes_membres"]
    mean = ind["moyenne_actions_par_commune"]
    text = _p(f"Au {fr_date(reference_date(bilan.year))}, une commune membre participe en "
              f"moyenne à {fr_decimal(mean, 1)} actions déployées.")
    full = [k for k in bilan.thresholds if first_full_year(bilan, k) is not None]
    if full and members:
        k = max(full)
        text += _p(f"Depuis {first_full_year(bilan, k)}, toutes les communes membres participent "
                   f"à au moins {plural(k, 'action', 'actions')}.")
    low = bilan.communes.filter(pl.col("nb_actions") < max(bilan.thresholds)).sort("nom")
    if low.height:
        names = [f"{escape(n)} ({fr_int(a)})"
                 for n, a in low.select("nom", "nb_actions").iter_rows()]
        text += _p(f"{plural(low.height, 'commune participe', 'communes participent')} à moins de "
                   f"{plural(max(bilan.thresholds), 'action', 'actions')} : {_enumerate(names)}.")
    return text


def changes_text(bilan: Bilan) -> str:
    """Communes that joined or left during the year, and how they count."""
    changes = bilan.changes
    if changes.height == 0:
        return _p(f"Aucune commune n’a rejoint ni quitté l’intercommunalité en {bilan.year}.")
    items = []
    for name, movement, day in changes.select("nom", "mouvement", "date").iter_rows():
        verb = "adhère" if movement == "adhésion" else "quitte l’intercommunalité"
        items.append(f"<li>{escape(name)} {verb} le {fr_date(day)}</li>")
    return (f"<ul>{''.join(items)}</ul>"
            + _p("Une commune qui adhère en cours d’année compte parmi les membres au "
                 "31 décembre, avec les actions auxquelles elle participe à cette date ; "
                 "une commune sortie avant le 31 décembre n’est plus comptée."))


def data_notes(bilan: Bilan) -> str:
    """Data summary and quality notes of the annex."""
    ds, d = bilan.dataset, reference_date(bilan.year)
    p = ds.participations
    undeployed = p.join(bilan.actions.filter(~pl.col("deployee")).select("action_id"),
                        on="action_id").filter(pl.col("date_debut") <= d)
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
    if undeployed.height:
        items.append(f"{plural(undeployed.height, 'participation', 'participations')} à des "
                     "actions inscrites mais pas encore déployées : comptées par action, pas "
                     "dans le nombre d’actions des communes.")
    if future:
        items.append(f"{plural(future, 'enregistrement postérieur', 'enregistrements postérieurs')}"
                     f" au {fr_date(d)} ignoré(s) pour ce bilan.")
    if no_domain:
        items.append(f"{plural(no_domain, 'action', 'actions')} sans domaine "
                     "(« non renseigné »).")
    if no_population:
        items.append(f"{plural(no_population, 'commune', 'communes')} sans population : hors "
                     "de l’analyse par taille.")
    if ds.illustrative:
        items.append("Les données sont illustratives : " + escape(ds.description))
    return "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def section(title_text: str, level: int = 2) -> str:
    """A section heading."""
    return f"<h{level}>{escape(title_text)}</h{level}>"


def methods() -> str:
    """How the figures are defined, in plain words."""
    return (
        "<ul>"
        "<li>Une commune est <em>membre</em> au 31 décembre si elle a adhéré à cette date "
        "au plus tard et ne l’a pas quittée.</li>"
        "<li>Une action est <em>inscrite</em> dès son inscription au schéma, <em>déployée</em> "
        "dès sa date de déploiement.</li>"
        "<li>Le <em>nombre d’actions</em> d’une commune compte les actions déployées auxquelles "
        "elle participe au 31 décembre.</li>"
        "</ul>"
    )


__all__ = ["actions_text", "banner", "changes_text", "communes_text", "data_notes",
           "first_full_year", "floor_percent", "headline", "key_figures", "methods", "section",
           "title"]
