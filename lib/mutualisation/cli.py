"""The ``mutualisation`` command line."""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, TypeVar

import typer

from mutualisation.compute.fiche import check_member
from mutualisation.compute.indicators import member_communes
from mutualisation.config import DATA_DIR, OUTPUTS_DIR
from mutualisation.data.followup import WriteError, import_followup
from mutualisation.data.init import BadMembersSince, FolderExists, InitError, init_data_folder
from mutualisation.data.parameters import (
    ParameterError,
    Parameters,
    normalise_code,
    valid_date,
    valid_thresholds,
    valid_year,
)
from mutualisation.data.problems import DataError, shown
from mutualisation.data.reference import AmbiguousEpciError, ReferenceLookupError
from mutualisation.data.template import write_template
from mutualisation.data.validate import check_year, describe, load_dataset
from mutualisation.export.index import write_index
from mutualisation.files import os_reason, replacing
from mutualisation.formatting import plural
from mutualisation.run import interruption
from mutualisation.run.console import say
from mutualisation.run.publish import Interrupted, OutputBusy, ReportError, output_lock, recover
from mutualisation.startup import printable_output, skip_iri_format_checker

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Bilan du schéma de mutualisation : contrôle des données et rapports annuels.",
)

# readable=False: an unreadable folder is the loader's to report, in French.
DataOption = Annotated[
    Path, typer.Option("--data", readable=False,
                       help="Dossier des tables communes, actions, participations.")
]


#: Exit statuses besides 0: 1 a run failed, 2 bad input or parameters, 75 the output folder
#: is held by another run (``--sans-attendre``; EX_TEMPFAIL: try again later), 130 Ctrl-C.
EXIT_FAILED, EXIT_INPUT, EXIT_BUSY, EXIT_INTERRUPTED = 1, 2, 75, 130


def fail(lines: list[str], code: int = EXIT_INPUT) -> None:
    """Print problems on standard error, one per line, and exit without a traceback."""
    for line in lines:
        say(line)
    raise typer.Exit(code)


def batch_log(line: str) -> None:
    """What a run of a batch says that must not be lost under the progress bar: warnings
    (a folder that could not be removed, a PDF that could not be printed)."""
    if "attention :" in line or "n'a pas été imprimé" in line:
        say(line)


Command = TypeVar("Command", bound=Callable[..., None])


def interruptible(command: Command) -> Command:
    """Ctrl-C ends a command with one line and status 130 (Click would say « Aborted! »)."""

    @functools.wraps(command)
    def run(*args, **kwargs) -> None:
        try:
            command(*args, **kwargs)
        except Interrupted as err:
            fail([str(err)], EXIT_INTERRUPTED)
        except KeyboardInterrupt:
            fail(["interrompu : rien n'a été modifié par cette commande"], EXIT_INTERRUPTED)

    return run  # type: ignore[return-value]


@app.command()
@interruptible
def check(data: DataOption = DATA_DIR) -> None:
    """Valide un dossier de données et en affiche le résumé."""
    try:
        dataset = load_dataset(data)
    except DataError as err:
        fail(err.lines())
    print(describe(dataset))


def _digits(text: str) -> bool:
    # str.isdigit() accepts "²" or "٣", which int() then refuses or reads differently; the
    # length cap keeps int() far from its 4,300-digit limit (bounds are checked afterwards).
    return text.isascii() and text.isdigit() and len(text) <= 30


def parse_year(text: str | None) -> int | None:
    """The --year option: a year within the bounds of the report, or None for the last one."""
    if text is None:
        return None
    if not _digits(text.strip()):
        fail([f"--year : année invalide « {shown(text)} » (attendu : une année comme 2019)"])
    try:
        return valid_year(int(text))
    except ParameterError as err:
        fail([f"--year : {err}"])


