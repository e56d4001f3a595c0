"""The rules of the optional columns of ``actions`` (DESIGN.md, "Input data contract"):
``forme_juridique``, one entry of a fixed vocabulary, and ``date_abandon``, the date an
action left the schéma, after which no participation may stay active.

:mod:`mutualisation.data.validate` calls these on the tables it has typed; each problem names
the file, the line, the column and the value, as every other check does.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from mutualisation.data.model import Dataset
from mutualisation.data.problems import Problem
from mutualisation.data.read import LINE, RESERVED_PREFIX
from mutualisation.data.vocabulary import FORMES_JURIDIQUES, canonical_expr, closest, listed
from mutualisation.formatting import plural


def _fr(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def check_actions(actions: pl.DataFrame, label: str) -> tuple[pl.DataFrame, list[Problem]]:
    """``actions`` with ``forme_juridique`` written as its vocabulary entry, and the problems
    of the two optional columns: an unknown legal form (the closest entry suggested), a
    ``date_abandon`` before ``date_inscription`` or ``date_deploiement``."""
    canon = f"{RESERVED_PREFIX}forme"
    typed = actions.with_columns(canonical_expr(pl.col("forme_juridique"), FORMES_JURIDIQUES)
                                 .alias(canon))
    unknown = typed.filter(pl.col("forme_juridique").is_not_null() & pl.col(canon).is_null())
    typed = typed.with_columns(pl.col(canon).alias("forme_juridique")).drop(canon)
    problems = [
        Problem(label, f"forme juridique inconnue : « {closest(value, FORMES_JURIDIQUES)} » ? "
                f"(valeurs admises : {listed(FORMES_JURIDIQUES)})",
                line=line, column="forme_juridique", value=value)
        for line, value in unknown.sort(LINE).select(LINE, "forme_juridique").iter_rows()
    ]
    # Before its inscription, or else before its deployment: one problem per action.
    before_inscription = pl.col("date_abandon") < pl.col("date_inscription")
    for start, condition in (("date_inscription", before_inscription),
                             ("date_deploiement", ~before_inscription.fill_null(False)
                              & (pl.col("date_abandon") < pl.col("date_deploiement")))):
        early = typed.filter(condition).sort(LINE)
        problems += [
            Problem(label, f"date_abandon antérieure à {start} ({_fr(before)})",
                    line=line, column="date_abandon", value=raw)
            for line, before, raw in
            early.select(LINE, start, "__raw_date_abandon").iter_rows()
        ]
    return typed, problems


def check_abandoned(participations: pl.DataFrame, actions: pl.DataFrame, label: str,
                    actions_label: str) -> list[Problem]:
    """Participations still active after their action's ``date_abandon``: each names the
    participation's line and the action's line and date."""
    abandoned_on, action_line = f"{RESERVED_PREFIX}abandon", f"{RESERVED_PREFIX}ligne_action"
    joined = participations.join(
        actions.filter(pl.col("date_abandon").is_not_null()).select(
            "action_id", pl.col("date_abandon").alias(abandoned_on),
            pl.col(LINE).alias(action_line)),
        on="action_id",
    )
    late = joined.filter(pl.col("date_fin").is_null()
                         | (pl.col("date_fin") > pl.col(abandoned_on))).sort(LINE)
    problems = []
    for line, action, end, ended, action_at in late.select(
            LINE, "action_id", "__raw_date_fin", abandoned_on, action_line).iter_rows():
        problems.append(Problem(
            label, f"participation encore active après l'abandon de l'action {action} le "
            f"{_fr(ended)} ({actions_label}, ligne {action_at}, colonne « date_abandon ») : "
            f"lui donner une date_fin au plus tard le {_fr(ended)}",
            line=line, column="date_fin", value=end or ""))
    return problems


def summary_lines(dataset: Dataset) -> list[str]:
    """What ``mutualisation check`` says of the optional columns and table: legal forms given,
    actions abandoned, populations by year (nothing for what the data leaves out)."""
    actions, lines = dataset.actions, []
    forms = actions.filter(pl.col("forme_juridique").is_not_null())
    if forms.height:
        counts = forms.group_by("forme_juridique").len().sort("forme_juridique")
        detail = ", ".join(f"{form} {n}" for form, n in counts.iter_rows())
        lines.append(f"  formes juridiques : {plural(forms.height, 'action', 'actions')} sur "
                     f"{actions.height} ({detail})")
    abandoned = actions.filter(pl.col("date_abandon").is_not_null()).sort("date_abandon",
                                                                         "action_id")
    if abandoned.height:
        detail = ", ".join(f"{a}, le {_fr(d)}" for a, d in
                           abandoned.select("action_id", "date_abandon").iter_rows())
        lines.append(f"  abandonnées : {plural(abandoned.height, 'action', 'actions')} "
                     f"({detail})")
    populations = dataset.populations
    if populations is not None:
        years = (f", années {populations['annee'].min()} à {populations['annee'].max()}"
                 if populations.height else "")
        lines.append(f"  populations : {plural(populations.height, 'ligne', 'lignes')}{years}"
                     f"{dataset.source_note('populations')}")
    return lines
