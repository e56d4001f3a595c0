"""Benchmark: cold papermill against the pool of warm kernels (mutualisation.run.kernels).

Run by hand from the project root::

    .venv/bin/python bench/bench.py [--fiches N] [--naive-sample K] [--repeat R]
    .venv/bin/python bench/bench.py --big-only [--repeat R]

Every figure comes from ONE run and is compared with a floor measured in the same run
(the machine is shared and noisy: only ratios measured together mean something). Prints
a table and writes ``bench/results.json`` (``bench/results_big.json`` with ``--big-only``:
the floor, the MEL report command and the large EPCI's, nothing else). See
``bench/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

import nbformat  # noqa: E402
from big_data import write_big_dataset  # noqa: E402  (bench/ is this script's folder)

from mutualisation.run.execute import execute as cold_execute  # noqa: E402
from mutualisation.run.kernels import KernelPool  # noqa: E402

BENCH = ROOT / "bench"
FLOOR = BENCH / "floor.ipynb"
BILAN = ROOT / "notebooks" / "bilan.ipynb"
FICHE = ROOT / "notebooks" / "fiche_commune.ipynb"
YEARS = range(2015, 2020)
SEUILS = [1, 2, 5]
#: Targets of the issue.
ONE_BILAN_TARGET = 1.25  # one bilan within 1.25 x the floor
ALL_SHEETS_TARGET = 5.0  # all sheets at least 5 x faster than the naive loop
BIG_REPORT_TARGET = 2.0  # the largest EPCI's report within 2 x the MEL report (command)
#: The large EPCI of bench/big_data.py: as many communes as the largest French EPCI.
BIG = {"communes": 158, "actions": 100, "years": 10, "first_year": 2015}
BIG_YEAR = BIG["first_year"] + BIG["years"] - 1
BIG_LABEL = f"{BIG['communes']} communes × {BIG['actions']} actions × {BIG['years']} ans"


def write_floor() -> None:
    """The floor: a one-cell notebook importing what every report imports."""
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3",
                              "language": "python"}
    cell = nbformat.v4.new_code_cell("import altair  # noqa: F401\nimport polars  # noqa: F401\n\n"
                                     "import mutualisation  # noqa: F401")
    cell["id"] = "plancher"
    nb.cells = [cell]
    nbformat.write(nb, FLOOR)


def timed(work: Callable[[], Any]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def median_of(repeat: int, work: Callable[[int], Any]) -> tuple[float, list[float]]:
    times = [timed(lambda i=i: work(i)) for i in range(repeat)]
    return statistics.median(times), times


def sheet_jobs(count: int, tmp: Path) -> tuple[Path, list[dict[str, Any]], str]:
    """``count`` commune sheets (the real notebook if present, else the bilan as stand-in)."""
    if FICHE.exists():
        from mutualisation.data.validate import load_dataset

        dataset = load_dataset(ROOT / "data")
        year = dataset.last_year
        codes = sorted(dataset.communes["code_insee"].cast(str).to_list())
        try:
            from mutualisation.compute.fiche import check_member

            members = []
            for code in codes:
                try:
                    check_member(dataset, year, code)
                except Exception:
                    continue
                members.append(code)
        except ImportError:
            members = codes
        chosen = (members * (count // max(len(members), 1) + 1))[:count]
        params = [{"annee": year, "code_insee": code, "donnees": "data"} for code in chosen]
        return FICHE, params, (f"notebooks/fiche_commune.ipynb, année {year}, "
                               f"{len(set(chosen))} communes membres distinctes")
    params = [{"annee": 2019, "donnees": "data", "seuils": SEUILS} for _ in range(count)]
    return BILAN, params, ("notebooks/fiche_commune.ipynb absent : le bilan 2019 tient lieu "
                           "de fiche (substitut)")


def full_command(out: Path, year: int = 2019, data: Path | None = None) -> None:
    """``mutualisation report --year 2019`` as a user runs it (HTML, workbook, PDF)."""
    extra = [] if data is None else ["--data", str(data)]
    subprocess.run([sys.executable, "-m", "mutualisation", "report", "--year", str(year),
                    *extra, "--out", str(out)], check=True, capture_output=True)


def big_only(repeat: int, results: dict[str, Any]) -> None:
    """Floor, MEL report command and the large EPCI's, in alternation; results_big.json."""
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp_name:
        tmp = Path(tmp_name)
        big = write_big_dataset(tmp / "big", **BIG)
        print(f"plancher, commande MEL et commande {BIG_LABEL}, en alternance…")
        runs: dict[str, list[float]] = {"floor": [], "command": [], "command_big": []}
        for i in range(repeat):
            runs["floor"].append(timed(lambda i=i: cold_execute(
                FLOOR, tmp / f"floor{i}.ipynb", {})))
            runs["command"].append(timed(lambda i=i: full_command(tmp / f"cmd{i}")))
            runs["command_big"].append(timed(lambda i=i: full_command(
                tmp / f"big{i}", BIG_YEAR, big)))
    medians = {k: statistics.median(v) for k, v in runs.items()}
    pairs = [b / m for b, m in zip(runs["command_big"], runs["command"], strict=True)]
    ratio = medians["command_big"] / medians["command"]
    rows = [
        ("(a) plancher : papermill à froid, imports seuls", medians["floor"]),
        ("    commande `report --year 2019`, MEL (90 communes)", medians["command"]),
        (f"    commande `report --year {BIG_YEAR}`, {BIG_LABEL}", medians["command_big"]),
    ]
    print()
    print(f"{'mesure':<70} {'temps (s)':>10} {'× plancher':>11}")
    for label, value in rows:
        print(f"{label:<70} {value:>10.2f} {value / medians['floor']:>11.2f}")
    print()
    print(f"Rapports grand EPCI / MEL mesurés côte à côte : "
          f"{', '.join(f'{p:.2f}' for p in pairs)}.")
    print(f"Objectif « grand EPCI ≤ {BIG_REPORT_TARGET} × le rapport MEL » : {ratio:.2f} "
          f"({'atteint' if ratio <= BIG_REPORT_TARGET else 'NON atteint'}).")
    results.update({
        "big_data": {**BIG, "year": BIG_YEAR, "generator": "bench/big_data.py"},
        "seconds": {
            "floor_median": medians["floor"], "floor_runs": runs["floor"],
            "report_command_median": medians["command"],
            "report_command_runs": runs["command"],
            "report_command_big_median": medians["command_big"],
            "report_command_big_runs": runs["command_big"],
        },
        "ratios_to_floor": {label.strip(): value / medians["floor"] for label, value in rows},
        "targets": {"big_report_ratio": ratio, "big_report_pairs": pairs,
                    "big_report_target": BIG_REPORT_TARGET,
                    "big_report_met": ratio <= BIG_REPORT_TARGET},
    })
    (BENCH / "results_big.json").write_text(json.dumps(results, ensure_ascii=False, indent=2)
                                            + "\n", encoding="utf-8")
    print(f"Résultats écrits dans {(BENCH / 'results_big.json').relative_to(ROOT)}")


