"""The words of the bilan: headline, section texts and notes, as small HTML fragments.

Every piece of text that comes from the data (names, labels) is escaped here,
because nbconvert does not sanitise what a notebook output contains.
"""

from __future__ import annotations

import math
from html import escape
from typing import TYPE_CHECKING

import polars as pl

from .bilan import Bilan
from .formatting import fr_date, fr_decimal, fr_int, fr_percent, fr_signed_int, plural
from .indicators import NO_DOMAIN
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


def key_figure_rows(bilan: Bilan) -> list[tuple[str, float, float | None, str]]:
    """The key figures as (label, year, year before or None, kind "n" or "%").

    One list for the page's table (:func:`key_figures`) and the workbook's first sheet.
    """
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
    ind = bilan.indicators
    waiting = _labels(bilan.actions, ~pl.col("deployee"))
    if bilan.year > bilan.dataset.first_year:
        text = _p(
            f"Depuis {bilan.dataset.first_year}, le nombre d’actions inscrites est passé de "
            f"{fr_int(bilan.series['actions_inscrites'][0])} à "
            f"{fr_int(ind['actions_inscrites'])}, et celui des actions déployées de "
            f"{fr_int(bilan.series['actions_deployees'][0])} à "
            f"{fr_int(ind['actions_deployees'])}."
        )
    else:
        text = _p(f"Première année du schéma : "
                  f"{plural(ind['actions_inscrites'], 'action inscrite', 'actions inscrites')}, "
                  f"dont {fr_int(ind['actions_deployees'])} déployée"
                  f"{'s' if ind['actions_deployees'] > 1 else ''}.")
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
    # One line per movement and date: the founding members of an intercommunality all
    # join on the same day and read as one sentence, not as a list of 85 lines.
    grouped = (changes.group_by("mouvement", "date", maintain_order=True)
               .agg(pl.col("nom").sort()))
    items = []
    for movement, day, names in grouped.select("mouvement", "date", "nom").iter_rows():
        verb = (("adhère", "adhèrent") if movement == "adhésion"
                else ("quitte l’intercommunalité", "quittent l’intercommunalité"))
        who = plural(len(names), "commune", "communes")
        items.append(f"<li>{who} {verb[len(names) > 1]} le {fr_date(day)} : "
                     f"{_enumerate([escape(n) for n in names])}</li>")
    return (f"<ul>{''.join(items)}</ul>"
            + _p("Une commune qui adhère en cours d’année compte parmi les membres au "
                 "31 décembre, avec les actions auxquelles elle participe à cette date ; "
                 "une commune sortie avant le 31 décembre n’est plus comptée."))


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
                     f" au {fr_date(d)}, {'ignoré' if future == 1 else 'ignorés'} pour ce bilan.")
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
           "first_full_year", "floor_percent", "headline", "key_figure_rows", "key_figures",
           "methods", "section", "title"]


# --------------------------------------------------------------------------
# The commune sheet (mutualisation.fiche)
# --------------------------------------------------------------------------

if TYPE_CHECKING:
    from .fiche import Fiche


def _ordinal(n: int) -> str:
    """French feminine ordinal (une commune): « 1re », « 2e », « 15e »."""
    return "1re" if n == 1 else f"{fr_int(n)}e"


def _mean_text(value: float | None) -> str:
    return "—" if value is None else fr_decimal(value, 1)


def fiche_title(fiche: Fiche) -> str:
    """The sheet's title (also the page's <title>): « Fiche 2019 — Lille (59350) »."""
    return f"Fiche {fiche.year} — {fiche.name} ({fiche.code_insee})"


def fiche_rank(fiche: Fiche) -> str:
    """Where the commune stands among the member communes of its size class (one sentence)."""
    peers = fiche.peers
    classe = escape(peers["classe"])
    if peers["rang"] is None:
        return ("Sa population n’est pas renseignée : pas de comparaison avec les communes "
                "de taille comparable.")
    if peers["communes"] == 1:
        return f"C’est la seule commune membre de {classe}."
    rank = _ordinal(peers["rang"])
    if peers["ex_aequo"]:
        rank += (f" ex aequo avec {plural(peers['ex_aequo'], 'autre commune', 'autres communes')}")
    return (f"Parmi les {fr_int(peers['communes'])} communes membres de {classe}, elle se classe "
            f"{rank} (de {fr_int(peers['minimum'])} à "
            f"{plural(peers['maximum'], 'action', 'actions')}, "
            f"{_mean_text(peers['moyenne'])} en moyenne).")


