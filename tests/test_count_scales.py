"""Counts on continuous scales (axes and the map's legend) read as whole numbers, each once,
whatever the largest count: 1, 2, 3 (where Vega's own ticks fall on halves, which ",d" prints
twice: "0, 1, 1, 2, 2") or 150. Checked in the chart specs and in the SVG drawn by vl-convert.
"""

from __future__ import annotations

import html
import re

import altair as alt
import polars as pl
import pytest

from mutualisation.present import charts
from mutualisation.present.charts.parts import SMALL_COUNT, action_bars, count_ticks
from mutualisation.present.charts.reach import by_legal_form

MAXIMA = [1, 2, 3, 4, 5, 6, 7, 150]


def _labels(svg: str, role: str) -> list[list[str]]:
    """The labels of each axis (``role="axis"``) or legend of an SVG, group by group."""
    return [
        [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", inner)]
        for inner in re.findall(
            rf'<g class="mark-text role-{role}-label"[^>]*>(.*?)</g>', svg, flags=re.S
        )
    ]


def _whole(labels: list[str]) -> list[int]:
    """Labels of counts as numbers (French thousands: a narrow no-break space)."""
    return [int(label.replace("\u202f", "").replace("\xa0", "")) for label in labels]


def _assert_count_scale(labels: list[str], largest: float) -> None:
    numbers = _whole(labels)
    assert numbers == sorted(set(numbers)), f"repeated or unordered: {labels}"
    assert numbers[0] == 0
    steps = {b - a for a, b in zip(numbers, numbers[1:], strict=False)}
    assert len(steps) == 1, labels  # evenly spaced whole numbers
    if largest <= SMALL_COUNT:
        assert numbers == list(range(int(largest) + 1)), labels
    else:
        assert numbers[-1] + steps.pop() > largest, labels  # they reach the largest count


@pytest.mark.parametrize(
    ("largest", "options"),
    [
        (0, {"format": ",d", "tickMinStep": 1, "values": [0, 1]}),
        (None, {"format": ",d", "tickMinStep": 1, "values": [0, 1]}),
        (1, {"format": ",d", "tickMinStep": 1, "values": [0, 1]}),
        (2, {"format": ",d", "tickMinStep": 1, "values": [0, 1, 2]}),
        (1.4, {"format": ",d", "tickMinStep": 1, "values": [0, 1, 2]}),
        (5, {"format": ",d", "tickMinStep": 1, "values": [0, 1, 2, 3, 4, 5]}),
        (6, {"format": ",d", "tickMinStep": 1}),
        (150, {"format": ",d", "tickMinStep": 1}),
    ],
)
def test_count_ticks(largest: object, options: dict) -> None:
    assert count_ticks(largest) == options


def _square(code: str, x: float) -> dict:
    ring = [[x, 46.0], [x + 0.1, 46.0], [x + 0.1, 46.1], [x, 46.1], [x, 46.0]]
    return {"type": "Feature", "properties": {"code_insee": code, "nom": f"Commune {code}"},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


def _map(largest: int) -> alt.LayerChart:
    counts = [0, largest // 2, largest]
    frame = pl.DataFrame({"code_insee": ["85001", "85002", "85003"],
                          "nom": ["A", "B", "C"], "nb_actions": counts})
    features = [_square(code, 0.2 * i) for i, code in enumerate(frame["code_insee"])]
    return charts.commune_map(features, frame)


@pytest.mark.parametrize("largest", MAXIMA)
def test_map_legend_reads_whole_numbers(largest: int) -> None:
    legends = _labels(charts.to_svg(_map(largest)), "legend")
    assert len(legends) == 1
    _assert_count_scale(legends[0], largest)


def test_map_legend_of_the_chataigneraie_reads_0_1_2() -> None:
    """The issue's case: two actions at most, the legend read 2, 2, 1, 1, 0 from the top."""
    assert _labels(charts.to_svg(_map(2)), "legend") == [["0", "1", "2"]]


def _count_charts(largest: int) -> dict[str, tuple[alt.TopLevelMixin, int]]:
    """Every chart with a count axis, its data reaching ``largest``; the number of count
    axes it has."""
    half = largest // 2
    years = pl.DataFrame({"annee": [2019, 2020], "actions_inscrites": [half, largest],
                          "actions_deployees": [0, half]})
    distribution = pl.DataFrame({"nb_actions": [0, 1, 2], "communes": [largest, half, 1]})
    domains = pl.DataFrame({"domaine": ["achats", "numérique"],
                            "actions_inscrites": [largest, half],
                            "actions_deployees": [half, 0],
                            "participations": [largest, 1]})
    bars = pl.DataFrame({"action_id": ["A", "B"], "libelle": ["Achats", "RGPD"],
                         "domaine": ["achats", "numérique"], "deploiement": ["", ""],
                         "nb_communes": [largest, half]})
    sizes = pl.DataFrame({"population": [500, 3000, 9000, 9500],
                          "nb_actions": [largest, half, 0, 1]})
    timeline = pl.DataFrame({"annee": [2019, 2020], "nb_actions": [half, largest],
                             "moyenne_communes": [0.5, largest / 3],
                             "moyenne_strate": [None, 1.0]})
    peers = pl.DataFrame({"code_insee": [f"85{i:03d}" for i in range(largest + 2)],
                          "nb_actions": [0] * largest + [1, 2]})
    forms = pl.DataFrame({"forme_juridique": ["service unifié", "entente"],
                          "actions_inscrites": [largest, half], "actions_deployees": [half, 0],
                          "communes": [largest, 1]})
    return {
        "by_legal_form": (by_legal_form(forms), 2),
        "actions_by_year": (charts.actions_by_year(years), 1),
        "actions_distribution": (charts.actions_distribution(distribution), 1),
        "by_domain": (charts.by_domain(domains), 2),
        "action_bars": (action_bars(bars, alt.value("#0072B2")), 1),
        "uptake_by_size": (charts.uptake_by_size(sizes), 1),
        "commune_timeline": (charts.commune_timeline(timeline, "A", "moins de 2 000 hab."), 1),
        "peer_distribution": (charts.peer_distribution(peers, "85000", "A",
                                                       "moins de 2 000 hab."), 1),
    }


@pytest.mark.parametrize("largest", MAXIMA)
def test_count_axes_read_whole_numbers(largest: int) -> None:
    for name, (chart, count_axes) in _count_charts(largest).items():
        assert "'tickMinStep': 1" in repr(charts.to_dict(chart)), name
        axes = _labels(charts.to_svg(chart), "axis")
        for labels in axes:  # no axis says the same thing twice
            assert len(labels) == len(set(labels)), (name, labels)
        from_zero = [labels for labels in axes
                     if labels and labels[0] == "0"
                     and all(re.fullmatch(r"[\d\u202f]+", label) for label in labels)]
        assert len(from_zero) >= count_axes, (name, axes)
        for labels in from_zero:
            numbers = _whole(labels)
            assert len({b - a for a, b in zip(numbers, numbers[1:], strict=False)}) <= 1, \
                (name, labels)
        if largest <= SMALL_COUNT:
            assert [str(n) for n in range(largest + 1)] in axes, (name, axes)