def parse_thresholds(text: str) -> list[int]:
    """The --seuils option: comma-separated integers within the bounds of the report."""
    values = [v.strip() for v in text.split(",") if v.strip()]
    if not values or not all(_digits(v) for v in values):
        fail([f"--seuils : valeur invalide « {shown(text)} » "
              "(attendu : entiers positifs séparés par des virgules, ex. 1,2,5)"])
    try:
        return list(valid_thresholds([int(v) for v in values]))
    except ParameterError as err:
        fail([f"--seuils : {err}"])


OutOption = Annotated[Path, typer.Option("--out", readable=False, help="Dossier de sortie.")]
WorkersOption = Annotated[int | None, typer.Option(
    "--workers", help="Noyaux Python en parallèle (défaut : un par cœur).")]
NoWaitOption = Annotated[bool, typer.Option(
    "--sans-attendre", help="Si une autre exécution écrit déjà dans OUT, s'arrêter aussitôt "
    "(code 75) au lieu d'attendre sa fin.")]


@contextlib.contextmanager
def holding(out: Path, no_wait: bool) -> Iterator[None]:
    """The output folder's lock for a whole command; a busy folder is a clear error."""
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(output_lock(out, wait=not no_wait, log=say))
        except OutputBusy as err:
            fail([str(err)], EXIT_BUSY)
        except OSError as err:
            fail([f"--out : verrou impossible dans « {out} » ({os_reason(err)})"])
        yield


def check_out(out: Path) -> None:
    """The output folder exists or can be made, and can be written to; else a clear error."""
    import tempfile

    if out.exists() and not out.is_dir():
        fail([f"--out : « {out} » n'est pas un dossier"])
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as err:
        fail([f"--out : écriture impossible dans « {out} » ({os_reason(err)})"])


def check_workers(workers: int | None) -> None:
    """--workers: at least one kernel (checked here for a French message)."""
    if workers is not None and workers < 1:
        fail([f"--workers : {workers} n'est pas admis (au moins 1 noyau)"])


def refresh_index(out: Path) -> Path:
    """Recover what a crashed run left in ``out``, then rewrite its index page.

    Call it holding the lock. A failure (a full disk) is one line, status 1: the reports
    themselves are already written.
    """
    recover(out, say)
    try:
        return write_index(out)
    except OSError as err:
        fail([f"{out / 'index.html'} n'a pas pu être écrit ({os_reason(err)}) ; les rapports "
              "sont en place, relancer « mutualisation index » pour la page d'entrée"],
             EXIT_FAILED)
        raise  # unreachable: fail() exits


def _batch(jobs: list, description: str, workers: int | None, out: Path) -> list:
    """Run a batch; on Ctrl-C the index still lists the reports written before it."""
    from mutualisation.run.batch import run_jobs  # as run_report below

    try:
        return run_jobs(jobs, description, workers)
    except Interrupted:
        refresh_index(out)
        raise


def _finish_batch(outcomes: list, out: Path, singular: str, plural_form: str) -> None:
    """Write the index, summarise a batch and exit non-zero when some runs failed."""
    index = refresh_index(out)
    failed = [o for o in outcomes if not o.ok]
    done = plural(len(outcomes) - len(failed), singular, plural_form)
    print(f"{done} sur {len(outcomes)} ; index : {index}", file=sys.stderr)
    if failed:
        # Each failure was printed with its reason as it happened; name them once more.
        fail([f"{plural(len(failed), 'échec', 'échecs')} : "
              + ", ".join(o.label for o in failed)], code=1)


