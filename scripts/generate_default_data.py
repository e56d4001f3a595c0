"""Generate the default (MEL) data set of the workspace in ``data/``.

Real: the 95 communes of the Métropole Européenne de Lille, their population and
their membership dates; the public actions of the schéma de mutualisation.
Illustrative: the other actions and every participation, drawn with a fixed seed
so that the yearly figures reproduce the MEL's published bilan of December 2019.

Usage::

    python scripts/generate_default_data.py [--reference DIR] [--out DIR]

Running it twice gives byte-identical files. It ends by checking, from the files
it wrote, every calibration target (an ``AssertionError`` names the one missed).
Standard library and Polars only.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import shutil
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parents[1]
SEED = 2019

FIRST_YEAR, LAST_YEAR = 2015, 2019
END = date(LAST_YEAR, 12, 31)
SCHEMA_ADOPTED = date(2015, 6, 19)

# --------------------------------------------------------------------------- communes

ADHESION_2015 = date(2015, 1, 1)
WEPPES = ("59025", "59088", "59257", "59371", "59487")
ADHESION_WEPPES = date(2017, 1, 1)
HAUTE_DEULE = ("59005", "59011", "59052", "59133", "59477")
ADHESION_HAUTE_DEULE = date(2020, 3, 14)

# ---------------------------------------------------------------------------- actions


@dataclass(frozen=True)
class Action:
    action_id: str
    libelle: str
    date_inscription: date
    date_deploiement: date | None
    domaine: str
    source: str  # "public" or "illustratif"


def _d(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


# fmt: off
_ACTIONS_TABLE: list[tuple[str, str, str, str | None, str, str]] = [
    # id, libellé, inscription, déploiement, domaine, source
    # -- inscribed when the schéma was adopted (19 June 2015)
    ("ADS", "Service instructeur des autorisations du droit des sols",
     "2015-06-19", "2015-07-01", "urbanisme", "public"),
    ("AJU", "Assistance juridique aux communes",
     "2015-06-19", "2015-09-01", "juridique", "illustratif"),
    ("FOR", "Formation mutualisée des agents",
     "2015-06-19", "2015-09-14", "ressources humaines", "illustratif"),
    ("GCF", "Groupement de commandes de fournitures administratives",
     "2015-06-19", "2015-10-01", "achats", "illustratif"),
    ("CPU", "Appui à la commande publique",
     "2015-06-19", "2015-10-01", "achats", "illustratif"),
    ("DEM", "Plateforme de dématérialisation des marchés publics",
     "2015-06-19", "2015-11-02", "numérique", "illustratif"),
    ("SIG", "Système d'information géographique partagé",
     "2015-06-19", "2015-11-02", "numérique", "illustratif"),
    ("GCE", "Groupement de commandes d'électricité et de gaz",
     "2015-06-19", "2015-12-01", "énergie", "illustratif"),
    ("MPR", "Médecine préventive",
     "2015-06-19", "2016-01-04", "ressources humaines", "illustratif"),
    ("CEP", "Conseil en énergie partagé",
     "2015-06-19", "2016-03-01", "énergie", "illustratif"),
    ("ARC", "Service commun d'archivage",
     "2015-06-19", "2016-05-02", "patrimoine", "illustratif"),
    ("NUM", "Services numériques mutualisés (hébergement, messagerie)",
     "2015-06-19", "2016-09-01", "numérique", "illustratif"),
    ("REM", "Service de remplacement des agents",
     "2015-06-19", "2017-01-02", "ressources humaines", "illustratif"),
    ("MAT", "Prêt de matériel événementiel",
     "2015-06-19", "2017-04-03", "patrimoine", "illustratif"),
    ("FOU", "Fourrière animale mutualisée",
     "2015-06-19", "2018-01-02", "sécurité", "illustratif"),
    # -- inscribed in 2016
    ("EVD", "Gestion différenciée des espaces verts",
     "2016-06-24", "2017-03-01", "environnement", "illustratif"),
    ("PAI", "Service commun de paie",
     "2016-06-24", "2017-09-01", "ressources humaines", "illustratif"),
    ("TEL", "Groupement de commandes de téléphonie",
     "2016-10-14", "2018-01-02", "achats", "illustratif"),
    ("HYG", "Service d'hygiène et de salubrité de l'habitat",
     "2016-10-14", "2018-06-01", "habitat", "illustratif"),
    ("ENT", "Entretien mutualisé des bâtiments communaux",
     "2016-12-16", None, "patrimoine", "illustratif"),
    ("IRV", "Infrastructures de recharge pour véhicules électriques",
     "2016-12-16", None, "énergie", "illustratif"),
    # -- inscribed in 2017
    ("ADP", "Diagnostics d'accessibilité des bâtiments communaux (Ad'AP)",
     "2017-03-31", "2018-09-03", "urbanisme", "illustratif"),
    ("VET", "Groupement de commandes de vêtements de travail",
     "2017-06-23", None, "achats", "illustratif"),
    ("DEC", "Collecte des déchets des services municipaux",
     "2017-06-23", None, "environnement", "illustratif"),
    ("AJE", "Contrôle des aires de jeux et équipements sportifs",
     "2017-10-13", None, "sécurité", "illustratif"),
    ("ERP", "Préparation des commissions de sécurité des ERP",
     "2017-12-15", None, "sécurité", "illustratif"),
    # -- inscribed in 2018
    ("RGPD", "Service unifié RGPD",
     "2018-04-06", "2019-02-01", "juridique", "public"),
    ("AST", "Mutualisation des assurances",
     "2018-06-29", "2019-01-01", "achats", "public"),
    ("CEE", "Valorisation des Certificats d'Économie d'Énergie",
     "2018-06-29", "2019-07-01", "énergie", "public"),
    ("PDL", "Permis de louer",
     "2018-06-29", "2019-04-01", "habitat", "public"),
    ("CAM", "Centrale d'Achats Métropolitaine",
     "2018-10-19", "2019-01-01", "achats", "public"),
    ("ACT", "Télétransmission des actes au contrôle de légalité",
     "2018-12-14", None, "numérique", "illustratif"),
    # -- inscribed in 2019
    ("ACF", "Inspection en santé et sécurité au travail (ACFI) mutualisée",
     "2019-04-05", None, "ressources humaines", "illustratif"),
    ("ODC", "Ouverture des données publiques communales",
     "2019-06-28", None, "numérique", "illustratif"),
    ("RCL", "Restauration collective favorisant le local et le bio",
     "2019-06-28", None, "environnement", "public"),
    ("ARB", "Gestion du patrimoine arboré",
     "2019-10-11", None, "environnement", "illustratif"),
    ("PSM", "Plan de sauvegarde métropolitain",
     "2019-10-11", None, "sécurité", "public"),
]
# fmt: on

ACTIONS: list[Action] = [
    Action(i, lib, _d(ins), _d(dep), dom, src)  # type: ignore[arg-type]
    for i, lib, ins, dep, dom, src in _ACTIONS_TABLE
]
BY_ID: dict[str, Action] = {a.action_id: a for a in ACTIONS}

# Legal form of each action (vocabulary of mutualisation.data.vocabulary), and where it comes
# from: "libellé" when the action's public name says it (« Service unifié RGPD »,
# « Groupement de commandes … », « Service commun … », « Plateforme … »), "illustratif" when
# it is a plausible choice made for the example (data/README.md says so).
# fmt: off
FORMES: dict[str, tuple[str, str]] = {
    "ADS": ("service commun", "illustratif"),
    "AJU": ("prestation de services", "illustratif"),
    "FOR": ("prestation de services", "illustratif"),
    "GCF": ("groupement de commandes", "libellé"),
    "CPU": ("mise à disposition de service", "illustratif"),
    "DEM": ("plateforme de services", "libellé"),
    "SIG": ("plateforme de services", "illustratif"),
    "GCE": ("groupement de commandes", "libellé"),
    "MPR": ("service commun", "illustratif"),
    "CEP": ("mise à disposition de service", "illustratif"),
    "ARC": ("service commun", "libellé"),
    "NUM": ("plateforme de services", "illustratif"),
    "REM": ("mise à disposition de personnel", "illustratif"),
    "MAT": ("coopération entre communes", "illustratif"),
    "FOU": ("entente", "illustratif"),
    "EVD": ("prestation de services", "illustratif"),
    "PAI": ("service commun", "libellé"),
    "TEL": ("groupement de commandes", "libellé"),
    "HYG": ("mise à disposition de service", "illustratif"),
    "ENT": ("prestation de services", "illustratif"),
    "IRV": ("groupement de commandes", "illustratif"),
    "ADP": ("groupement de commandes", "illustratif"),
    "VET": ("groupement de commandes", "libellé"),
    "DEC": ("prestation de services", "illustratif"),
    "AJE": ("groupement de commandes", "illustratif"),
    "ERP": ("mise à disposition de service", "illustratif"),
    "RGPD": ("service unifié", "libellé"),
    "AST": ("groupement de commandes", "illustratif"),
    "CEE": ("plateforme de services", "illustratif"),
    "PDL": ("prestation de services", "illustratif"),
    "CAM": ("autre", "libellé"),
    "ACT": ("plateforme de services", "illustratif"),
    "ACF": ("service commun", "illustratif"),
    "ODC": ("plateforme de services", "illustratif"),
    "RCL": ("coopération entre communes", "illustratif"),
    "ARB": ("service commun", "illustratif"),
    "PSM": ("coopération entre communes", "illustratif"),
}
# fmt: on

# The populations by year: every edition of the official reference shipped with the package
# that gives one (DGCL's EPCI files, 2021 onwards).
REFERENCE_MEMBERS = REPO / "lib" / "mutualisation" / "referentiel" / "membres.parquet"

# Actions whose participants are fixed below, not drawn with the others.
CONTROLLED = ("ADS", "CAM", "PDL", "RGPD")

# Relative popularity of the other deployed actions, and whether they suit small
# communes ("petite"), big ones ("grande") or both ("toutes").
POPULARITY: dict[str, tuple[float, str]] = {
    "AJU": (5.0, "petite"),
    "FOR": (8.0, "toutes"),
    "GCF": (8.0, "toutes"),
    "CPU": (5.0, "petite"),
    "DEM": (6.0, "grande"),
    "SIG": (5.0, "grande"),
    "GCE": (8.0, "toutes"),
    "MPR": (6.0, "petite"),
    "CEP": (3.0, "petite"),
    "ARC": (3.0, "petite"),
    "NUM": (4.0, "petite"),
    "REM": (2.0, "petite"),
    "MAT": (5.0, "toutes"),
    "FOU": (5.0, "toutes"),
    "EVD": (2.5, "toutes"),
    "PAI": (1.5, "petite"),
    "TEL": (4.0, "grande"),
    "HYG": (2.0, "grande"),
    "ADP": (3.0, "toutes"),
    "AST": (4.0, "toutes"),
    "CEE": (3.0, "grande"),
}

# ------------------------------------------------------------------ calibration targets

TARGETS = {
    "inscrites_fin_2015": 15,
    "membres_fin_2019": 90,
    "inscrites_fin_2019": 37,
    "deployees_fin_2019": 25,
    "deployees_en_2019": ["AST", "CAM", "CEE", "PDL", "RGPD"],
    "deployees_par_annee": {2015: 8, 2016: 12, 2017: 16, 2018: 20, 2019: 25},
    "communes_5_actions_fin_2019": 86,
    "pdl_debut_2019_04_01": 22,
    "ads_actives_fin_2019": 21,
    "cam_actives_fin_2019": 61,
    "rgpd_actives_fin_2019": 44,
}

# Permis de louer: the reference file lists the 27 communes of 2023; the rows saying
# "dispositif depuis 2019-04-01" are the launch communes. The MEL announced 22 at
# launch; when the file gives fewer, these complete the list, in this order
# (Wambrechies: named among the 22 by CNL 59, after La Voix du Nord, 22/12/2022).
PDL_LAUNCH = date(2019, 4, 1)
PDL_COMPLEMENT = ("59636",)

# ADS: 16 communes at launch (1 July 2015), 2 in 2016, 2 Weppes communes in 2017,
# 1 in 2018; 1 launch commune leaves on 1 January 2018: 21 active at end 2019.
ADS_LAUNCH_N, ADS_2016_N, ADS_WEPPES_N, ADS_2018_N = 16, 2, 2, 1

# The 4 member communes with fewer than 5 actions at the end of 2019.
LOW_COUNTS = (2, 3, 3, 4)


# -------------------------------------------------------------------------- helpers


def month_starts(first: date, last: date) -> list[date]:
    """First days of month m with first <= m <= last."""
    out = []
    y, m = first.year, first.month
    if first.day != 1:
        m += 1
        if m == 13:
            y, m = y + 1, 1
    while date(y, m, 1) <= last:
        out.append(date(y, m, 1))
        m += 1
        if m == 13:
            y, m = y + 1, 1
    return out


def weighted_sample(rng: random.Random, items: list[str], weights: dict[str, float], k: int):
    """k distinct items, drawn without replacement with the given weights (A-ES keys)."""
    keyed = sorted(
        ((rng.random() ** (1.0 / weights[it]), it) for it in items),
        key=lambda t: (-t[0], t[1]),
    )
    return [it for _, it in keyed[:k]]


def read_reference(reference: Path) -> tuple[list[dict], list[dict]]:
    with (reference / "mel_communes.csv").open(encoding="utf-8", newline="") as f:
        communes = list(csv.DictReader(f))
    with (reference / "mel_permis_de_louer_2023.csv").open(encoding="utf-8", newline="") as f:
        pdl = list(csv.DictReader(f))
    return communes, pdl


# ------------------------------------------------------------------------ generation


def build_communes(reference_rows: list[dict]) -> list[dict]:
    rows = []
    for r in sorted(reference_rows, key=lambda r: r["code_insee"]):
        code = r["code_insee"]
        if code in WEPPES:
            adhesion = ADHESION_WEPPES
        elif code in HAUTE_DEULE:
            adhesion = ADHESION_HAUTE_DEULE
        else:
            adhesion = ADHESION_2015
        rows.append(
            {
                "code_insee": code,
                "nom": r["nom"],
                "date_adhesion": adhesion,
                "date_sortie": None,
                "population": int(r["population_municipale"]),
                "vague_adhesion": r["vague_adhesion"],
            }
        )
    assert len(rows) == 95, f"mel_communes.csv: 95 communes attendues, {len(rows)} lues"
    return rows


def pdl_launch_communes(pdl_rows: list[dict], member_codes: list[str]) -> tuple[list[str], str]:
    """The 22 launch communes of the Permis de louer and a note on how they were chosen."""
    launch = sorted(
        r["code_insee"] for r in pdl_rows if "2019-04-01" in r["dans_le_dispositif_depuis"]
    )
    n = TARGETS["pdl_debut_2019_04_01"]
    note = f"{len(launch)} lignes « depuis 2019-04-01 » dans mel_permis_de_louer_2023.csv"
    if len(launch) > n:
        launch = launch[:n]
        note += f"; les {n} premières par code INSEE sont retenues"
    elif len(launch) < n:
        added = [c for c in PDL_COMPLEMENT if c not in launch][: n - len(launch)]
        launch = sorted(launch + added)
        note += f"; complétées par {', '.join(added)}"
    assert len(launch) == n and all(c in member_codes for c in launch), note
    return launch, note


def generate(communes: list[dict], pdl_rows: list[dict]) -> tuple[list[dict], str]:
    rng = random.Random(SEED)
    pop = {c["code_insee"]: c["population"] for c in communes}
    adhesion = {c["code_insee"]: c["date_adhesion"] for c in communes}
    members = [c["code_insee"] for c in communes if c["date_adhesion"] <= END]  # 90, sorted
    founders = [c for c in members if adhesion[c] == ADHESION_2015]  # 85
    weppes = [c for c in members if c in WEPPES]

    pdl, pdl_note = pdl_launch_communes(pdl_rows, members)

    # -- the 4 communes under 5 actions at the end of 2019: small communes outside PDL
    small = [c for c in members if pop[c] < 2000 and c not in pdl]
    low = sorted(rng.sample(small, len(LOW_COUNTS)))
    rng_low_counts = list(LOW_COUNTS)
    rng.shuffle(rng_low_counts)
    target_n = dict(zip(low, rng_low_counts, strict=True))

    # -- ADS: communes under 12,000 inhabitants, outside PDL and the low ones
    ads_pool = [c for c in founders if pop[c] < 12000 and c not in pdl and c not in low]
    ads_founders = rng.sample(ads_pool, ADS_LAUNCH_N + ADS_2016_N + ADS_2018_N + 1)
    ads_launch = sorted(ads_founders[:ADS_LAUNCH_N])
    ads_2016 = sorted(ads_founders[ADS_LAUNCH_N : ADS_LAUNCH_N + ADS_2016_N])
    ads_2018 = sorted(ads_founders[ADS_LAUNCH_N + ADS_2016_N : -1])
    ads_leaver = ads_founders[-1]  # in from the launch, leaves on 2018-01-01
    ads_weppes = sorted(rng.sample([c for c in weppes if c not in low], ADS_WEPPES_N))
    ads_final = sorted(ads_launch + ads_2016 + ads_2018 + ads_weppes)

    # -- CAM and RGPD (deployed 2019): weighted by size, never the low communes
    pool = [c for c in members if c not in low]
    cam = sorted(
        weighted_sample(
            rng, pool, {c: math.log10(pop[c]) ** 2 for c in pool}, TARGETS["cam_actives_fin_2019"]
        )
    )
    rgpd = sorted(
        weighted_sample(
            rng,
            pool,
            {c: 2.0 if pop[c] < 10000 else 1.0 for c in pool},
            TARGETS["rgpd_actives_fin_2019"],
        )
    )

    fixed: dict[str, list[str]] = {c: [] for c in members}
    for aid, group in (("ADS", ads_final), ("CAM", cam), ("PDL", pdl), ("RGPD", rgpd)):
        for c in group:
            fixed[c].append(aid)

    deployed = [a for a in ACTIONS if a.date_deploiement is not None]
    free = sorted(a.action_id for a in deployed if a.action_id not in CONTROLLED)
    assert sorted(POPULARITY) == free, "POPULARITY must list every free deployed action"

    def early_set(c: str) -> list[str]:
        """Free actions that give commune c its 2 actions in its first year of the count."""
        limit = date(2016, 12, 31) if adhesion[c] == ADHESION_2015 else date(2017, 12, 31)
        return [a for a in free if BY_ID[a].date_deploiement <= limit]

    def weights_for(c: str) -> dict[str, float]:
        w = {}
        for a, (base, kind) in POPULARITY.items():
            factor = 1.0
            if kind == "petite":
                factor = 1.6 if pop[c] < 5000 else 0.7
            elif kind == "grande":
                factor = 1.6 if pop[c] >= 15000 else 0.6
            w[a] = base * factor
        return w

    # -- number of actions of each commune at the end of 2019 (bigger -> more)
    for c in members:
        if c in target_n:
            continue
        noise = rng.choice((-1, 0, 0, 1, 1, 2))
        n = round(5 + 3.6 * math.log10(pop[c] / 1000) + noise)
        target_n[c] = max(5, min(15, n))

    # -- the set of actions of each commune at the end of 2019
    final: dict[str, list[str]] = {}
    guarantee: dict[str, list[str]] = {}
    for c in members:
        chosen = list(fixed[c])
        early_fixed = [a for a in chosen if a == "ADS"]
        need_early = max(0, 2 - len(early_fixed))
        w = weights_for(c)
        early = weighted_sample(rng, early_set(c), w, need_early)
        chosen += early
        guarantee[c] = early_fixed + early
        k = target_n[c] - len(chosen)
        assert k >= 0, f"commune {c}: {len(chosen)} actions imposées > cible {target_n[c]}"
        rest = [a for a in free if a not in chosen]
        chosen += weighted_sample(rng, rest, w, k)
        final[c] = sorted(chosen)

    # -- start dates
    rows: list[dict] = []

    def start_date(c: str, a: str, bound: date | None = None) -> date:
        act = BY_ID[a]
        earliest = max(act.date_deploiement, adhesion[c])
        last = bound if bound is not None else date(2019, 12, 1)
        if rng.random() < 0.45:
            return earliest
        months = month_starts(earliest, last)
        if not months:
            return earliest
        # earlier months a bit more likely: joining soon after the launch
        weights = [1.0 / (1 + i / 12) for i in range(len(months))]
        return rng.choices(months, weights=weights, k=1)[0]

    for c in members:
        for a in final[c]:
            if a == "PDL":
                start = PDL_LAUNCH
            elif a == "ADS":
                if c in ads_launch:
                    start = BY_ID["ADS"].date_deploiement
                elif c in ads_2016:
                    start = date(2016, 1, 1)
                elif c in ads_weppes:
                    start = ADHESION_WEPPES
                else:
                    start = date(2018, 1, 1)
            elif a in ("CAM", "AST"):
                start = (
                    date(2019, 1, 1)
                    if rng.random() < 0.7
                    else rng.choice(month_starts(date(2019, 2, 1), date(2019, 12, 1)))
                )
            elif a == "RGPD":
                start = rng.choice(month_starts(date(2019, 2, 1), date(2019, 12, 1))[:8])
            elif a == "HYG" and rng.random() < 0.3:
                # committed before the service opened (after its inscription)
                start = date(2018, 1, 1)
            elif a in guarantee[c]:
                bound = date(2016, 12, 31) if adhesion[c] == ADHESION_2015 else date(2017, 12, 31)
                if c in low:  # the smallest communes come in during 2016 only
                    bound_first = max(BY_ID[a].date_deploiement, date(2016, 1, 1), adhesion[c])
                    start = rng.choice(month_starts(bound_first, bound) or [bound_first])
                else:
                    start = start_date(c, a, bound)
            else:
                start = start_date(c, a)
            rows.append({"code_insee": c, "action_id": a, "date_debut": start, "date_fin": None})

    # ADS leaver
    rows.append(
        {
            "code_insee": ads_leaver,
            "action_id": "ADS",
            "date_debut": BY_ID["ADS"].date_deploiement,
            "date_fin": date(2018, 1, 1),
        }
    )

    # -- movements: communes that left an action (and did not come back)
    index = {(r["code_insee"], r["action_id"]): r for r in rows}
    leave_candidates = [
        (c, a)
        for c in founders
        if c not in low
        for a in free
        if BY_ID[a].date_deploiement <= date(2016, 12, 31) and a not in final[c]
    ]
    leavers = rng.sample(leave_candidates, 6)
    end_choices = [
        date(2017, 1, 1),
        date(2017, 7, 1),
        date(2018, 1, 1),
        date(2018, 7, 1),
        date(2019, 1, 1),
        date(2019, 7, 1),
    ]
    for (c, a), fin in zip(sorted(leavers), end_choices, strict=True):
        debut = start_date(c, a, date(2016, 12, 1))
        assert debut < fin
        rows.append({"code_insee": c, "action_id": a, "date_debut": debut, "date_fin": fin})

    # -- movements: communes that left an action and came back later (two rows)
    restart_candidates = sorted(
        (c, a)
        for c in founders
        if c not in low
        for a in final[c]
        if a in free and a not in guarantee[c] and BY_ID[a].date_deploiement <= date(2016, 1, 4)
    )
    restarts = sorted(rng.sample(restart_candidates, 3))
    for (c, a), (fin, retour) in zip(
        restarts,
        (
            (date(2017, 1, 1), date(2018, 9, 1)),
            (date(2017, 7, 1), date(2019, 1, 1)),
            (date(2018, 1, 1), date(2019, 3, 1)),
        ),
        strict=True,
    ):
        first = index[(c, a)]
        first["date_debut"] = BY_ID[a].date_deploiement
        first["date_fin"] = fin
        rows.append({"code_insee": c, "action_id": a, "date_debut": retour, "date_fin": None})

    # -- a few communes already engaged in the restauration collective (not deployed)
    rcl = sorted(weighted_sample(rng, pool, {c: math.log10(pop[c]) for c in pool}, 5))
    for c in rcl:
        rows.append(
            {"code_insee": c, "action_id": "RCL", "date_debut": date(2019, 11, 1), "date_fin": None}
        )

    rows.sort(key=lambda r: (r["code_insee"], r["action_id"], r["date_debut"]))
    return rows, pdl_note


# --------------------------------------------------------------------------- writing


def write_tables(out: Path, communes: list[dict], participations: list[dict]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    csv_opts = {"date_format": "%Y-%m-%d", "null_value": "", "line_terminator": "\n"}

    pl.DataFrame(
        communes,
        schema={
            "code_insee": pl.String,
            "nom": pl.String,
            "date_adhesion": pl.Date,
            "date_sortie": pl.Date,
            "population": pl.Int64,
            "vague_adhesion": pl.String,
        },
    ).sort("code_insee").write_csv(out / "communes.csv", **csv_opts)

    pl.DataFrame(
        [
            {
                "action_id": a.action_id,
                "libelle": a.libelle,
                "date_inscription": a.date_inscription,
                "date_deploiement": a.date_deploiement,
                "domaine": a.domaine,
                "source": a.source,
                "forme_juridique": FORMES[a.action_id][0],
                "source_forme": FORMES[a.action_id][1],
            }
            for a in ACTIONS
        ],
        schema={
            "action_id": pl.String,
            "libelle": pl.String,
            "date_inscription": pl.Date,
            "date_deploiement": pl.Date,
            "domaine": pl.String,
            "source": pl.String,
            "forme_juridique": pl.String,
            "source_forme": pl.String,
        },
    ).sort("action_id").write_csv(out / "actions.csv", **csv_opts)

    pl.DataFrame(
        participations,
        schema={
            "code_insee": pl.String,
            "action_id": pl.String,
            "date_debut": pl.Date,
            "date_fin": pl.Date,
        },
    ).sort("code_insee", "action_id", "date_debut").write_csv(
        out / "participations.csv", **csv_opts
    )


def write_populations(out: Path, communes: list[dict]) -> None:
    """``populations.csv``: the population municipale of every commune in every edition of
    the official reference that gives one."""
    codes = sorted(c["code_insee"] for c in communes)
    (
        pl.read_parquet(REFERENCE_MEMBERS)
        .filter(pl.col("code_insee").is_in(codes) & pl.col("population_municipale").is_not_null())
        .select("code_insee", pl.col("annee").cast(pl.Int64),
                pl.col("population_municipale").cast(pl.Int64).alias("population"))
        .sort("code_insee", "annee", "population")
        .unique(["code_insee", "annee"], keep="first", maintain_order=True)
        .write_csv(out / "populations.csv", line_terminator="\n")
    )


METADATA = {
    "intercommunalite": "Métropole Européenne de Lille",
    "schema_adopte_le": SCHEMA_ADOPTED.isoformat(),
    "illustratif": True,
    "annees": {"debut": FIRST_YEAR, "fin": LAST_YEAR},
    "description": (
        "Les communes, leurs populations et leurs dates d'adhésion ainsi que les actions "
        "publiques du schéma sont réelles ; les autres actions et toutes les participations "
        "des communes sont illustratives, calibrées sur le bilan publié par la MEL en "
        "décembre 2019 ; les moyens (ETP, agents, coûts, économies) sont des ordres de "
        "grandeur illustratifs."
    ),
}


def write_metadata(out: Path) -> None:
    text = json.dumps(METADATA, indent=2, ensure_ascii=False) + "\n"
    (out / "metadata.json").write_bytes(text.encode("utf-8"))


# -------------------------------------------------------------------------- checking


def read_written(out: Path) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    def read(name: str, dates: list[str]) -> pl.DataFrame:
        df = pl.read_csv(out / f"{name}.csv", infer_schema=False)
        return df.with_columns(pl.col(c).str.to_date("%Y-%m-%d") for c in dates)

    communes = read("communes", ["date_adhesion", "date_sortie"])
    actions = read("actions", ["date_inscription", "date_deploiement"])
    participations = read("participations", ["date_debut", "date_fin"])
    return communes, actions, participations


def year_figures(
    communes: pl.DataFrame, actions: pl.DataFrame, participations: pl.DataFrame, year: int
) -> dict:
    """The bilan's figures for year Y, with DESIGN.md's definitions (D = 31/12/Y)."""
    d = date(year, 12, 31)
    members = communes.filter(
        (pl.col("date_adhesion") <= d)
        & (pl.col("date_sortie").is_null() | (pl.col("date_sortie") > d))
    ).select("code_insee")
    inscribed = actions.filter(pl.col("date_inscription") <= d)
    deployed = actions.filter(
        pl.col("date_deploiement").is_not_null() & (pl.col("date_deploiement") <= d)
    )
    active = participations.filter(
        (pl.col("date_debut") <= d) & (pl.col("date_fin").is_null() | (pl.col("date_fin") > d))
    ).join(members, on="code_insee", how="semi")
    per_commune = members.join(
        active.join(deployed.select("action_id"), on="action_id", how="semi")
        .group_by("code_insee")
        .agg(pl.col("action_id").n_unique().alias("n")),
        on="code_insee",
        how="left",
    ).with_columns(pl.col("n").fill_null(0))
    per_action = (
        inscribed.select("action_id")
        .join(
            active.group_by("action_id").agg(pl.col("code_insee").n_unique().alias("n")),
            on="action_id",
            how="left",
        )
        .with_columns(pl.col("n").fill_null(0))
    )
    return {
        "membres": members.height,
        "inscrites": inscribed.height,
        "deployees": deployed.height,
        "deployees_annee": sorted(
            deployed.filter(pl.col("date_deploiement").dt.year() == year)["action_id"].to_list()
        ),
        "au_moins": {k: per_commune.filter(pl.col("n") >= k).height for k in (1, 2, 5)},
        "min": per_commune["n"].min(),
        "max": per_commune["n"].max(),
        "par_action": dict(zip(per_action["action_id"], per_action["n"], strict=True)),
    }


def check_integrity(
    communes: pl.DataFrame, actions: pl.DataFrame, participations: pl.DataFrame
) -> None:
    """The loader's rules (DESIGN.md, "Bad input") and the data set's own promises."""
    assert communes["code_insee"].is_unique().all(), "code_insee en double"
    assert communes["code_insee"].str.contains(r"^(\d{5}|2[AB]\d{3})$").all(), (
        "code INSEE mal formé"
    )
    assert actions["action_id"].is_unique().all(), "action_id en double"
    assert actions.height == 37, f"37 actions attendues, {actions.height}"
    assert actions["action_id"].str.contains(r"^[A-Z]{2,5}$").all(), "identifiant d'action"
    bad = actions.filter(pl.col("date_deploiement") < pl.col("date_inscription"))
    assert bad.is_empty(), f"déploiement avant inscription : {bad['action_id'].to_list()}"
    assert (actions["date_inscription"] <= END).all(), "action inscrite après 2019"
    assert actions["source"].is_in(["public", "illustratif"]).all(), "source inconnue"

    p = participations.join(
        communes.select("code_insee", "date_adhesion"), on="code_insee", how="left"
    ).join(actions.select("action_id", "date_inscription"), on="action_id", how="left")
    unknown = p.filter(pl.col("date_adhesion").is_null() | pl.col("date_inscription").is_null())
    assert unknown.is_empty(), f"commune ou action inconnue : {unknown.rows()[:3]}"
    early = p.filter(
        (pl.col("date_debut") < pl.col("date_adhesion"))
        | (pl.col("date_debut") < pl.col("date_inscription"))
    )
    assert early.is_empty(), f"participation avant adhésion ou inscription : {early.rows()[:3]}"
    ends = participations.filter(
        pl.col("date_fin").is_not_null() & (pl.col("date_fin") <= pl.col("date_debut"))
    )
    assert ends.is_empty(), f"date_fin <= date_debut : {ends.rows()[:3]}"
    late = participations.filter(
        (pl.col("date_debut") > END)
        | (pl.col("date_fin").is_not_null() & (pl.col("date_fin") > END))
    )
    assert late.is_empty(), f"date après le 31/12/2019 : {late.rows()[:3]}"
    hd = participations.filter(pl.col("code_insee").is_in(list(HAUTE_DEULE)))
    assert hd.is_empty(), "participation d'une commune de la Haute-Deûle (adhésion 2020)"

    far = date(9999, 12, 31)
    ordered = participations.sort("code_insee", "action_id", "date_debut").with_columns(
        pl.col("date_fin").fill_null(far).alias("fin"),
        pl.col("date_debut").shift(-1).over("code_insee", "action_id").alias("suivant"),
    )
    overlap = ordered.filter(pl.col("suivant").is_not_null() & (pl.col("suivant") < pl.col("fin")))
    assert overlap.is_empty(), f"participations qui se chevauchent : {overlap.rows()[:3]}"

    ended = participations.filter(pl.col("date_fin").is_not_null())
    assert ended.height >= 5, "trop peu de participations terminées"
    restarted = participations.group_by("code_insee", "action_id").len().filter(pl.col("len") >= 2)
    assert restarted.height >= 2, "moins de deux couples commune/action qui reprennent"


def check_targets(out: Path) -> dict[int, dict]:
    communes, actions, participations = read_written(out)
    check_integrity(communes, actions, participations)

    figures = {y: year_figures(communes, actions, participations, y) for y in range(2015, 2020)}
    f15, f19 = figures[2015], figures[2019]

    def eq(label: str, got, want) -> None:
        assert got == want, f"cible « {label} » : attendu {want!r}, obtenu {got!r}"

    eq("actions inscrites fin 2015", f15["inscrites"], TARGETS["inscrites_fin_2015"])
    eq("communes membres fin 2019", f19["membres"], TARGETS["membres_fin_2019"])
    eq("actions inscrites fin 2019", f19["inscrites"], TARGETS["inscrites_fin_2019"])
    eq("actions déployées fin 2019", f19["deployees"], TARGETS["deployees_fin_2019"])
    eq("actions déployées en 2019", f19["deployees_annee"], TARGETS["deployees_en_2019"])
    for y, n in TARGETS["deployees_par_annee"].items():
        eq(f"actions déployées fin {y}", figures[y]["deployees"], n)
    for y in (2016, 2017, 2018, 2019):
        eq(
            f"communes avec au moins 2 actions fin {y}",
            figures[y]["au_moins"][2],
            figures[y]["membres"],
        )
    assert f15["au_moins"][2] < f15["membres"], (
        "cible « pas toutes les communes à 2 actions fin 2015 » : "
        f"{f15['au_moins'][2]} sur {f15['membres']}"
    )
    eq(
        "communes avec au moins 5 actions fin 2019",
        f19["au_moins"][5],
        TARGETS["communes_5_actions_fin_2019"],
    )
    eq("part à 5 actions fin 2019", round(f19["au_moins"][5] / f19["membres"], 4), 0.9556)
    pdl_launch = participations.filter(
        (pl.col("action_id") == "PDL") & (pl.col("date_debut") == PDL_LAUNCH)
    )["code_insee"].n_unique()
    eq("communes du Permis de louer au 2019-04-01", pdl_launch, TARGETS["pdl_debut_2019_04_01"])
    eq("communes ADS fin 2019", f19["par_action"]["ADS"], TARGETS["ads_actives_fin_2019"])
    eq("communes CAM fin 2019", f19["par_action"]["CAM"], TARGETS["cam_actives_fin_2019"])
    eq("communes RGPD fin 2019", f19["par_action"]["RGPD"], TARGETS["rgpd_actives_fin_2019"])
    assert f19["min"] <= 3 and f19["max"] >= 13, (
        f"écart du nombre d'actions par commune trop faible : {f19['min']}–{f19['max']}"
    )
    return figures


# ------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--reference",
        type=Path,
        default=REPO.parent / "shared" / "reference",
        help="dossier des faits de référence (mel_communes.csv, ...)",
    )
    parser.add_argument("--out", type=Path, default=REPO / "data", help="dossier de sortie")
    args = parser.parse_args(argv)

    communes_ref, pdl_ref = read_reference(args.reference)
    communes = build_communes(communes_ref)
    participations, pdl_note = generate(communes, pdl_ref)

    write_tables(args.out, communes, participations)
    write_populations(args.out, communes)
    write_metadata(args.out)
    # Illustrative staff and costs of the deployed actions (moyens.csv), from the tables
    # just written.
    from default_moyens import write_moyens

    moyens = write_moyens(args.out, list(range(FIRST_YEAR, LAST_YEAR + 1)))
    shutil.copyfile(args.reference / "mel_communes.geojson", args.out / "communes.geojson")

    figures = check_targets(args.out)
    print(f"Données écrites dans {args.out}")
    print(f"Permis de louer : {pdl_note}.")
    print(f"Moyens (illustratifs) : {moyens.height} lignes.")
    print("année  membres  inscrites  déployées  ≥1  ≥2  ≥5  min  max")
    for y, f in figures.items():
        a = f["au_moins"]
        print(
            f"{y}  {f['membres']:7d}  {f['inscrites']:9d}  {f['deployees']:9d}"
            f"  {a[1]:2d}  {a[2]:2d}  {a[5]:2d}  {f['min']:3d}  {f['max']:3d}"
        )
    print("Toutes les cibles de calibrage sont atteintes.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
