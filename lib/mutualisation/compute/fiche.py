"""The sheet of one commune for one year ("fiche commune"): its figures and tables.

Each mayor gets the sheet of their own commune: the actions it takes part in at
the reference date D = 31 December of the year, how that number moved since it
joined, how it compares with the communes of the same size, and the deployed
actions it could still join. Every figure follows the "Definitions" of
DESIGN.md, through the public functions of :mod:`mutualisation.compute.indicators`.

Like :class:`~mutualisation.compute.bilan.Bilan`, a :class:`Fiche` is computed once;
the notebook displays it (its charts: :func:`mutualisation.present.figures.fiche_figures`)
and a report runner writes the same object's :meth:`Fiche.tables` to files. A batch of
sheets shares one loaded data set (:meth:`Fiche.from_dataset`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import polars as pl

from mutualisation.compute import indicators, population
from mutualisation.compute import moyens as moyens_figures
from mutualisation.compute.sizes import size_class
from mutualisation.data.mergers import carried_over, with_mergers
from mutualisation.data.model import Dataset, reference_date
from mutualisation.data.parameters import Parameters, normalise_code, valid_year
from mutualisation.data.problems import DataError, Problem
from mutualisation.data.validate import check_year, load_dataset
from mutualisation.formatting import fr_date

#: Columns of :attr:`Fiche.actions`.
ACTION_COLUMNS = ["action_id", "libelle", "domaine", "date_deploiement", "depuis"]
#: Columns of :attr:`Fiche.available`.
AVAILABLE_COLUMNS = ["action_id", "libelle", "domaine", "date_deploiement", "nb_communes"]
#: Columns of :attr:`Fiche.inherited`.
INHERITED_COLUMNS = ["action_id", "libelle", "code_origine", "nom_origine", "depuis"]
#: Columns of :attr:`Fiche.timeline`.
TIMELINE_COLUMNS = ["annee", "nb_actions", "moyenne_communes", "moyenne_strate"]


def member_counts(dataset: Dataset, years: list[int]) -> pl.DataFrame:
    """Every member commune of every year with its number of actions and size class.

    Columns: annee, code_insee, population, size_class (the size class of
    :func:`mutualisation.compute.sizes.size_class`), nb_actions; sorted by annee, code_insee.
    """
    frames = [
        population.with_population_of_year(
            indicators.actions_per_commune(dataset, year)
            .select("code_insee", "population", "nb_actions"), dataset, year)
        .with_columns(pl.lit(year, dtype=pl.Int64).alias("annee"))
        for year in sorted(set(years))
    ]
    schema = {"annee": pl.Int64, "code_insee": pl.String, "population": pl.Int64,
              "nb_actions": pl.Int64}
    counts = pl.concat(frames) if frames else pl.DataFrame(schema=schema)
    return counts.select(
        "annee",
        "code_insee",
        "population",
        size_class(pl.col("population")).alias("size_class"),
        pl.col("nb_actions").cast(pl.Int64),
    ).sort("annee", "code_insee")


@dataclass
class Fiche:
    """The sheet of one member commune (``code_insee``) for one year of a data set."""

    dataset: Dataset
    year: int
    code_insee: str

    @classmethod
    def build(cls, data: str | Path, year: int | None = None,
              code_insee: str | int | None = None) -> Fiche:
        """Load and validate ``data`` and prepare the sheet.

        ``year`` None: the last year of the data. ``code_insee`` None: the first
        member commune of the year in code order (convenient in JupyterLab).
        Raises DataError for bad data, a year outside the data, or a code that is
        not a member commune at 31 December of the year.
        """
        parameters = Parameters.checked(data, year, code_insee=code_insee)
        dataset = load_dataset(parameters.data)
        return cls.from_dataset(dataset, parameters.year, parameters.code_insee)

    @classmethod
    def from_dataset(cls, dataset: Dataset, year: int | None = None,
                     code_insee: str | int | None = None) -> Fiche:
        """The sheet from an already loaded data set (see :meth:`build`)."""
        year = valid_year(dataset.last_year if year is None else year)
        check_year(dataset, year)
        if code_insee is None:
            members = indicators.member_communes(dataset, year)
            if members.is_empty():
                raise DataError([Problem(_communes_file(dataset), "aucune commune membre au "
                                         f"{fr_date(reference_date(year))}")])
            code = members["code_insee"][0]
        else:
            code = normalise_code(code_insee)
        check_member(dataset, year, code)
        return cls(dataset, year, code)

    # ------------------------------------------------------------------ the commune

    @cached_property
    def commune(self) -> dict[str, Any]:
        """The commune's row: code_insee, nom, population (of the year), date_adhesion,
        date_sortie."""
        row = (self.dataset.communes.filter(pl.col("code_insee") == self.code_insee)
               .select("code_insee", "nom", "population", "date_adhesion", "date_sortie"))
        return population.with_population_of_year(row, self.dataset, self.year).row(0, named=True)

    @property
    def name(self) -> str:
        return self.commune["nom"]

    @cached_property
    def reference(self) -> Any:
        """The reference date D (31 December of the year)."""
        return reference_date(self.year)

    @cached_property
    def years(self) -> list[int]:
        """From the later of its adhesion year and the data's first year, to the year."""
        start = max(self.commune["date_adhesion"].year, self.dataset.first_year)
        return list(range(start, self.year + 1))

    @cached_property
    def status(self) -> pl.DataFrame:
        """``indicators.actions_status`` of the year (every inscribed action)."""
        return indicators.actions_status(self.dataset, self.year)

    @cached_property
    def _counts(self) -> pl.DataFrame:
        """:func:`member_counts` for the years of the sheet."""
        return member_counts(self.dataset, self.years)

    @cached_property
    def size_class(self) -> str:
        """The commune's size class (population at the time of the data)."""
        return self._counts.filter(
            (pl.col("annee") == self.year) & (pl.col("code_insee") == self.code_insee)
        )["size_class"][0]

    @property
    def known_size(self) -> bool:
        """False when the commune has no population (no comparison by size then)."""
        return self.commune["population"] is not None

    # ------------------------------------------------------------------ figures

    @cached_property
    def participations(self) -> pl.DataFrame:
        """Its participations active at D (DESIGN's definition, shared with the bilan),
        those it took over from the communes it absorbed included (DESIGN's mergers)."""
        return with_mergers(self.dataset.communes, self.dataset.participations).filter(
            pl.col("code_insee") == self.code_insee, indicators.is_active(pl.lit(self.reference))
        )

    @cached_property
    def inherited(self) -> pl.DataFrame:
        """The deployed actions it takes part in at D through a merger: action_id, libelle,
        code_origine and nom_origine (the absorbed commune whose participation it took
        over), depuis (the merger date); one row per absorbed commune, sorted by depuis,
        libelle, code_origine. Empty for a commune that absorbed none."""
        names = self.dataset.communes.select(pl.col("code_insee").alias("code_origine"),
                                             pl.col("nom").alias("nom_origine"))
        return (
            carried_over(self.dataset.communes, self.dataset.participations)
            .filter(pl.col("code_insee") == self.code_insee, pl.col("reprise"),
                    indicators.is_active(pl.lit(self.reference)))
            # Only while the participation taken over is still the current one.
            .join(self.actions.select("action_id", "libelle", "depuis"),
                  left_on=["action_id", "date_debut"], right_on=["action_id", "depuis"])
            .join(names, on="code_origine", how="left")
            .select("action_id", "libelle", "code_origine", "nom_origine",
                    pl.col("date_debut").alias("depuis"))
            .sort("depuis", "libelle", "code_origine")
        )

    @cached_property
    def actions(self) -> pl.DataFrame:
        """The deployed actions it takes part in at D: action_id, libelle, domaine,
        date_deploiement, depuis (start of its current active participation);
        sorted by depuis, then action_id."""
        active = self.participations.group_by("action_id").agg(
            pl.col("date_debut").min().alias("depuis")
        )
        deployed = self.status.filter(pl.col("deployee")).select(ACTION_COLUMNS[:-1])
        return deployed.join(active, on="action_id").select(ACTION_COLUMNS).sort(
            "depuis", "action_id"
        )

    @cached_property
    def pending(self) -> pl.DataFrame:
        """Inscribed actions not deployed yet in which it already takes part at D
        (not counted in its number of actions): action_id, libelle, domaine."""
        active = self.participations.select("action_id")
        return (
            self.status.filter(~pl.col("deployee"))
            .join(active.unique(), on="action_id", how="semi")
            .select("action_id", "libelle", "domaine")
            .sort("action_id")
        )

    @cached_property
    def available(self) -> pl.DataFrame:
        """Deployed actions at D it does not take part in (the offer it can still join):
        action_id, libelle, domaine, date_deploiement, nb_communes (member communes
        taking part); sorted by nb_communes descending, then libelle, action_id."""
        return (
            self.status.filter(pl.col("deployee"))
            .join(self.actions.select("action_id"), on="action_id", how="anti")
            .select(AVAILABLE_COLUMNS)
            .sort(["nb_communes", "libelle", "action_id"], descending=[True, False, False])
        )

    @cached_property
    def timeline(self) -> pl.DataFrame:
        """One row per year of :attr:`years`: annee, nb_actions (its number of actions
        at D of that year), moyenne_communes (mean over all member communes),
        moyenne_strate (mean over the member communes of its size class; null when
        its population is unknown). Means rounded half up to 2 decimals."""
        counts = self._counts
        own = counts.filter(pl.col("code_insee") == self.code_insee).select(
            "annee", "nb_actions"
        )
        everyone = counts.group_by("annee").agg(_mean_actions().alias(
            "moyenne_communes"))
        same = (
            counts.filter(pl.col("size_class") == self.size_class)
            .group_by("annee")
            .agg(_mean_actions().alias("moyenne_strate"))
        )
        timeline = own.join(everyone, on="annee", how="left").join(same, on="annee", how="left")
        if not self.known_size:
            timeline = timeline.with_columns(pl.lit(None, dtype=pl.Float64).alias(
                "moyenne_strate"))
        return timeline.select(TIMELINE_COLUMNS).sort("annee")

    @cached_property
    def peer_counts(self) -> pl.DataFrame:
        """The member communes of its size class at D: code_insee, nom, population,
        nb_actions, rang (1 = most actions, ties share the best rank); sorted by rang,
        then code_insee. Empty when its population is unknown."""
        if not self.known_size:
            return pl.DataFrame(schema={"code_insee": pl.String, "nom": pl.String,
                                        "population": pl.Int64, "nb_actions": pl.Int64,
                                        "rang": pl.Int64})
        year = self._counts.filter(
            (pl.col("annee") == self.year) & (pl.col("size_class") == self.size_class)
        )
        names = self.dataset.communes.select("code_insee", "nom")
        return (
            year.join(names, on="code_insee")
            .select(
                "code_insee",
                "nom",
                "population",
                "nb_actions",
                pl.col("nb_actions").rank("min", descending=True).cast(pl.Int64).alias("rang"),
            )
            .sort("rang", "code_insee")
        )

    @cached_property
    def peers(self) -> dict[str, Any]:
        """Comparison with the member communes of its size class at D.

        Keys: classe, communes (how many, itself included), moyenne (2 decimals),
        minimum, maximum, rang (1 = most actions; ties share the best rank),
        ex_aequo (other communes of the class with the same number). When its
        population is unknown, classe is "population inconnue" and the rest None.
        """
        if not self.known_size:
            keys = ("communes", "moyenne", "minimum", "maximum", "rang", "ex_aequo")
            return {"classe": self.size_class, **dict.fromkeys(keys)}
        peer_counts = self.peer_counts
        own = peer_counts.filter(pl.col("code_insee") == self.code_insee).row(0, named=True)
        summary = peer_counts.select(
            pl.len().cast(pl.Int64).alias("communes"),
            _mean_actions().alias("moyenne"),
            pl.col("nb_actions").min().cast(pl.Int64).alias("minimum"),
            pl.col("nb_actions").max().cast(pl.Int64).alias("maximum"),
            ((pl.col("nb_actions") == own["nb_actions"]).sum().cast(pl.Int64) - 1)
            .alias("ex_aequo"),
        ).row(0, named=True)
        return {"classe": self.size_class, **summary, "rang": own["rang"]}

    @cached_property
    def indicators(self) -> dict[str, Any]:
        """The key figures of the sheet, plain Python values ready for ``json.dumps``."""
        last = self.timeline.filter(pl.col("annee") == self.year).row(0, named=True)
        peers = self.peers
        return {
            "annee": self.year,
            "date_reference": self.reference.isoformat(),
            "code_insee": self.code_insee,
            "nom": self.name,
            "nb_actions": last["nb_actions"],
            "actions": sorted(self.actions["action_id"].to_list()),
            "actions_disponibles": sorted(self.available["action_id"].to_list()),
            "actions_deployees": int(self.status["deployee"].sum()),
            "strate": peers["classe"],
            "communes_dans_la_strate": peers["communes"],
            "rang_dans_la_strate": peers["rang"],
            "moyenne_communes": last["moyenne_communes"],
            "moyenne_strate": last["moyenne_strate"],
            "donnees_illustratives": self.dataset.illustrative,
            **self._finance_indicators(),
            # Only for a commune nouvelle: other sheets keep their figures byte for byte.
            **({"actions_reprises": [
                {"action_id": a, "code_origine": c, "depuis": d.isoformat()}
                for a, c, d in self.inherited.select("action_id", "code_origine", "depuis")
                .iter_rows()]} if self.inherited.height else {}),
        }

    @cached_property
    def finance(self) -> pl.DataFrame | None:
        """What the commune is charged in the year, per action (rows of
        :func:`mutualisation.compute.moyens.charges`); None without a ``moyens`` table."""
        if self.dataset.moyens is None:
            return None
        return (moyens_figures.charges(self.dataset, self.year)
                .filter(pl.col("code_insee") == self.code_insee).sort("libelle", "action_id"))

    @cached_property
    def finance_series(self) -> pl.DataFrame | None:
        """What the commune is charged each year up to the sheet's (annee,
        cout_fonctionnement, actions); None without a ``moyens`` table."""
        if self.dataset.moyens is None:
            return None
        return moyens_figures.commune_series(self.dataset, self.code_insee, self.years)

    def _finance_indicators(self) -> dict[str, Any]:
        if self.finance is None:
            return {}
        costs = self.finance.filter(pl.col("cout_fonctionnement").is_not_null())
        total = self.finance_series.filter(pl.col("annee") == self.year)["cout_fonctionnement"]
        return {"cout_impute": total[0] if costs.height else None,
                "actions_financees": sorted(self.finance["action_id"].to_list())}

    # ------------------------------------------------------------------ files

    def tables(self) -> dict[str, pl.DataFrame]:
        """The tables of the sheet, by file stem, ready for CSV."""
        return {
            "actions": self.actions,
            "actions_disponibles": self.available,
            "comparaison": pl.DataFrame([self.peers]),
            "parcours": self.timeline,
            **({} if self.finance is None else {"finance": self.finance}),
            **({"reprises": self.inherited} if self.inherited.height else {}),
        }


