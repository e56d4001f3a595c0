"""The words of the commune sheet (:mod:`mutualisation.compute.fiche`), as small HTML
fragments, escaped like those of :mod:`mutualisation.present.bilan_text`.
"""

from __future__ import annotations

from html import escape

import polars as pl

from mutualisation.compute.fiche import Fiche
from mutualisation.compute.indicators import NO_DOMAIN
from mutualisation.compute.population import NO_FORM
from mutualisation.compute.sizes import size_classes
from mutualisation.formatting import (
    agree,
    fr_date,
    fr_decimal,
    fr_int,
    plural,
    sort_key,
)
from mutualisation.present.bilan_text import enumeration, paragraph


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
    return f"<h2>{head}</h2>" + paragraph(fiche_rank(fiche), "chapeau")


def _legal_forms_text(fiche: Fiche) -> str:
    """The legal forms of the deployed actions it takes part in ("" when the data gives no
    legal form)."""
    forms = fiche.dataset.actions.select("action_id", "forme_juridique")
    if forms["forme_juridique"].null_count() == forms.height:
        return ""
    counted = (fiche.actions.select("action_id").join(forms, on="action_id")
               .with_columns(pl.col("forme_juridique").fill_null(NO_FORM))
               .group_by("forme_juridique").len()
               .sort(["len", "forme_juridique"], descending=[True, False]))
    parts = [f"{escape(form)} ({fr_int(n)})" for form, n in counted.iter_rows()]
    return paragraph(f"Formes juridiques de ces actions : {enumeration(parts)}.")


def fiche_actions_text(fiche: Fiche) -> str:
    """Its actions by domain, those joined during the year, those not deployed yet."""
    actions, name = fiche.actions, escape(fiche.name)
    day = fr_date(fiche.reference)
    if actions.is_empty():
        text = paragraph(f"Au {day}, {name} ne participe à aucune action déployée.")
    else:
        domains = (actions.with_columns(pl.col("domaine").fill_null(NO_DOMAIN))
                   .group_by("domaine").agg(pl.len().alias("n")))
        counted = sorted(domains.iter_rows(), key=lambda row: (-row[1], sort_key(row[0])))
        parts = [f"{escape(d)} ({fr_int(k)})" for d, k in counted]
        text = paragraph(f"Au {day}, {name} participe à "
                  f"{plural(actions.height, 'action déployée', 'actions déployées')}, "
                  f"dans {plural(domains.height, 'domaine', 'domaines')} : "
                  f"{enumeration(parts)}.")
        text += _legal_forms_text(fiche)
        joined = actions.filter(pl.col("depuis").dt.year() == fiche.year).sort("libelle")
        if joined.height:
            labels = [escape(label) for label in joined["libelle"]]
            text += paragraph(f"En {fiche.year}, elle a rejoint "
                       f"{plural(joined.height, 'action', 'actions')} : {enumeration(labels)}.")
        text += fiche_inherited_text(fiche)
    pending = fiche.pending
    if pending.height:
        labels = [escape(label) for label in pending.sort("libelle")["libelle"]]
        noun = plural(pending.height, "action inscrite", "actions inscrites")
        waiting = agree(pending.height, "pas encore déployée", "pas encore déployées")
        text += paragraph(f"Elle participe aussi à {noun} mais {waiting}, non "
                   f"{agree(pending.height, 'comptée', 'comptées')} ici : "
                   f"{enumeration(labels)}.")
    return text


def fiche_inherited_text(fiche: Fiche) -> str:
    """For a commune nouvelle: the actions it took over from the communes it absorbed,
    from which and since when (DESIGN's mergers); empty for any other commune."""
    inherited = fiche.inherited
    if inherited.is_empty():
        return ""
    items = []
    for (_action, label), group in inherited.group_by(["action_id", "libelle"],
                                                      maintain_order=True):
        origins = enumeration([escape(nom or code) for code, nom in
                               group.select("code_origine", "nom_origine").iter_rows()])
        items.append(f"{escape(label)} (de {origins}, depuis la fusion du "
                     f"{fr_date(group['depuis'][0])})")
    count = plural(len(items), "participation reprise", "participations reprises")
    return paragraph(f"Commune nouvelle, {escape(fiche.name)} poursuit {count} des communes "
                     f"qu’elle a absorbées : {enumeration(items)}.")


