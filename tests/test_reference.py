"""The official reference (lib/mutualisation/referentiel/) and its reader,
mutualisation.data.reference.

The checks run on small extracts of the shipped reference (three EPCIs), not on whole files.
"""

import json
from datetime import date

import polars as pl
import pytest

from mutualisation.config import DATA_DIR
from mutualisation.data import reference

MEL, MEL_BEFORE_2020 = "200093201", "245900410"
CHATAIGNERAIE = "248500415"
BORDEAUX = "243300316"
TERVAL = {"85037", "85053", "85289"}
RIVES_DU_FOUGERAIS = {"85041", "85271", "85292"}


def test_files_are_small_and_editions_are_recorded():
    files = sorted(p for p in reference.REFERENCE_DIR.iterdir() if p.is_file())
    assert {p.name for p in files} >= {
        "PROVENANCE.md", "editions.json", "epci.parquet", "membres.parquet",
        "communes.parquet", "evenements.parquet", "contours.parquet",
    }
    assert sum(p.stat().st_size for p in files) < 15_000_000
    record = reference.editions()
    assert {y: e["paquet"].split("@")[-1] for y, e in record["epci"].items()} == {
        "2019": "0.7.0", "2020": "0.8.0", "2021": "1.1.1", "2022": "2.3.1",
        "2023": "3.1.1", "2024": "4.1.0", "2025": "5.3.0",
    }
    assert record["licence"] == "Licence Ouverte / Etalab 2.0"
    assert reference.snapshot_years() == tuple(range(2019, 2026))


def test_snapshots_have_sorted_unique_rows():
    epci = reference.epci_snapshots()
    assert epci.equals(epci.sort("annee", "siren"))
    assert not epci.select("annee", "siren").is_duplicated().any()
    members = reference.members()
    assert not members.select("annee", "code_insee").is_duplicated().any()
    communes = reference.current_communes()
    assert communes["code_insee"].is_unique().all()
    assert communes.filter(pl.col("code_insee") == "85289")["nom"].to_list() == ["Terval"]


def test_old_siren_is_followed_to_the_merged_metropole():
    match = reference.find_epci(MEL_BEFORE_2020)
    assert match.epci.siren == MEL
    assert match.epci.nom == "Métropole Européenne de Lille"
    assert match.followed_from.siren == MEL_BEFORE_2020
    assert "245900410" in match.note and "200093201" in match.note
    assert reference.find_epci(MEL).followed_from is None
    assert reference.find_epci(MEL).note is None


def test_mel_lineage_and_the_2020_merger():
    assert reference.epci_lineage(MEL) == {
        2019: MEL_BEFORE_2020, 2020: MEL_BEFORE_2020,
        **{year: MEL for year in range(2021, 2026)},
    }
    history = reference.membership_history(MEL)
    assert history.height == 95
    haute_deule = {"59005", "59011", "59052", "59133", "59477"}
    joined_2021 = history.filter(pl.col("date_adhesion") == date(2021, 1, 1))
    assert set(joined_2021["code_insee"]) == haute_deule
    assert not joined_2021["adhesion_borne_inferieure"].any()
    first = history.filter(pl.col("date_adhesion") == date(2019, 1, 1))
    assert first.height == 90 and first["adhesion_borne_inferieure"].all()
    assert history["date_sortie"].is_null().all()


def test_mel_agrees_with_the_default_data_set():
    """Codes and names as data/communes.csv; the same members on 1 January 2020 and 2021
    (the 5 communes of the CC de la Haute-Deûle joined on 2020-03-14)."""
    data = pl.read_csv(DATA_DIR / "communes.csv", schema_overrides={"code_insee": pl.String})
    history = reference.membership_history(MEL)
    assert history.select("code_insee", "nom").equals(
        data.select("code_insee", "nom").sort("code_insee")
    )
    adhesion = data.with_columns(pl.col("date_adhesion").str.to_date())
    for year in (2020, 2021):
        day = date(year, 1, 1)
        in_data = set(adhesion.filter(pl.col("date_adhesion") <= day)["code_insee"])
        in_reference = set(history.filter(pl.col("date_adhesion") <= day)["code_insee"])
        assert in_reference == in_data, year
    snapshot_2020 = reference.members().filter(
        (pl.col("annee") == 2020) & (pl.col("siren") == MEL_BEFORE_2020)
    )
    assert snapshot_2020.height == 90


def test_chataigneraie_two_mergers_no_withdrawal():
    counts = (
        reference.members()
        .filter(pl.col("siren") == CHATAIGNERAIE)
        .group_by("annee").len().sort("annee")
    )
    assert dict(counts.iter_rows()) == {
        2019: 18, 2020: 18, 2021: 18, 2022: 18, 2023: 16, 2024: 14, 2025: 14,
    }
    history = reference.membership_history(CHATAIGNERAIE)
    assert history.height == 18
    assert history["adhesion_borne_inferieure"].all()
    left = history.filter(pl.col("date_sortie").is_not_null())
    assert left.select("code_insee", "date_sortie", "code_successeur").rows() == [
        ("85037", date(2023, 1, 1), "85289"),
        ("85041", date(2024, 1, 1), "85292"),
        ("85053", date(2023, 1, 1), "85289"),
        ("85271", date(2024, 1, 1), "85292"),
    ]
    assert set(left["motif_sortie"]) == {"fusion"}
    # No withdrawal: every commune that left did so by a merger into a member.
    assert set(left["code_successeur"]) <= set(history["code_insee"])
    names = dict(history.select("code_insee", "nom").iter_rows())
    assert names["85289"] == "Terval" and names["85292"] == "Rives-du-Fougerais"


