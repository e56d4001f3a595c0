"""Charts of mutualisation.present.charts, rendered to SVG through vl-convert.

The frames are built here with the columns of mutualisation.compute.indicators, so
these tests do not depend on the loading code. The first conversion of a
process costs about 0.6 s, later ones a few hundredths of a second.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from pathlib import Path

import altair as alt
import polars as pl
import pytest

from mutualisation.compute.sizes import size_class, size_classes
from mutualisation.formatting import french_sorted
from mutualisation.present import charts
from mutualisation.present.charts import (
    NO_DEPLOYMENT,
    actions_by_year,
    actions_distribution,
    by_domain,
    commune_action_matrix,
    commune_map,
    deployed_this_year,
    participation_shares,
    participations_by_action,
    parts,
    setup,
    theme,
    to_dict,
    to_svg,
    uptake_by_size,
)
from mutualisation.present.charts import communes as commune_charts
from mutualisation.present.figures import bilan_figures

NNBSP = "\u202f"  # thousands separator of Babel's French locale
NBSP = "\u00a0"  # before %
GEOJSON = Path("/work/shared/reference/mel_communes.geojson")
if not GEOJSON.exists():  # the copy kept with the default data set
    GEOJSON = Path(__file__).resolve().parents[1] / "data" / "communes.geojson"


def texts(svg: str) -> list[str]:
    """The text of each text element of an SVG (lines of a multi-line one apart), unescaped."""
    found = []
    for inner in re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S):
        lines = re.findall(r"<tspan[^>]*>([^<]*)</tspan>", inner) or [inner]
        found += [html.unescape(line) for line in lines]
    return found


# --------------------------------------------------------------------------
# Frames shaped like the output of mutualisation.compute.indicators
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def series() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "annee": [2015, 2016, 2017, 2018, 2019],
            "communes_membres": [85, 85, 90, 90, 90],
            "actions_inscrites": [15, 21, 26, 32, 37],
            "actions_deployees": [8, 12, 16, 20, 25],
        }
    )


@pytest.fixture(scope="module")
def series_long() -> pl.DataFrame:
    rows = []
    for year, shares in zip(
        [2017, 2018, 2019], [(1.0, 0.9, 0.25), (1.0, 1.0, 0.5), (1.0, 1.0, 0.9556)], strict=True
    ):
        for k, part in zip([1, 2, 5], shares, strict=True):
            rows.append({"annee": year, "seuil": k, "communes": round(part * 90), "part": part})
    return pl.DataFrame(rows)


@pytest.fixture(scope="module")
def actions_status() -> pl.DataFrame:
    d = dt.date
    return pl.DataFrame(
        {
            "action_id": ["CAM", "PDL", "RGPD", "SIG", "VET"],
            "libelle": [
                "Centrale d'Achats Métropolitaine",
                "Permis de louer",
                "Service unifié RGPD",
                "Système d'information géographique",
                "Groupement de commandes de vêtements",
            ],
            "domaine": ["achats", "habitat", "numérique", None, "achats"],
            "date_inscription": [d(2015, 6, 19)] * 5,
            "date_deploiement": [d(2019, 1, 1), d(2019, 4, 1), d(2019, 2, 1), d(2015, 11, 2), None],
            "deployee": [True, True, True, True, False],
            "deployee_annee": [True, True, True, False, False],
            "nb_communes": [61, 22, 44, 30, 0],
        }
    )


@pytest.fixture(scope="module")
def per_commune() -> pl.DataFrame:
    names = ["Wattrelos", "Éscobecques", "Annœullin", "Anstaing", "La Bassée", "Lille"]
    actions = [["CAM"], ["CAM", "RGPD"], [], ["SIG"], ["CAM", "PDL", "RGPD", "SIG"], ["CAM"]]
    deployed = ["CAM", "PDL", "RGPD", "SIG"]
    return pl.DataFrame(
        {
            "code_insee": [f"5900{i}" for i in range(len(names))],
            "nom": names,
            "population": [40_000, 1_999, 2_000, 4_999, 5_000, 236_000],
            "nb_actions": [len(a) for a in actions],
            "actions": actions,
            "actions_disponibles": [[x for x in deployed if x not in a] for a in actions],
        },
        schema_overrides={"actions": pl.List(pl.String), "actions_disponibles": pl.List(pl.String)},
    )


@pytest.fixture(scope="module")
def domains() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "domaine": ["achats", "habitat", "non renseigné", "énergie"],
            "actions_inscrites": [6, 2, 1, 4],
            "actions_deployees": [5, 2, 0, 3],
            "participations": [1234, 30, 0, 79],
        }
    )


@pytest.fixture(scope="module")
def distribution() -> pl.DataFrame:
    return pl.DataFrame({"nb_actions": [2, 3, 5, 7], "communes": [1, 2, 8, 17]})


@pytest.fixture(scope="module")
def features() -> list[dict]:
    return json.loads(GEOJSON.read_text(encoding="utf-8"))["features"]


@pytest.fixture(scope="module")
def map_frame(features) -> pl.DataFrame:
    """90 member communes out of the 95 features, with 0 to 15 actions."""
    members = features[:90]
    return pl.DataFrame(
        {
            "code_insee": [f["properties"]["code_insee"] for f in members],
            "nom": [f["properties"]["nom"] for f in members],
            "population": [1000] * 90,
            "nb_actions": [i % 16 for i in range(90)],
        }
    )


@pytest.fixture
def static_mode():
    """Leave the renderer in static mode whatever a test did."""
    setup("static")
    yield
    setup("static")


# --------------------------------------------------------------------------
# Every chart renders
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def all_charts(
    series, series_long, actions_status, per_commune, domains, distribution, features, map_frame
) -> dict[str, object]:
    return {
        "actions_by_year": actions_by_year(series),
        "participation_shares": participation_shares(series_long),
        "deployed_this_year": deployed_this_year(actions_status),
        "participations_by_action": participations_by_action(actions_status),
        "by_domain": by_domain(domains),
        "actions_distribution": actions_distribution(distribution),
        "commune_map": commune_map(features, map_frame),
        "commune_action_matrix": commune_action_matrix(per_commune, actions_status),
        "uptake_by_size": uptake_by_size(per_commune),
    }


@pytest.fixture(scope="module")
def svgs(all_charts) -> dict[str, str]:
    return {name: to_svg(chart) for name, chart in all_charts.items()}


EXPECTED_TEXT = {
    "actions_by_year": ["Actions inscrites", "Actions déployées", "Année", "Nombre d'actions"],
    "participation_shares": ["au moins 1 action", "au moins 5 actions", "Année"],
    "deployed_this_year": ["Centrale d'Achats Métropolitaine", "Permis de louer", "61"],
    "participations_by_action": ["Système d'information géographique", "Domaine", "non renseigné"],
    "by_domain": ["Participations actives", "énergie", "non renseigné"],
    "actions_distribution": ["Nombre d'actions par commune", "Nombre de communes", "17"],
    "commune_map": ["Nombre d'actions", "En gris : 5 communes non membres à la date du bilan"],
    "commune_action_matrix": ["Actions déployées", "participe", "ne participe pas", "Annœullin"],
    "uptake_by_size": ["moins de 2\u202f000 hab.", "20\u202f000 hab. et plus", "2 communes"],
}


@pytest.mark.parametrize("name", sorted(EXPECTED_TEXT))
def test_chart_renders_with_french_text(svgs, name):
    svg = svgs[name]
    assert svg.startswith("<svg")
    shown = texts(svg)
    for expected in EXPECTED_TEXT[name]:
        assert any(expected in t for t in shown), (expected, shown)


def test_no_english_leftovers(svgs):
    for name, svg in svgs.items():
        for word in ("Count of", "Sum of", "Mean of", "undefined", "NaN", "null"):
            assert word not in " ".join(texts(svg)), (name, word)


def test_theme_is_registered_and_enabled(all_charts):
    assert alt.theme.active == charts.THEME
    config = to_dict(all_charts["actions_by_year"])["config"]
    assert config["font"] == theme.FONT
    assert config["title"]["anchor"] == "start"
    assert config["view"]["stroke"] is None
    assert config["locale"]["number"]["thousands"] == NNBSP


def test_to_svg_uses_the_theme_whatever_is_enabled(all_charts, svgs):
    with alt.theme.enable("dark"):
        assert to_svg(all_charts["actions_by_year"]) == svgs["actions_by_year"]


# --------------------------------------------------------------------------
# French formats
# --------------------------------------------------------------------------


def test_year_axis_has_no_thousands_separator(svgs):
    shown = texts(svgs["actions_by_year"])
    assert "2019" in shown and "2015" in shown
    assert not any(t in shown for t in (f"2{NNBSP}019", f"2{NBSP}019", "2 019", "2,019"))
    assert "2019" in texts(svgs["participation_shares"])


def test_percent_axis_in_french(svgs):
    shown = texts(svgs["participation_shares"])
    assert f"0{NBSP}%" in shown
    assert f"50{NBSP}%" in shown or f"40{NBSP}%" in shown
    assert f"100{NBSP}%" in shown
    assert not any(t.endswith("%") and NBSP not in t for t in shown)


def test_thousands_in_french(svgs):
    shown = texts(svgs["by_domain"])
    assert f"1{NNBSP}234" in shown  # value written after the bar
    assert f"1{NNBSP}000" in shown  # axis tick
    assert "1,234" not in shown and "1234" not in shown


def test_decimal_comma(svgs):
    # Lille (236 000 hab.) alone in the largest class: mean 1 -> "1,0"
    shown = texts(svgs["uptake_by_size"])
    assert "1,0" in shown
    assert not any(re.fullmatch(r"\d+\.\d", t) for t in shown)


# --------------------------------------------------------------------------
# Determinism and rendering modes
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["actions_by_year", "commune_map", "commune_action_matrix"])
def test_two_conversions_are_identical(all_charts, svgs, name):
    assert to_svg(all_charts[name]) == svgs[name]


def test_svg_ids_do_not_depend_on_earlier_conversions():
    # vl-convert numbers gradients and clip paths across the whole process
    # ("gradient_0", "gradient_1", ...); to_svg renumbers them in each SVG.
    frame = pl.DataFrame({"x": [1, 2, 3], "y": [4, 5, 6]})
    chart = (
        alt.Chart(frame)
        .mark_line(clip=True)
        .encode(x=alt.X("x:Q", scale=alt.Scale(domain=[1, 2])), y="y:Q", color="y:Q")
    )
    first, second = to_svg(chart), to_svg(chart)
    assert 'id="gradient_0"' in first and 'id="clip0"' in first
    assert first == second


def test_static_renderer_gives_the_svg_of_to_svg(all_charts, svgs, static_mode):
    chart = all_charts["participation_shares"]
    bundle = chart._repr_mimebundle_()
    assert list(bundle) == ["image/svg+xml"]
    assert bundle["image/svg+xml"] == svgs["participation_shares"]


def test_interactive_mode_uses_the_lab_renderer_and_locale(static_mode):
    # What the renderer writes is tested in test_lab.py, in a real JupyterLab too.
    from mutualisation.present.charts import interactive as lab

    setup("interactive")
    assert alt.renderers.active == lab.RENDERER
    locale = alt.renderers.options["embed_options"]["formatLocale"]
    assert locale["thousands"] == NNBSP


def test_setup_rejects_unknown_mode():
    with pytest.raises(ValueError):
        setup("png")


# --------------------------------------------------------------------------
# Particular charts
# --------------------------------------------------------------------------


def test_empty_deployed_this_year_still_renders(actions_status):
    empty = actions_status.filter(pl.col("deployee_annee").not_())
    svg = to_svg(deployed_this_year(empty))
    assert NO_DEPLOYMENT in texts(svg)
    svg = to_svg(deployed_this_year(actions_status.clear()))
    assert NO_DEPLOYMENT in texts(svg)


def test_bars_sorted_by_number_of_communes(all_charts):
    spec = to_dict(all_charts["deployed_this_year"])
    order = spec["layer"][0]["encoding"]["y"]["sort"]
    assert order == ["Centrale d'Achats Métropolitaine", "Service unifié RGPD", "Permis de louer"]


def test_participations_by_action_keeps_deployed_actions_only(svgs):
    shown = texts(svgs["participations_by_action"])
    assert "Système d'information géographique" in shown
    assert "Groupement de commandes de vêtements" not in shown


def test_map_draws_every_commune(svgs, features):
    svg = svgs["commune_map"]
    assert len(features) == 95
    assert svg.count("<path") >= 95
    assert svg.count('class="mark-shape role-mark') == 2  # members, non-members


def _reversed_rings(geometry: dict) -> dict:
    polygons = geometry["coordinates"]
    if geometry["type"] == "Polygon":
        polygons = [polygons]
    flipped = [[ring[::-1] for ring in polygon] for polygon in polygons]
    coordinates = flipped[0] if geometry["type"] == "Polygon" else flipped
    return {"type": geometry["type"], "coordinates": coordinates}


def test_map_accepts_rfc7946_winding(features, map_frame, svgs):
    """Rings wound the other way (RFC 7946) give the same map, not a filled rectangle."""
    flipped = [{**f, "geometry": _reversed_rings(f["geometry"])} for f in features]
    assert flipped[0]["geometry"] != features[0]["geometry"]
    assert to_svg(commune_map(flipped, map_frame)) == svgs["commune_map"]


def test_matrix_rows_in_french_order(all_charts):
    spec = to_dict(all_charts["commune_action_matrix"])
    rows = spec["encoding"]["y"]["sort"]
    assert rows == ["Annœullin", "Anstaing", "Éscobecques", "La Bassée", "Lille", "Wattrelos"]
    columns = spec["encoding"]["x"]["sort"]
    assert columns == ["CAM", "RGPD", "SIG", "PDL"]  # most joined first


def test_french_sorted():
    names = ["Zuydcoote", "Érquinghem", "Annœullin", "Anstaing", "ennetières", "Emmerin"]
    assert french_sorted(names) == [
        "Annœullin",
        "Anstaing",
        "Emmerin",
        "ennetières",
        "Érquinghem",
        "Zuydcoote",
    ]


def test_size_classes():
    assert size_classes() == [
        "moins de 2\u202f000 hab.",
        "2\u202f000 à 5\u202f000 hab.",
        "5\u202f000 à 20\u202f000 hab.",
        "20\u202f000 hab. et plus",
    ]
    frame = pl.DataFrame({"population": [1_999, 2_000, 4_999, 5_000, 19_999, 20_000, None]})
    classes = frame.select(size_class(pl.col("population")).alias("c"))["c"].to_list()
    labels = size_classes()
    assert classes == [
        labels[0],
        labels[1],
        labels[1],
        labels[2],
        labels[2],
        labels[3],
        "population inconnue",
    ]


def test_uptake_by_size_ordered_by_size(all_charts):
    spec = to_dict(all_charts["uptake_by_size"])
    assert spec["layer"][0]["encoding"]["x"]["sort"] == size_classes()


def test_missing_column_is_reported(series):
    with pytest.raises(ValueError, match="actions_deployees"):
        actions_by_year(series.drop("actions_deployees"))


# --------------------------------------------------------------------------
# The largest intercommunalities (bench/big_data.py: 158 communes × 100 actions)
# --------------------------------------------------------------------------

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _marks(svg: str) -> dict[str, int]:
    """Number of items of each mark group of an SVG ("layer_0_marks": 156, ...)."""
    found = {}
    for name, inner in re.findall(
        r'<g class="mark-\w+ role-mark ([^"]*)"[^>]*>(.*?)</g>', svg, flags=re.S
    ):
        found[name] = len(re.findall(r"<(?:path|line|text)\b", inner))
    return found


def _axis_labels(svg: str) -> list[list[str]]:
    """The labels of each axis of an SVG, axis by axis."""
    return [
        [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", inner)]
        for inner in re.findall(
            r'<g class="mark-text role-axis-label"[^>]*>(.*?)</g>', svg, flags=re.S
        )
    ]


@pytest.fixture(scope="module")
def big_bilan(tmp_path_factory):
    """The bilan of the last year of a generated EPCI of 158 communes and 100 actions."""
    import importlib.util

    from mutualisation.compute.bilan import Bilan

    spec = importlib.util.spec_from_file_location("big_data", BENCH / "big_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    folder = module.write_big_dataset(tmp_path_factory.mktemp("big"), communes=158,
                                      actions=100, years=10)
    return Bilan.build(folder)


@pytest.fixture(scope="module")
def big_figures(big_bilan) -> dict:
    return bilan_figures(big_bilan)


@pytest.fixture(scope="module")
def big_svgs(big_figures) -> dict[str, str]:
    return {name: to_svg(chart) for name, chart in big_figures.items()}


def test_big_data_set_is_as_large_as_the_largest_epci(big_bilan):
    figures = big_bilan.indicators
    deployed = figures["actions_deployees"]
    assert big_bilan.dataset.communes.height == 158
    assert big_bilan.dataset.actions.height == 100
    assert figures["communes_membres"] * deployed > commune_charts.MATRIX_FULL_GRID_CELLS
    assert big_bilan.dataset.participations.height > 3000


def test_every_chart_of_a_big_bilan_renders(big_bilan, big_svgs, big_figures):
    assert sorted(big_svgs) == sorted(big_figures)
    for name, svg in big_svgs.items():
        assert svg.startswith("<svg"), name
        shown = " ".join(texts(svg))
        for word in ("entries", "undefined", "NaN", "null"):
            assert word not in shown, (name, word)


def test_big_matrix_has_every_commune_action_and_participation(big_bilan, big_svgs, big_figures):
    members = big_bilan.communes.height
    deployed = big_bilan.actions.filter(pl.col("deployee"))
    participations = int(deployed["nb_communes"].sum())
    svg = big_svgs["matrice"]
    # one grey band per commune, one border per action, one cell per participation
    assert _marks(svg) == {"layer_0_marks": members, "layer_1_marks": deployed.height,
                           "layer_2_marks": participations}
    ids, communes = _axis_labels(svg)
    assert sorted(ids) == sorted(deployed["action_id"].to_list())
    assert len(communes) == members
    assert len(svg) < 600_000  # about 100 bytes a participation, not a cell
    spec = to_dict(big_figures["matrice"])
    assert spec["width"] == {"step": 8} and spec["height"] == {"step": 10}
    assert spec["layer"][2]["encoding"]["color"]["legend"]["orient"] == "top"


def test_big_bars_keep_every_action_and_their_ids(big_bilan, big_svgs, big_figures):
    deployed = big_bilan.actions.filter(pl.col("deployee"))
    svg = big_svgs["participations_par_action"]
    assert _marks(svg) == {"layer_0_marks": deployed.height, "layer_1_marks": deployed.height}
    spec = to_dict(big_figures["participations_par_action"])
    labels = spec["layer"][0]["encoding"]["y"]["sort"]
    assert len(set(labels)) == deployed.height
    twins = [label for label in labels if re.search(r" \([A-Z]{3}\d\d\)$", label)]
    assert twins and all(len(label) <= parts.LABEL_CHARS for label in twins)
    assert spec["height"] == {"step": 16}


def test_big_histogram_has_room_for_its_values(big_bilan, big_svgs, big_figures):
    largest = int(big_bilan.distribution["nb_actions"].max())
    spec = to_dict(big_figures["distribution"])
    assert spec["width"] >= parts.HISTOGRAM_STEP * (largest + 1)
    (numbers, _counts) = _axis_labels(big_svgs["distribution"])
    assert numbers == [str(n) for n in range(largest + 1)]


def test_dense_histogram_stays_within_a_page():
    frame = pl.DataFrame({"nb_actions": list(range(92)), "communes": [1] * 92})
    spec = to_dict(actions_distribution(frame))
    assert spec["width"] == parts.HISTOGRAM_MAX_WIDTH
    assert spec["layer"][0]["encoding"]["x"]["axis"]["labelOverlap"] == "parity"


def test_many_domains_each_have_a_legend_entry_and_a_colour():
    n = 40
    frame = pl.DataFrame(
        {
            "action_id": [f"A{i:02d}" for i in range(n)],
            "libelle": [f"Action {i}" for i in range(n)],
            "domaine": [f"domaine {i:02d}" for i in range(n)],
            "date_deploiement": [dt.date(2016, 1, 1)] * n,
            "deployee": [True] * n,
            "nb_communes": list(range(n)),
        }
    )
    chart = participations_by_action(frame)
    shown = texts(to_svg(chart))
    assert all(f"domaine {i:02d}" in shown for i in range(n))
    assert not any("entries" in t for t in shown)
    colours = to_dict(chart)["layer"][0]["encoding"]["color"]["scale"]["range"]
    assert len(set(colours[:17])) == 17


def test_twin_labels_keep_their_ids_when_shortened():
    libelle = "Groupement de commandes : système d'information géographique et cartographie"
    frame = pl.DataFrame({"action_id": ["URB01", "URB02", "ACH01"],
                          "libelle": [libelle, libelle, "Achats"]})
    labels = parts.unique_labels(frame)["etiquette"].to_list()
    assert labels[2] == "Achats"
    assert labels[0].endswith("… (URB01)") and labels[1].endswith("… (URB02)")
    assert all(len(label) == parts.LABEL_CHARS for label in labels[:2])


def test_small_matrix_keeps_one_cell_per_commune_and_action(all_charts, per_commune):
    spec = to_dict(all_charts["commune_action_matrix"])
    assert "layer" not in spec
    (values,) = spec["datasets"].values()
    assert len(values) == per_commune.height * 4  # every cell, 4 deployed actions


def test_matrix_of_every_commune_in_every_action_passes_altairs_row_limit():
    """158 communes × 100 actions, all taken part in: 15,800 rows of data, above the
    5,000 of Altair's MaxRowsError, lifted for this chart only."""
    actions = [f"A{i:03d}" for i in range(100)]
    communes = pl.DataFrame(
        {"code_insee": [f"59{i:03d}" for i in range(158)],
         "nom": [f"Commune {i:03d}" for i in range(158)],
         "actions": [actions] * 158},
        schema_overrides={"actions": pl.List(pl.String)},
    )
    status = pl.DataFrame({"action_id": actions, "libelle": actions, "deployee": [True] * 100,
                           "nb_communes": [158] * 100})
    chart = charts.named(commune_action_matrix(communes, status), "matrice")
    assert len(chart.layer[2].data) == 15_800
    svg = to_svg(chart)
    assert _marks(svg)["layer_2_marks"] == 15_800
    with pytest.raises(alt.MaxRowsError):  # the limit still holds for every other chart
        alt.Chart(pl.DataFrame({"x": range(5_001)})).mark_point().encode(x="x:Q").to_dict()


def test_a_long_domain_legend_under_a_chart_wraps():
    n = 12
    frame = pl.DataFrame(
        {
            "action_id": [f"A{i:02d}" for i in range(n)],
            "libelle": [f"Action {i}" for i in range(n)],
            "domaine": [f"domaine {i:02d}" for i in range(n)],
            "depuis": [dt.date(2016 + i % 8, 1, 1) for i in range(n)],
        }
    )
    spec = to_dict(charts.commune_actions_timeline(frame, dt.date(2024, 12, 31)))
    legend = spec["layer"][0]["encoding"]["color"]["legend"]
    assert legend["columns"] == parts.LEGEND_COLUMNS and legend["symbolLimit"] == 0
    assert all(f"domaine {i:02d}" in texts(to_svg(charts.commune_actions_timeline(
        frame, dt.date(2024, 12, 31)))) for i in range(n))