def fiche_timeline_text(fiche: Fiche) -> str:
    """How its number of actions moved since it joined (or since the data starts)."""
    timeline, adhesion = fiche.timeline, fiche.commune["date_adhesion"]
    first, last = timeline.row(0, named=True), timeline.row(-1, named=True)
    if adhesion.year >= fiche.dataset.first_year:
        since = f"Depuis son adhésion le {fr_date(adhesion)}"
    else:
        since = f"Depuis {first['annee']}, première année des données"
    if timeline.height == 1:
        return paragraph(f"{since} : {plural(last['nb_actions'], 'action', 'actions')} au "
                  f"{fr_date(fiche.reference)}, pas encore d’évolution à montrer.")
    text = (f"{since}, son nombre d’actions est passé de {fr_int(first['nb_actions'])} "
            f"({first['annee']}) à {fr_int(last['nb_actions'])} ({last['annee']}) ; "
            f"la moyenne des communes membres de {_mean_text(first['moyenne_communes'])} "
            f"à {_mean_text(last['moyenne_communes'])}")
    if last["moyenne_strate"] is not None:
        text += (f", celle des communes de {escape(fiche.size_class)} de "
                 f"{_mean_text(first['moyenne_strate'])} à {_mean_text(last['moyenne_strate'])}")
    return paragraph(text + ".")


def fiche_peers_text(fiche: Fiche) -> str:
    """The comparison with the member communes of the same size class."""
    peers, name = fiche.peers, escape(fiche.name)
    if peers["rang"] is None:
        return paragraph(fiche_rank(fiche))
    population = plural(fiche.commune["population"], "habitant", "habitants")
    classe = escape(peers["classe"])
    if peers["communes"] == 1:
        return paragraph(f"{name} ({population}) est la seule commune membre de {classe} au "
                  f"{fr_date(fiche.reference)} : pas de comparaison possible.")
    n, mean = fiche.indicators["nb_actions"], peers["moyenne"]
    position = ("au-dessus de" if n > mean else "en dessous de" if n < mean else "égal à")
    rank = _ordinal(peers["rang"])
    if peers["ex_aequo"]:
        rank += (f" ex aequo avec {plural(peers['ex_aequo'], 'autre commune', 'autres communes')}")
    return paragraph(
        f"{name} ({population}) compte parmi les {fr_int(peers['communes'])} communes membres "
        f"de {classe} au {fr_date(fiche.reference)}. Elles participent en moyenne à "
        f"{plural(mean, 'action déployée', 'actions déployées', 1)} "
        f"(de {fr_int(peers['minimum'])} à "
        f"{fr_int(peers['maximum'])}). Avec {plural(n, 'action', 'actions')}, {name} se classe "
        f"{rank} ; son nombre d’actions est {position} la moyenne de ces communes."
    )


def fiche_available_text(fiche: Fiche, shown: int = 3) -> str:
    """The deployed actions it could still join, the most followed ones named."""
    available, name = fiche.available, escape(fiche.name)
    if fiche.indicators["actions_deployees"] == 0:
        return paragraph(f"Aucune action n’est encore déployée au {fr_date(fiche.reference)}.")
    if available.is_empty():
        return paragraph(f"{name} participe déjà à toutes les actions déployées.")
    top = [f"{escape(label)} ({plural(k, 'commune', 'communes')})"
           for label, k in available.head(shown).select("libelle", "nb_communes").iter_rows()]
    noun = plural(available.height, "action déployée lui est ouverte",
                  "actions déployées lui sont ouvertes")
    most = agree(len(top), "la plus suivie", "les plus suivies")
    return paragraph(f"{noun} sans qu’elle y participe encore ; {most} par les communes membres : "
              f"{enumeration(top)}.")


def fiche_actions_table(fiche: Fiche) -> pl.DataFrame:
    """Its actions as shown to readers (French headers and dates); for a commune nouvelle,
    a last column names the absorbed communes whose participation it took over."""
    frame = fiche.actions
    table = pl.DataFrame({
        "Action": frame["libelle"],
        "Domaine": frame["domaine"].fill_null(NO_DOMAIN),
        "Déployée le": [fr_date(d) for d in frame["date_deploiement"]],
        "Participation depuis le": [fr_date(d) for d in frame["depuis"]],
    }, schema={c: pl.String for c in ("Action", "Domaine", "Déployée le",
                                      "Participation depuis le")})
    if fiche.inherited.is_empty():
        return table
    origins = dict(
        fiche.inherited.group_by("action_id", maintain_order=True)
        .agg(pl.format("{} ({})", pl.col("nom_origine").fill_null(pl.col("code_origine")),
                       "code_origine").alias("origine"))
        .select("action_id", pl.col("origine").list.join(", ")).iter_rows())
    return table.with_columns(pl.Series(
        "Reprise de", [origins.get(a, "") for a in frame["action_id"]], dtype=pl.String))


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


def fiche_heading(fiche: Fiche) -> str:
    """The sheet's title as the page's first heading (the commune's name escaped)."""
    return f"<h1>{escape(fiche_title(fiche))}</h1>"