def test_merger_events_of_terval_and_rives_du_fougerais():
    events = reference.commune_events(["85289", "85292"])
    terval = events.filter(pl.col("code_successeur") == "85289")
    assert set(terval["code_insee"]) == TERVAL
    assert set(terval["date"]) == {date(2023, 1, 1)}
    assert set(terval["nom_successeur"]) == {"Terval"}
    rives = events.filter(pl.col("code_successeur") == "85292")
    assert set(rives["code_insee"]) == RIVES_DU_FOUGERAIS
    assert set(rives["date"]) == {date(2024, 1, 1)}
    # The INSEE history dates the mergers up to 2019: Valserhône, 2019-01-01.
    valserhone = reference.commune_events(["01033"]).filter(
        pl.col("date") == date(2019, 1, 1)
    )
    assert {"01033", "01091", "01205"} <= set(valserhone["code_insee"])


def test_bordeaux_is_stable():
    history = reference.membership_history(BORDEAUX)
    assert history.height == 28
    assert history["date_sortie"].is_null().all()
    assert history["adhesion_borne_inferieure"].all()
    assert history["population"].is_not_null().all()


def test_name_search_ignores_case_accents_and_the_long_form():
    for query in (
        "CC du Pays de la Châtaigneraie",
        "cc du pays de la chataigneraie",
        "Communauté de communes du Pays de la Châtaigneraie",
    ):
        assert reference.find_epci(query).epci.siren == CHATAIGNERAIE
    assert reference.find_epci("bordeaux métropole").epci.siren == BORDEAUX


def test_ambiguous_name_lists_candidates():
    with pytest.raises(reference.AmbiguousEpciError) as caught:
        reference.find_epci("CC des Quatre Rivières")
    candidates = caught.value.candidates
    assert [(c.siren, c.type, c.departement) for c in candidates] == [
        ("247000623", "CC", "70"), ("247400666", "CC", "74"),
    ]
    message = str(caught.value)
    assert "\n" not in message and "247000623" in message and "département 74" in message
    with pytest.raises(reference.AmbiguousEpciError) as caught:
        reference.find_epci("Châtaigneraie")
    assert CHATAIGNERAIE in {c.siren for c in caught.value.candidates}


def test_unknown_name_or_siren_says_so_in_one_line():
    with pytest.raises(reference.UnknownEpciError) as caught:
        reference.find_epci("Bordo Métropole")
    assert caught.value.suggestions[0].siren == BORDEAUX
    assert "Bordeaux Métropole" in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(reference.UnknownEpciError, match="123456789"):
        reference.find_epci("123456789")
    with pytest.raises(reference.UnknownEpciError, match="SIREN invalide"):
        reference.find_epci("12345")


def test_populations_come_from_the_dgcl_file():
    pops = reference.populations(["59350", "85037", "00000"])
    rows = {r["code_insee"]: r for r in pops.iter_rows(named=True)}
    assert rows["59350"]["annee"] == 2025 and rows["59350"]["population_municipale"] > 200_000
    assert rows["85037"]["annee"] == 2022  # last snapshot before the merger into Terval
    assert rows["00000"]["population_municipale"] is None
    assert reference.populations(["59350"], year=2019)["population_municipale"].is_null().all()


def test_outlines_in_the_shape_of_the_default_geojson():
    codes = ["85037", "85289", "59350"]
    collection = reference.outlines(codes)
    assert collection["type"] == "FeatureCollection"
    features = collection["features"]
    assert [f["properties"]["code_insee"] for f in features] == sorted(codes)
    default = json.loads((DATA_DIR / "communes.geojson").read_text(encoding="utf-8"))
    lille = next(f for f in default["features"] if f["properties"]["code_insee"] == "59350")
    ours = next(f for f in features if f["properties"]["code_insee"] == "59350")
    assert ours["geometry"]["type"] == lille["geometry"]["type"] == "MultiPolygon"
    assert {"code_insee", "nom"} <= set(ours["properties"])
    ring = ours["geometry"]["coordinates"][0][0]
    assert ring[0] == ring[-1]
    lon, lat = zip(*ring, strict=True)
    ref_lon, ref_lat = zip(*lille["geometry"]["coordinates"][0][0], strict=True)
    assert abs(min(lon) - min(ref_lon)) < 0.01 and abs(max(lat) - max(ref_lat)) < 0.01
    # A former commune is drawn by its commune déléguée.
    assert next(f for f in features if f["properties"]["code_insee"] == "85037")
    json.dumps(collection)


def test_missing_outline_is_named():
    with pytest.raises(reference.ReferenceLookupError, match="00000"):
        reference.outlines(["59350", "00000"])
    assert len(reference.outlines(["59350", "00000"], missing_ok=True)["features"]) == 1