def fiche_headline(fiche: Fiche) -> str:
    """The sheet's headline (how many actions, against the mean), then its rank by size."""
    ind = fiche.indicators
    name, n, total = escape(fiche.name), ind["nb_actions"], ind["actions_deployees"]
    day = fr_date(fiche.reference)
    if total == 0:
        head = f"Aucune action n’est encore déployée au {day}"
    elif total == 1:
        verb = "participe" if n else "ne participe pas encore"
        head = f"{name} {verb} à la seule action déployée au {day}"
    elif n == 0:
        head = (f"{name} ne participe encore à aucune des {fr_int(total)} actions déployées "
                f"au {day}")
    else:
        head = f"{name} participe à {fr_int(n)} des {fr_int(total)} actions déployées au {day}"
    if total:
        head += (f", contre {_mean_text(ind['moyenne_communes'])} en moyenne pour les "
                 "communes membres")
    return f"<h2>{head}</h2>" + _p(fiche_rank(fiche), "chapeau")


def fiche_actions_text(fiche: Fiche) -> str:
    """Its actions by domain, those joined during the year, those not deployed yet."""
    actions, name = fiche.actions, escape(fiche.name)
    day = fr_date(fiche.reference)
    if actions.is_empty():
        text = _p(f"Au {day}, {name} ne participe à aucune action déployée.")
    else:
        from .charts import sort_key  # French dictionary order

        domains = (actions.with_columns(pl.col("domaine").fill_null(NO_DOMAIN))
                   .group_by("domaine").agg(pl.len().alias("n")))
        counted = sorted(domains.iter_rows(), key=lambda row: (-row[1], sort_key(row[0])))
        parts = [f"{escape(d)} ({fr_int(k)})" for d, k in counted]
        text = _p(f"Au {day}, {name} participe à "
                  f"{plural(actions.height, 'action déployée', 'actions déployées')}, "
                  f"dans {plural(domains.height, 'domaine', 'domaines')} : "
                  f"{_enumerate(parts)}.")
        joined = actions.filter(pl.col("depuis").dt.year() == fiche.year).sort("libelle")
        if joined.height:
            labels = [escape(label) for label in joined["libelle"]]
            text += _p(f"En {fiche.year}, elle a rejoint "
                       f"{plural(joined.height, 'action', 'actions')} : {_enumerate(labels)}.")
    pending = fiche.pending
    if pending.height:
        labels = [escape(label) for label in pending.sort("libelle")["libelle"]]
        noun = plural(pending.height, "action inscrite", "actions inscrites")
        waiting = "pas encore déployée" if pending.height == 1 else "pas encore déployées"
        text += _p(f"Elle participe aussi à {noun} mais {waiting}, non "
                   f"{'comptée' if pending.height == 1 else 'comptées'} ici : "
                   f"{_enumerate(labels)}.")
    return text


def fiche_timeline_text(fiche: Fiche) -> str:
    """How its number of actions moved since it joined (or since the data starts)."""
    timeline, adhesion = fiche.timeline, fiche.commune["date_adhesion"]
    first, last = timeline.row(0, named=True), timeline.row(-1, named=True)
    if adhesion.year >= fiche.dataset.first_year:
        since = f"Depuis son adhésion le {fr_date(adhesion)}"
    else:
        since = f"Depuis {first['annee']}, première année des données"
    if timeline.height == 1:
        return _p(f"{since} : {plural(last['nb_actions'], 'action', 'actions')} au "
                  f"{fr_date(fiche.reference)}, pas encore d’évolution à montrer.")
    text = (f"{since}, son nombre d’actions est passé de {fr_int(first['nb_actions'])} "
            f"({first['annee']}) à {fr_int(last['nb_actions'])} ({last['annee']}) ; "
            f"la moyenne des communes membres de {_mean_text(first['moyenne_communes'])} "
            f"à {_mean_text(last['moyenne_communes'])}")
    if last["moyenne_strate"] is not None:
        text += (f", celle des communes de {escape(fiche.size_class)} de "
                 f"{_mean_text(first['moyenne_strate'])} à {_mean_text(last['moyenne_strate'])}")
    return _p(text + ".")


