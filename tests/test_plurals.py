"""Every French text that counts agrees with its number (0 and 1 singular, from 2 plural),
through one rule: :func:`mutualisation.formatting.agree` and :func:`plural`. The index, the
bilan and the commune sheet are rendered here with counts 0, 1 and 2.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from mutualisation.compute.bilan import Bilan
from mutualisation.compute.fiche import Fiche
from mutualisation.export.index import render_index
from mutualisation.formatting import agree, plural
from mutualisation.present import bilan_text, fiche_text
from tests.conftest import write_folder

LIB = Path(__file__).resolve().parents[1] / "lib" / "mutualisation"


@pytest.mark.parametrize(("n", "text"), [(0, "0 fiche"), (1, "1 fiche"), (2, "2 fiches"),
                                         (1000, "1\u202f000 fiches"), (-1, "\u22121 fiche")])
def test_plural(n: int, text: str) -> None:
    assert plural(n, "fiche", "fiches") == text


@pytest.mark.parametrize(("mean", "text"), [
    (0.0, "0,0 action"), (1.0, "1,0 action"), (1.5, "1,5 action"),
    (1.96, "2,0 actions"),  # agrees with what is written, not with 1.96
    (2.4, "2,4 actions"),
])
def test_plural_of_a_mean(mean: float, text: str) -> None:
    assert plural(mean, "action", "actions", 1) == text


def test_agree() -> None:
    assert [agree(n, "déployée", "déployées") for n in (0, 1, 2)] == \
        ["déployée", "déployée", "déployées"]


# --------------------------------------------------------------------------- the index


def _sheets(out: Path, year: int, counts: list[int]) -> None:
    for i, n in enumerate(counts):
        folder = out / str(year) / "fiches" / f"5900{i + 1}"
        folder.mkdir(parents=True)
        (folder / "indicators.json").write_text(json.dumps(
            {"code_insee": f"5900{i + 1}", "nom": f"Commune {i + 1}", "nb_actions": n}),
            encoding="utf-8")


def test_the_index_counts_its_sheets_in_french(tmp_path: Path) -> None:
    """The issue's « 2019 (1 fiches) »; each sheet's actions too (0, 1, 2)."""
    _sheets(tmp_path, 2019, [1])
    _sheets(tmp_path, 2018, [0, 1, 2])
    _sheets(tmp_path, 2017, [2, 2])
    page = render_index(tmp_path)
    counts = re.findall(r"<h3>(\d{4}) <span class=\"compte\">\(([^)]*)\)</span></h3>", page)
    assert counts == [("2019", "1 fiche"), ("2018", "3 fiches"), ("2017", "2 fiches")]
    assert "fiches)" not in page.replace("3 fiches)", "").replace("2 fiches)", "")
    assert "59001 · 0 action<" in page and "59002 · 1 action<" in page
    assert "59003 · 2 actions<" in page


# ------------------------------------------------------------------- bilan and sheet

COMMUNES = """code_insee,nom,date_adhesion,date_sortie,population
59001,Alpha,2015-01-01,,1200
59002,Beta,2015-01-01,,800
59003,Gamma,2015-01-01,,300
"""


def _data(folder: Path, deployed: int) -> Path:
    """Two actions inscribed in 2015, ``deployed`` of them deployed; Alpha in each."""
    actions = ["action_id,libelle,date_inscription,date_deploiement,domaine"]
    participations = ["code_insee,action_id,date_debut,date_fin"]
    for i in range(2):
        actions.append(f"A{i},Action {i},2015-06-19,{'2015-09-01' if i < deployed else ''},"
                       "achats")
        if i < deployed:
            participations.append(f"59001,A{i},2015-09-01,")
    return write_folder(folder, COMMUNES, "\n".join(actions) + "\n",
                        "\n".join(participations) + "\n")


#: What the bilan and Alpha's sheet say with 0, 1 and 2 deployed actions (hand-written).
EXPECTED = {
    0: ["0 action de mutualisation déployée depuis 2015",
        "2 actions inscrites, dont 0 déployée ; aucune n’a été déployée en 2015",
        "Première année du schéma : 2 actions inscrites, dont 0 déployée.",
        "2 actions inscrites ne sont pas encore déployées",
        "participe en moyenne à 0,0 action déployée.",
        "Elles participent en moyenne à 0,0 action déployée (de 0 à 0).",
        "Avec 0 action, Alpha", "(de 0 à 0 action, 0,0 en moyenne)"],
    1: ["1 action de mutualisation déployée depuis 2015",
        "2 actions inscrites, dont 1 déployée ; 1 l’a été en 2015 : Action 0.",
        "Première année du schéma : 2 actions inscrites, dont 1 déployée.",
        "1 action inscrite n’est pas encore déployée : Action 1.",
        "participe en moyenne à 0,3 action déployée.",
        "Alpha participe à 1 action déployée, dans 1 domaine",
        "En 2015, elle a rejoint 1 action : Action 0.",
        "Avec 1 action, Alpha", "(de 0 à 1 action, 0,3 en moyenne)"],
    2: ["2 actions de mutualisation déployées depuis 2015",
        "2 actions inscrites, dont 2 déployées ; 2 l’ont été en 2015 : Action 0 et Action 1.",
        "Première année du schéma : 2 actions inscrites, dont 2 déployées.",
        "participe en moyenne à 0,7 action déployée.",
        "Alpha participe à 2 actions déployées, dans 1 domaine",
        "En 2015, elle a rejoint 2 actions : Action 0 et Action 1.",
        "Avec 2 actions, Alpha", "(de 0 à 2 actions, 0,7 en moyenne)"],
}


@pytest.mark.parametrize("deployed", [0, 1, 2])
def test_bilan_and_sheet_texts_agree_with_their_counts(tmp_path: Path, deployed: int) -> None:
    data = _data(tmp_path / "data", deployed)
    bilan = Bilan.build(data, 2015)
    fiche = Fiche.build(data, 2015, "59001")
    text = " ".join([
        bilan_text.headline(bilan), bilan_text.actions_text(bilan),
        bilan_text.communes_text(bilan), fiche_text.fiche_headline(fiche),
        fiche_text.fiche_actions_text(fiche), fiche_text.fiche_peers_text(fiche),
    ])
    for phrase in EXPECTED[deployed]:
        assert phrase in text, phrase
    # No number followed by a plural noun it does not agree with.
    assert not re.search(r"\b[01](,\d)? (actions|communes|fiches|déployées)\b", text), text


def test_no_text_agrees_by_hand() -> None:
    """French agreement is written through agree/plural, never as ``… if n == 1 else …``
    or « (s) »: a singular after 1 only is the mistake of « 0 actions »."""
    found = []
    for path in sorted(LIB.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and re.search(r"[a-zé]\(s\)", node.value):
                found.append(f"{path.name}:{node.lineno}: {node.value}")
            if (isinstance(node, ast.IfExp) and isinstance(node.test, ast.Compare)
                    and _forms(node.body, node.orelse)
                    and any(isinstance(c, ast.Constant) and c.value in (1, 2)
                            for c in node.test.comparators)):
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    assert found == []


def _wordy(node: ast.expr, letters: int = 1) -> bool:
    """A text with words: a string, an f-string with a word of 3 letters at least (not an
    ordinal such as ``f"{n}e"``)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and bool(
            re.search(rf"[a-zé]{{{letters},}}", node.value))
    return isinstance(node, ast.JoinedStr) and any(_wordy(part, 3) for part in node.values)


def _forms(body: ast.expr, orelse: ast.expr) -> bool:
    """Two texts with words, or the two forms of a pair (``forms[0]``, ``forms[1]``)."""
    if _wordy(body) and _wordy(orelse):
        return True
    return all(isinstance(v, ast.Subscript) and isinstance(v.slice, ast.Constant)
               and v.slice.value in (0, 1) for v in (body, orelse))


def test_the_scan_finds_agreements_by_hand() -> None:
    """The scan above catches the forms the review of issue 19 found."""
    for source in ('x = "l’action" if n == 1 else f"les {n} actions"',
                   'x = forms[0] if n < 2 else forms[1]', 'x = "une" if n == 1 else "des"'):
        node = ast.parse(source).body[0].value
        assert isinstance(node, ast.IfExp) and _forms(node.body, node.orelse)
    listing = ast.parse('x = texts[0] if len(texts) == 1 else f"{texts[0]} et {texts[1]}"')
    assert not _forms(listing.body[0].value.body, listing.body[0].value.orelse)
    ordinal = ast.parse('x = "1re" if n == 1 else f"{n}e"').body[0].value
    assert not _forms(ordinal.body, ordinal.orelse)