@app.command()
@interruptible
def report(
    year: Annotated[str | None, typer.Option(
        "--year", help="Année du bilan (défaut : la dernière des données).")] = None,
    all_years: Annotated[bool, typer.Option(
        "--all-years", help="Toutes les années couvertes par les données.")] = False,
    data: DataOption = DATA_DIR,
    out: OutOption = OUTPUTS_DIR,
    seuils: Annotated[str, typer.Option(
        "--seuils", help="Seuils « au moins k actions », séparés par des virgules.")] = "1,2,5",
    workers: WorkersOption = None,
    sans_attendre: NoWaitOption = False,
) -> None:
    """Écrit le bilan d'une année dans OUT/ANNÉE/ (notebook, HTML, PDF, Excel, indicateurs)."""
    check_workers(workers)
    # The report pipeline imports nbformat (0.10 to 0.26 s measured here): not for check or
    # index.
    from mutualisation.run.report import run_report

    thresholds = parse_thresholds(seuils)
    if all_years and year is not None:
        fail(["--year et --all-years s'excluent : choisir l'un ou l'autre"])
    # Checked once, here; everything below takes the parameters as valid.
    parameters = Parameters.checked(data.resolve(), parse_year(year), thresholds)
    # Bad input stops the run before anything is written, the output folder included: the
    # data, and the years it gives (each within the bounds of a report).
    try:
        dataset = load_dataset(data)
        years = dataset.years if all_years else [parameters.year or dataset.last_year]
        asked = [parameters.for_year(y) for y in years]
        if not all_years:
            check_year(dataset, years[0])
    except DataError as err:
        fail(err.lines())
    except ParameterError as err:
        fail([str(err)])
    check_out(out)
    with holding(out, sans_attendre):
        if not all_years:
            try:
                run_report(asked[0], out, log=say, dataset=dataset)
            except Interrupted:
                raise
            except ReportError as err:
                fail([str(err)], EXIT_FAILED)
            refresh_index(out)
            return

        # The earlier reports as they stand before the first run: every bilan compares with
        # them, whatever order the runs end in.
        from mutualisation.run.revisions import read_published

        published = read_published(out, data)
        jobs = [(f"bilan {one.year}",
                 lambda executor, one=one: run_report(one, out, executor=executor,
                                                      dataset=dataset, log=batch_log,
                                                      published=published))
                for one in asked]
        _finish_batch(_batch(jobs, "Bilans", workers, out), out, "bilan écrit",
                      "bilans écrits")


@app.command()
@interruptible
def fiches(
    year: Annotated[str | None, typer.Option(
        "--year", help="Année des fiches (défaut : la dernière des données).")] = None,
    communes: Annotated[list[str] | None, typer.Option(
        "--communes", help="Codes INSEE (répéter l'option ou séparer par des virgules ; "
        "défaut : toutes les communes membres).")] = None,
    data: DataOption = DATA_DIR,
    out: OutOption = OUTPUTS_DIR,
    workers: WorkersOption = None,
    sans_attendre: NoWaitOption = False,
) -> None:
    """Écrit une fiche par commune dans OUT/ANNÉE/fiches/CODE_INSEE/."""
    check_workers(workers)
    from mutualisation.run.report import run_fiche  # as run_report in report()

    parsed = parse_year(year)
    try:
        dataset = load_dataset(data)
        parameters = Parameters.checked(data.resolve(), parsed or dataset.last_year)
        annee = parameters.year
        check_year(dataset, annee)
    except DataError as err:
        fail(err.lines())
    except ParameterError as err:
        fail([str(err)])
    members = member_communes(dataset, annee).select("code_insee", "nom")
    names = dict(members.iter_rows())
    if communes:
        problems = []
        codes = []
        for item in communes:
            for text in filter(None, (c.strip() for c in item.split(","))):
                try:
                    code = normalise_code(text)
                    check_member(dataset, annee, code)
                    codes.append(code)
                except ParameterError as err:
                    problems.append(f"--communes : {err}")
                except DataError as err:
                    problems += err.lines()
        if problems:
            fail(problems)
    else:
        codes = list(names)
    jobs = [(f"fiche {code} {names.get(code, '')}".strip(),
             lambda executor, code=code: run_fiche(parameters.for_commune(code), out,
                                                   executor=executor, dataset=dataset,
                                                   log=batch_log))
            for code in codes]
    check_out(out)
    with holding(out, sans_attendre):
        _finish_batch(_batch(jobs, f"Fiches {annee}", workers, out), out, "fiche écrite",
                      "fiches écrites")


