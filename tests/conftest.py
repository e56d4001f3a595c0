"""Shared helpers: small data folders written by the tests themselves."""

from __future__ import annotations

from pathlib import Path

import pytest

COMMUNES = """code_insee,nom,date_adhesion,date_sortie,population
59001,Alpha,2015-01-01,,1200
59002,Beta,2015-01-01,,800
59003,Gamma,2017-01-01,,300
"""
ACTIONS = """action_id,libelle,date_inscription,date_deploiement,domaine
CAM,Centrale d'achats,2015-06-19,2015-09-01,achats
RGPD,Service unifié RGPD,2015-06-19,2016-03-01,numérique
SIG,Système d'information géographique,2016-01-01,,numérique
"""
PARTICIPATIONS = """code_insee,action_id,date_debut,date_fin
59001,CAM,2015-09-01,
59001,RGPD,2016-03-01,
59002,CAM,2015-09-01,2016-06-30
59002,CAM,2017-01-01,
59003,RGPD,2017-02-01,
"""


def write_folder(folder: Path, communes: str = COMMUNES, actions: str = ACTIONS,
                 participations: str = PARTICIPATIONS) -> Path:
    """Write the three tables as comma CSV files into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("communes", communes), ("actions", actions),
                       ("participations", participations)):
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def small_data(tmp_path: Path) -> Path:
    """A valid three-commune data folder."""
    return write_folder(tmp_path / "data")