def run_parallel(pool: KernelPool, notebook: Path, params: list[dict[str, Any]],
                 folder: Path) -> tuple[float, int]:
    """Run every job through the pool with ``pool.size`` threads; (wall, failures)."""
    folder.mkdir(parents=True, exist_ok=True)
    failures = 0

    def one(index: int) -> None:
        nonlocal failures
        try:
            pool.execute(notebook, folder / f"{index:03d}.ipynb", params[index])
        except Exception as err:  # counted and reported, the bench goes on
            failures += 1
            print(f"  échec {index} : {type(err).__name__} : {err}"[:300], file=sys.stderr)

    start = time.perf_counter()
    with ThreadPoolExecutor(pool.size) as workers:
        list(workers.map(one, range(len(params))))
    return time.perf_counter() - start, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fiches", type=int, default=95, help="nombre de fiches (95)")
    parser.add_argument("--naive-sample", type=int, default=3,
                        help="fiches exécutées à froid pour extrapoler la boucle naïve (3)")
    parser.add_argument("--repeat", type=int, default=3, help="répétitions des médianes (3)")
    parser.add_argument("--size", type=int, default=None,
                        help="noyaux du groupe (par défaut os.cpu_count())")
    parser.add_argument("--big-only", action="store_true",
                        help="seulement le plancher et les commandes MEL et grand EPCI")
    args = parser.parse_args()
    os.chdir(ROOT)
    if not FLOOR.exists():
        write_floor()
    results: dict[str, Any] = {
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "repeat": args.repeat,
    }
    if args.big_only:
        big_only(args.repeat, results)
        return
    bilan_2019 = {"annee": 2019, "donnees": "data", "seuils": SEUILS}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp_name:
        tmp = Path(tmp_name)
        big = write_big_dataset(tmp / "big", **BIG)
        # Floor, cold bilans and commands alternate, so that a slow spell of this shared
        # machine weighs on all of them alike.
        print("(a) plancher, (b) bilan 2019 à froid et commandes, en alternance…")
        cold_runs: dict[str, list[float]] = {"floor": [], "plain": [], "ahead": [],
                                             "command": [], "command_big": []}
        for i in range(args.repeat):
            cold_runs["floor"].append(timed(lambda i=i: cold_execute(
                FLOOR, tmp / f"floor{i}.ipynb", {})))
            cold_runs["plain"].append(timed(lambda i=i: cold_execute(
                BILAN, tmp / f"plain{i}.ipynb", bilan_2019)))
            cold_runs["ahead"].append(timed(lambda i=i: cold_execute(
                BILAN, tmp / f"ahead{i}.ipynb", bilan_2019, draw_ahead="bilan")))
            cold_runs["command"].append(timed(lambda i=i: full_command(tmp / f"cmd{i}")))
            cold_runs["command_big"].append(timed(lambda i=i: full_command(
                tmp / f"big{i}", BIG_YEAR, big)))
        floor, floor_all = statistics.median(cold_runs["floor"]), cold_runs["floor"]
        plain, plain_all = statistics.median(cold_runs["plain"]), cold_runs["plain"]
        cold, cold_all = statistics.median(cold_runs["ahead"]), cold_runs["ahead"]
        command, command_all = statistics.median(cold_runs["command"]), cold_runs["command"]
        command_big = statistics.median(cold_runs["command_big"])
        command_big_all = cold_runs["command_big"]

        print("    démarrage du groupe de noyaux chauds…")
        start = time.perf_counter()
        pool = KernelPool(args.size)
        with pool:
            pool_start = time.perf_counter() - start
            print("(b) un bilan 2019 par le groupe (noyau chaud)…")
            warm, warm_all = median_of(args.repeat, lambda i: pool.execute(
                BILAN, tmp / f"warm{i}.ipynb", bilan_2019))
            print(f"(c) les bilans {YEARS.start}–{YEARS.stop - 1} par le groupe…")
            years = [{"annee": y, "donnees": "data", "seuils": SEUILS} for y in YEARS]
            all_years, years_failed = run_parallel(pool, BILAN, years, tmp / "years")
            sheet_nb, sheet_params, sheet_note = sheet_jobs(args.fiches, tmp)
            print(f"(d) {args.fiches} fiches par le groupe ({sheet_note})…")
            sheets, sheets_failed = run_parallel(pool, sheet_nb, sheet_params, tmp / "sheets")
            replaced = pool.replaced_kernels
        sample = max(1, min(args.naive_sample, len(sheet_params)))
        print(f"(e) boucle naïve : {sample} fiches à froid, extrapolées à {args.fiches}…")
        naive_times = [timed(lambda i=i: cold_execute(sheet_nb, tmp / f"naive{i}.ipynb",
                                                      sheet_params[i]))
                       for i in range(sample)]
        naive = statistics.mean(naive_times) * len(sheet_params)

    size = pool.size
    rows = [
        ("(a) plancher : papermill à froid, imports seuls", floor, floor),
        ("(b) bilan 2019, papermill à froid seul", plain, floor),
        ("(b) bilan 2019, à froid, graphiques dessinés d'avance", cold, floor),
        ("    commande `mutualisation report --year 2019` entière", command, floor),
        (f"    commande `report --year {BIG_YEAR}`, {BIG_LABEL}", command_big, floor),
        ("(b) bilan 2019, groupe chaud (démarrage exclu)", warm, floor),
        (f"    démarrage du groupe ({size} noyaux, en parallèle)", pool_start, floor),
        ("(b) bilan 2019, groupe chaud démarrage compris", pool_start + warm, floor),
        (f"(c) bilans {YEARS.start}–{YEARS.stop - 1} ({len(YEARS)}), groupe, "
         f"{size} fils", all_years, floor),
        (f"(d) {len(sheet_params)} fiches, groupe, {size} fils", sheets, floor),
        (f"(e) {len(sheet_params)} fiches, boucle naïve à froid "
         f"(EXTRAPOLÉ de {sample})", naive, floor),
    ]
    print()
    print(f"{'mesure':<70} {'temps (s)':>10} {'× plancher':>11}")
    for label, value, base in rows:
        print(f"{label:<70} {value:>10.2f} {value / base:>11.2f}")
    one_cold, one_warm = cold / floor, warm / floor
    speedup = naive / sheets
    big_ratio = command_big / command
    print()
    print(f"Fiches : {sheet_note}.")
    print(f"Objectif « un bilan ≤ {ONE_BILAN_TARGET} × plancher » : à froid {one_cold:.2f} "
          f"({'atteint' if one_cold <= ONE_BILAN_TARGET else 'NON atteint'}), "
          f"noyau chaud {one_warm:.2f} "
          f"({'atteint' if one_warm <= ONE_BILAN_TARGET else 'NON atteint'}).")
    print(f"Objectif « toutes les fiches ≥ {ALL_SHEETS_TARGET} × plus vite que la boucle "
          f"naïve » : {speedup:.2f} × "
          f"({'atteint' if speedup >= ALL_SHEETS_TARGET else 'NON atteint'}).")
    print(f"Objectif « grand EPCI ({BIG_LABEL}) ≤ {BIG_REPORT_TARGET} × le rapport MEL » "
          f"(commande entière) : {big_ratio:.2f} "
          f"({'atteint' if big_ratio <= BIG_REPORT_TARGET else 'NON atteint'}).")
    failed = years_failed + sheets_failed
    if failed:
        print(f"ATTENTION : {failed} exécution(s) en échec (voir ci-dessus).")
    results.update({
        "seconds": {
            "floor_median": floor, "floor_runs": floor_all,
            "bilan_cold_plain_median": plain, "bilan_cold_plain_runs": plain_all,
            "bilan_cold_median": cold, "bilan_cold_runs": cold_all,
            "report_command_median": command, "report_command_runs": command_all,
            "report_command_big_median": command_big,
            "report_command_big_runs": command_big_all,
            "pool_start": pool_start, "pool_size": size,
            "bilan_warm_median": warm, "bilan_warm_runs": warm_all,
            "all_years_pool": all_years,
            "sheets_pool": sheets,
            "sheets_naive_extrapolated": naive, "naive_sample_runs": naive_times,
        },
        "ratios_to_floor": {label.strip(): value / base for label, value, base in rows},
        "sheets": {"count": len(sheet_params), "notebook": str(sheet_nb.relative_to(ROOT)),
                   "note": sheet_note, "naive_sample": sample, "naive_extrapolated": True},
        "targets": {
            "one_bilan_cold_ratio": one_cold, "one_bilan_warm_ratio": one_warm,
            "one_bilan_target": ONE_BILAN_TARGET,
            "one_bilan_cold_met": one_cold <= ONE_BILAN_TARGET,
            "one_bilan_warm_met": one_warm <= ONE_BILAN_TARGET,
            "sheets_speedup_vs_naive": speedup, "sheets_target": ALL_SHEETS_TARGET,
            "sheets_met": speedup >= ALL_SHEETS_TARGET,
            "big_report_ratio": big_ratio, "big_report_target": BIG_REPORT_TARGET,
            "big_report_met": big_ratio <= BIG_REPORT_TARGET,
        },
        "big_data": {**BIG, "year": BIG_YEAR, "generator": "bench/big_data.py"},
        "failures": failed, "replaced_kernels": replaced,
    })
    (BENCH / "results.json").write_text(json.dumps(results, ensure_ascii=False, indent=2)
                                        + "\n", encoding="utf-8")
    print(f"Résultats écrits dans {(BENCH / 'results.json').relative_to(ROOT)}")


if __name__ == "__main__":
    main()
