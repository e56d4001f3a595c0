"""The vocabularies' matching: case, accents and spacing ignored; unknown values suggested."""

import polars as pl
import pytest

from mutualisation.data.vocabulary import (
    FORMES_JURIDIQUES,
    MODES_FINANCEMENT,
    canonical,
    canonical_expr,
    closest,
    folded,
    listed,
)


@pytest.mark.parametrize("written, expected", [
    ("service unifié", "service unifié"),
    ("  Service   UNIFIE ", "service unifié"),
    ("Mise a disposition de service", "mise à disposition de service"),
    ("COOPÉRATION ENTRE COMMUNES", "coopération entre communes"),
    ("service", None),
    ("", None),
])
def test_canonical(written, expected):
    assert canonical(written, FORMES_JURIDIQUES) == expected


def test_expression_agrees_with_the_python_matcher():
    written = ["service unifié", " GROUPEMENT  de commandes", "entente!", None,
               "Attribution De Compensation", "mise à dispo"]
    frame = pl.DataFrame({"v": written}, schema={"v": pl.String})
    for vocabulary in (FORMES_JURIDIQUES, MODES_FINANCEMENT):
        got = frame.select(canonical_expr(pl.col("v"), vocabulary)).to_series().to_list()
        assert got == [None if w is None else canonical(w, vocabulary) for w in written]


def test_every_entry_is_its_own_canonical_form_and_folds_apart():
    for vocabulary in (FORMES_JURIDIQUES, MODES_FINANCEMENT):
        assert [canonical(entry.upper(), vocabulary) for entry in vocabulary] == list(vocabulary)
        assert len({folded(entry) for entry in vocabulary}) == len(vocabulary)


def test_closest_and_listed():
    assert closest("servise unifie", FORMES_JURIDIQUES) == "service unifié"
    assert closest("groupement commande", FORMES_JURIDIQUES) == "groupement de commandes"
    assert closest("refacturer", MODES_FINANCEMENT) == "refacturation"
    assert listed(("a", "b")) == "« a », « b »"