def _mean_actions() -> pl.Expr:
    """The mean number of actions of the communes of a group, rounded half up to 2 decimals
    as the indicators round; null for a group without communes."""
    values = pl.col("nb_actions")
    return indicators.rounded_ratio(values.sum(), values.count(), 2, empty=None)


def _communes_file(dataset: Dataset) -> str:
    source = dataset.sources.get("communes")
    return source.name if source is not None else "communes"


def check_member(dataset: Dataset, year: int, code: str) -> None:
    """Raise DataError when ``code`` is not a commune of the data or not a member at D."""
    where = _communes_file(dataset)
    found = dataset.communes.filter(pl.col("code_insee") == code)
    if found.is_empty():
        raise DataError([Problem(where, f"la commune {code} n'est pas dans les données "
                                 "(code INSEE inconnu)")])
    row = found.row(0, named=True)
    d = reference_date(year)
    label = f"la commune {code} ({row['nom']}) n'est pas membre au {fr_date(d)}"
    if row["date_adhesion"] > d:
        raise DataError([Problem(where, f"{label} : elle adhère le "
                                 f"{fr_date(row['date_adhesion'])}")])
    if row["date_sortie"] is not None and row["date_sortie"] <= d:
        raise DataError([Problem(where, f"{label} : elle a quitté l'intercommunalité le "
                                 f"{fr_date(row['date_sortie'])}")])