def fiche_peers_text(fiche: Fiche) -> str:
    """The comparison with the member communes of the same size class."""
    peers, name = fiche.peers, escape(fiche.name)
    if peers["rang"] is None:
        return _p(fiche_rank(fiche))
    population = plural(fiche.commune["population"], "habitant", "habitants")
    classe = escape(peers["classe"])
    if peers["communes"] == 1:
        return _p(f"{name} ({population}) est la seule commune membre de {classe} au "
                  f"{fr_date(fiche.reference)} : pas de comparaison possible.")
    n, mean = fiche.indicators["nb_actions"], peers["moyenne"]
    position = ("au-dessus de" if n > mean else "en dessous de" if n < mean else "égal à")
    rank = _ordinal(peers["rang"])
    if peers["ex_aequo"]:
        rank += (f" ex aequo avec {plural(peers['ex_aequo'], 'autre commune', 'autres communes')}")
    return _p(
        f"{name} ({population}) compte parmi les {fr_int(peers['communes'])} communes membres "
        f"de {classe} au {fr_date(fiche.reference)}. Elles participent en moyenne à "
        f"{_mean_text(mean)} actions déployées (de {fr_int(peers['minimum'])} à "
        f"{fr_int(peers['maximum'])}). Avec {plural(n, 'action', 'actions')}, {name} se classe "
        f"{rank} ; son nombre d’actions est {position} la moyenne de ces communes."
    )


def fiche_available_text(fiche: Fiche, shown: int = 3) -> str:
    """The deployed actions it could still join, the most followed ones named."""
    available, name = fiche.available, escape(fiche.name)
    if fiche.indicators["actions_deployees"] == 0:
        return _p(f"Aucune action n’est encore déployée au {fr_date(fiche.reference)}.")
    if available.is_empty():
        return _p(f"{name} participe déjà à toutes les actions déployées.")
    top = [f"{escape(label)} ({plural(k, 'commune', 'communes')})"
           for label, k in available.head(shown).select("libelle", "nb_communes").iter_rows()]
    noun = plural(available.height, "action déployée lui est ouverte",
                  "actions déployées lui sont ouvertes")
    most = "la plus suivie" if len(top) == 1 else "les plus suivies"
    return _p(f"{noun} sans qu’elle y participe encore ; {most} par les communes membres : "
              f"{_enumerate(top)}.")


def fiche_actions_table(fiche: Fiche) -> pl.DataFrame:
    """Its actions as shown to readers (French headers and dates)."""
    frame = fiche.actions
    return pl.DataFrame({
        "Action": frame["libelle"],
        "Domaine": frame["domaine"].fill_null(NO_DOMAIN),
        "Déployée le": [fr_date(d) for d in frame["date_deploiement"]],
        "Participation depuis le": [fr_date(d) for d in frame["depuis"]],
    }, schema={c: pl.String for c in ("Action", "Domaine", "Déployée le",
                                      "Participation depuis le")})


def fiche_available_table(fiche: Fiche) -> pl.DataFrame:
    """The actions it could still join as shown to readers (French headers and dates)."""
    frame = fiche.available
    return pl.DataFrame({
        "Action": frame["libelle"],
        "Domaine": frame["domaine"].fill_null(NO_DOMAIN),
        "Déployée le": [fr_date(d) for d in frame["date_deploiement"]],
        "Communes participantes": [fr_int(n) for n in frame["nb_communes"]],
    }, schema={c: pl.String for c in ("Action", "Domaine", "Déployée le",
                                      "Communes participantes")})


def fiche_notes(fiche: Fiche) -> str:
    """Data summary and notes of the sheet's annex."""
    from .charts import size_classes  # Altair's import cost only for sheets

    ds = fiche.dataset
    items = [
        f"Données complètes de {ds.first_year} à {ds.last_year} ; date de référence : "
        f"{fr_date(fiche.reference)} inclus, et le 31 décembre de chaque année pour "
        "l’historique.",
        "Les moyennes portent sur toutes les communes membres au 31 décembre de l’année, "
        "la commune comprise ; elles sont arrondies au dixième dans le texte.",
        "Taille des communes : population municipale des données, en tranches ("
        + "&#8239;; ".join(escape(label) for label in size_classes()) + ").",
    ]
    if ds.illustrative:
        items.append("Les données sont illustratives : " + escape(ds.description))
    return "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


__all__ += ["fiche_actions_table", "fiche_actions_text", "fiche_available_table",
            "fiche_available_text", "fiche_headline", "fiche_notes", "fiche_peers_text",
            "fiche_rank", "fiche_timeline_text", "fiche_title"]


def fiche_heading(fiche: Fiche) -> str:
    """The sheet's title as the page's first heading (the commune's name escaped)."""
    return f"<h1>{escape(fiche_title(fiche))}</h1>"


__all__ += ["fiche_heading"]