@app.command()
@interruptible
def index(out: OutOption = OUTPUTS_DIR, sans_attendre: NoWaitOption = False) -> None:
    """Réécrit OUT/index.html, la page d'entrée des bilans et des fiches."""
    check_out(out)
    with holding(out, sans_attendre):
        print(refresh_index(out))


@app.command()
@interruptible
def template(
    out: Annotated[Path, typer.Option(
        "--out", help="Classeur à écrire (FICHIER.xlsx).")],
    data: DataOption = DATA_DIR,
    force: Annotated[bool, typer.Option(
        "--force", help="Remplacer le classeur s'il existe déjà.")] = False,
) -> None:
    """Écrit un classeur Excel vide à remplir (communes, actions, participations).

    Ses listes déroulantes sont tirées des données de DATA.
    """
    if out.suffix.lower() != ".xlsx":
        fail([f"--out : « {out} » doit être un classeur .xlsx"])
    if out.exists() and not force:
        fail([f"{out} existe déjà : le supprimer ou relancer avec --force pour le remplacer"])
    if out.is_dir():
        fail([f"{out} est un dossier : indiquer un fichier .xlsx"])
    try:
        dataset = load_dataset(data)
    except DataError as err:
        fail(err.lines())
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with replacing(out) as staging:  # an interrupted run leaves no half-written workbook
            write_template(staging, dataset)
    except OSError as err:
        fail([f"{out} : écriture impossible ({os_reason(err)})"], code=1)
    print(f"Modèle écrit : {out}")


@app.command("import")
@interruptible
def import_(
    fichier: Annotated[Path, typer.Argument(
        metavar="FICHIER", readable=False,
        help="Tableau de suivi : classeur .xlsx ou fichier .csv (communes par nom ou code, "
        "une colonne par action, ou une ligne par commune et action).")],
    data: Annotated[Path, typer.Option(
        "--data", readable=False,
        help="Dossier des tables communes et actions, où écrire participations.csv.")],
    feuille: Annotated[str | None, typer.Option(
        "--feuille", help="Feuille du classeur à lire (défaut : la première).")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Remplacer participations.csv s'il existe déjà.")] = False,
    date_par_defaut: Annotated[str | None, typer.Option(
        "--date-par-defaut", metavar="DATE",
        help="Début des cellules X d'une action sans date de déploiement "
        "(JJ/MM/AAAA, AAAA-MM-JJ ou une année).")] = None,
    moyens: Annotated[bool, typer.Option(
        "--moyens", help="Le fichier est un tableau des coûts (une ligne par action, année "
        "et commune) : l'écrire dans DATA/moyens.csv.")] = False,
) -> None:
    """Convertit un tableau de suivi en DATA/participations.csv, avec son rapport.

    Tableau croisé (communes × actions) ou liste ; rapport écrit dans rapport_import.txt.
    Avec --moyens, un tableau des coûts en DATA/moyens.csv.
    """
    if moyens:
        _import_costs(fichier, data, feuille, force)
        return
    try:
        result = import_followup(fichier, data, sheet=feuille, force=force,
                                 default_date=date_par_defaut)
    except WriteError as err:
        fail(err.lines(), EXIT_FAILED)
    except DataError as err:
        fail(err.lines())
    print(result.report, end="")
    print(f"Écrits : {result.output} et {result.report_path}")


def _earlier_data(depuis: Path) -> Path:
    """The data folder --depuis names: a report's snapshot (``OUT/ANNÉE``, or its
    ``donnees/``) or any data folder."""
    from mutualisation.config import SNAPSHOT_DIR

    if (depuis / SNAPSHOT_DIR).is_dir():
        return depuis / SNAPSHOT_DIR
    if (depuis / "indicators.json").is_file():
        fail([f"--depuis : {depuis} est un rapport sans copie de ses données (fait avant "
              f"qu'un rapport garde son dossier {SNAPSHOT_DIR}/) : le régénérer, ou "
              "comparer avec un dossier de données"])
    return depuis


@app.command()
@interruptible
def diff(
    depuis: Annotated[Path, typer.Option(
        "--depuis", readable=False, metavar="OUT/ANNÉE|DOSSIER",
        help="Un rapport antérieur (les données qu'il a gardées) ou un autre dossier de "
        "données.")],
    data: DataOption = DATA_DIR,
) -> None:
    """Liste ce qui a changé dans les données depuis un rapport ou un autre dossier.

    Communes, actions et participations ajoutées, supprimées ou modifiées, champ par champ.
    Code de sortie : 0 aucun changement, 1 des changements, 2 données invalides.
    """
    from mutualisation.compute.changes import compare
    from mutualisation.data.snapshot import located_tables
    from mutualisation.present.changes_text import change_report

    earlier = _earlier_data(depuis)
    try:
        before = located_tables(earlier)
    except DataError as err:
        fail([f"--depuis ({earlier}) : {line}" for line in err.lines()])
    try:
        after = located_tables(data)
    except DataError as err:
        fail(err.lines())
    changes = compare(before, after)
    for line in change_report(changes, str(earlier), str(data)):
        print(line)
    if not changes.empty:
        raise typer.Exit(EXIT_FAILED)


def _import_costs(fichier: Path, data: Path, feuille: str | None, force: bool) -> None:
    from mutualisation.data.followup.costs import import_costs

    try:
        result = import_costs(fichier, data, sheet=feuille, force=force)
    except DataError as err:
        fail(err.lines())
    print(result.report, end="")
    print(f"Écrit : {result.output}")


#: How many candidates an ambiguous --epci lists before counting the rest.
SHOWN_CANDIDATES = 20


@app.command()
@interruptible
def init(
    epci: Annotated[str, typer.Option(
        "--epci", help="SIREN de l'intercommunalité (un ancien SIREN est suivi), ou son nom.")],
    data: Annotated[Path, typer.Option(
        "--data", readable=False, help="Dossier de données à créer.")],
    schema_adopte_le: Annotated[str | None, typer.Option(
        "--schema-adopte-le", metavar="DATE",
        help="Date d'adoption du schéma (JJ/MM/AAAA ou AAAA-MM-JJ) : première année "
        "couverte par les données.")] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Remplacer le dossier s'il existe déjà et n'est pas vide.")] = False,
    membres_depuis: Annotated[str | None, typer.Option(
        "--membres-depuis", metavar="DATE",
        help="Date depuis laquelle les communes du premier millésime du référentiel "
        "(1er janvier 2019) sont membres : leur date d'adhésion.")] = None,
) -> None:
    """Crée un dossier de données depuis le référentiel officiel, sans réseau.

    Communes, fusions, contours et classeur des actions à remplir, prêts pour check.
    """
    adopted = None
    if schema_adopte_le is not None:
        try:
            adopted = valid_date(schema_adopte_le)
        except ParameterError as err:
            fail([f"--schema-adopte-le : {err}"])
    since = None
    if membres_depuis is not None:
        try:
            since = valid_date(membres_depuis)
        except ParameterError as err:
            fail([f"--membres-depuis : {err}"])
    try:
        result = init_data_folder(epci, data, schema_adopted=adopted, force=force,
                                  members_since=since)
    except AmbiguousEpciError as err:
        listed = [f"  {candidate.label()}" for candidate in err.candidates[:SHOWN_CANDIDATES]]
        rest = len(err.candidates) - len(listed)
        more = [f"  … et {plural(rest, 'autre', 'autres')} : préciser le nom ou donner le SIREN"]
        fail([f"--epci : « {shown(epci)} » désigne "
              f"{len(err.candidates)} intercommunalités :", *listed, *(more if rest else [])])
    except ReferenceLookupError as err:
        fail([f"--epci : {err}"])
    except (FolderExists, BadMembersSince) as err:
        fail([str(err)])
    except InitError as err:
        fail([str(err)], EXIT_FAILED)
    for line in result.lines:
        print(line)


@app.callback()
def main() -> None:
    """Bilan du schéma de mutualisation."""
    interruption.install()
    printable_output()
    skip_iri_format_checker()  # before any command imports nbformat (and so jsonschema)
