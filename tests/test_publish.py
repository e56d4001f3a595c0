"""Publishing report folders: the lock, crash recovery at every step, failures that keep things.

The fault-injection tests run a publication in a subprocess that dies (``os._exit``) right
after its N-th file-system operation, for every N, then check what the next run finds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from mutualisation.run import publish
from mutualisation.run.publish import OutputBusy, ReportError, output_lock, recover

OLD, NEW = "ancien", "nouveau"
#: Files of a whole report in these tests; the sheets live in ``fiches/``.
REPORT_FILES = ("rapport.txt", "indicateurs.txt", "tables/a.csv")


def make_report(folder: Path, content: str) -> Path:
    for name in REPORT_FILES:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(content)
    return folder


def report_content(folder: Path) -> str:
    """The content of a whole report in ``folder``; fails if it is not whole."""
    contents = {(folder / name).read_text() for name in REPORT_FILES}
    assert len(contents) == 1, contents
    return contents.pop()


def with_sheets(parent: Path) -> Path:
    target = make_report(parent / "2019", OLD)
    (target / "fiches" / "59350").mkdir(parents=True)
    (target / "fiches" / "59350" / "fiche.html").write_text("fiche de Lille")
    return parent


# A publication of a new report over ``parent/2019``, killed after its N-th step.
CRASHING_RUN = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from mutualisation.run import publish

    parent, crash_at, mode = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    steps = []

    def step(name):
        steps.append(name)
        if len(steps) == crash_at:
            os._exit(99)

    publish._after_step = step
    if mode == "renames":
        publish.exchange = lambda first, second: False
    with publish.output_lock(parent):
        publish.recover(parent)
        target = parent / "2019"
        staging = publish.new_staging(target)
        for name in ("rapport.txt", "indicateurs.txt", "tables/a.csv"):
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            (staging / name).write_text("nouveau")
            if crash_at == 0 and name == "indicateurs.txt":
                os._exit(99)  # killed while the report is being built
        publish.publish(staging, target, keep=("fiches",))
    print(" ".join(steps))
""")


def run_crashing(parent: Path, crash_at: int, mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", CRASHING_RUN, str(parent), str(crash_at), mode],
                          capture_output=True, text=True, check=False)


@pytest.mark.parametrize("mode", ["exchange", "renames"])
def test_a_crash_at_any_step_loses_nothing(tmp_path: Path, mode: str) -> None:
    complete = run_crashing(with_sheets(tmp_path / "complete"), 10_000, mode)
    assert complete.returncode == 0, complete.stderr
    steps = complete.stdout.split()
    assert steps[0] == "journal" and steps[-1] == "fin"
    assert ("echange" in steps) == (mode == "exchange")

    for crash_at in range(0, len(steps) + 1):
        parent = tmp_path / f"{mode}-{crash_at}"
        with_sheets(parent)
        result = run_crashing(parent, crash_at, mode)
        assert result.returncode == 99, result.stderr
        if mode == "exchange" or crash_at < steps.index("ancien") + 1:
            # With the exchange, the report is whole at every instant, before any recovery.
            assert report_content(parent / "2019") in (OLD, NEW)
        # The next run recovers: a whole report, the sheets, nothing left behind.
        logs: list[str] = []
        with output_lock(parent):
            recover(parent, logs.append)
        assert logs == []
        published = crash_at >= 1
        assert report_content(parent / "2019") == (NEW if published else OLD), crash_at
        assert (parent / "2019" / "fiches" / "59350" / "fiche.html").read_text() == \
            "fiche de Lille"
        assert sorted(p.name for p in parent.iterdir()) == [".verrou", "2019"], crash_at


def test_publish_in_an_empty_folder_and_over_a_report(tmp_path: Path) -> None:
    target = tmp_path / "2019"
    for content in (OLD, NEW):
        staging = make_report(publish.new_staging(target), content)
        publish.publish(staging, target)
        assert report_content(target) == content
    assert [p.name for p in tmp_path.iterdir()] == ["2019"]


def test_recover_restores_a_report_left_by_an_earlier_version(tmp_path: Path) -> None:
    # Earlier versions renamed the old report to .ancien-2019 before the new one was in place.
    make_report(tmp_path / ".ancien-2019", OLD)
    make_report(tmp_path / ".en-cours-2019-123-456", NEW)  # no journal: never published
    make_report(tmp_path / "2018", OLD)
    make_report(tmp_path / ".ancien-2018", "périmé")
    recover(tmp_path)
    assert report_content(tmp_path / "2019") == OLD
    assert report_content(tmp_path / "2018") == OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2018", "2019"]


def test_a_report_that_cannot_be_removed_does_not_stop_runs(tmp_path: Path,
                                                            monkeypatch) -> None:
    target = make_report(tmp_path / "2019", OLD)
    real_rmtree = publish.shutil.rmtree
    stuck = {"on": True}

    def rmtree(path, *args, **kwargs):
        if stuck["on"]:
            raise PermissionError(13, "Permission non accordée", str(path))
        real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(publish.shutil, "rmtree", rmtree)
    logs: list[str] = []
    publish.publish(make_report(publish.new_staging(target), NEW), target, log=logs.append)
    assert report_content(target) == NEW
    assert len(logs) == 1 and "n'a pas pu être supprimé" in logs[0]
    assert "(accès refusé (droits))" in logs[0]
    # The next run retries, says so again while it fails, and is never stopped by it.
    recover(tmp_path, logs.append)
    publish.publish(make_report(publish.new_staging(target), "troisième"), target,
                    log=logs.append)
    assert report_content(target) == "troisième"
    # The next run (another process: this one's leftovers could be a live thread's) cleans up.
    next_run = subprocess.run(
        [sys.executable, "-c", "import sys; from pathlib import Path; "
         "from mutualisation.run.publish import recover; recover(Path(sys.argv[1]))",
         str(tmp_path)],
        capture_output=True, text=True, check=False)
    assert next_run.returncode == 0 and next_run.stderr == "", next_run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2019"]


def test_read_only_files_of_an_old_report_are_removed(tmp_path: Path) -> None:
    target = make_report(tmp_path / "2019", OLD)
    (target / "tables").chmod(0o555)
    (target / "rapport.txt").chmod(0o444)
    publish.publish(make_report(publish.new_staging(target), NEW), target)
    assert report_content(target) == NEW
    assert [p.name for p in tmp_path.iterdir()] == ["2019"]


def test_a_symbolic_link_or_a_file_is_refused_before_any_work(tmp_path: Path) -> None:
    real = make_report(tmp_path / "ailleurs", OLD)
    (tmp_path / "2019").symlink_to(real)
    with pytest.raises(ReportError, match="est un lien symbolique"):
        publish.refuse_unusable_target(tmp_path / "2019")
    (tmp_path / "2018").write_text("un fichier")
    with pytest.raises(ReportError, match="n'est pas un dossier"):
        publish.refuse_unusable_target(tmp_path / "2018")


def test_discard_build_keeps_only_the_notebook(tmp_path: Path) -> None:
    staging = make_report(publish.new_staging(tmp_path / "2019"), NEW)
    (staging / "bilan.ipynb").write_text("{}")
    kept = publish.discard_build(staging, tmp_path / ".echec-2019", "bilan.ipynb")
    assert kept == tmp_path / ".echec-2019" / "bilan.ipynb"
    assert [p.name for p in kept.parent.iterdir()] == ["bilan.ipynb"]
    assert not staging.exists()
    # Without a notebook (or on a full disk) nothing is kept, and the message cannot name it.
    staging = make_report(publish.new_staging(tmp_path / "2019"), NEW)
    assert publish.discard_build(staging, tmp_path / ".echec-2019", "bilan.ipynb") is None
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- the lock

HOLDER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from mutualisation.run.publish import output_lock

    with output_lock(Path(sys.argv[1])):
        print("pris", flush=True)
        sys.stdin.readline()
""")


@pytest.fixture
def holder(tmp_path: Path):
    """Another process holding ``tmp_path``'s lock until its standard input says so."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path), "--year", "2019"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "pris\n"
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def test_a_second_run_is_told_who_holds_the_folder(tmp_path: Path, holder) -> None:
    with pytest.raises(OutputBusy) as info, output_lock(tmp_path, wait=False):
        pass
    message = str(info.value)
    assert f"PID {holder.pid}" in message
    assert "--year 2019" in message and "commencée le" in message
    assert "sans --sans-attendre" in message


def test_a_second_run_waits_for_the_first(tmp_path: Path, holder) -> None:
    said: list[str] = []
    took = threading.Event()

    def second() -> None:
        with output_lock(tmp_path, log=said.append):
            took.set()

    thread = threading.Thread(target=second)
    thread.start()
    # The waiting run says so before it waits; it only gets the lock once the first ends.
    while not said and thread.is_alive():
        thread.join(0.05)
    assert said and f"PID {holder.pid}" in said[0] and "attente de sa fin" in said[0]
    assert not took.is_set()
    holder.stdin.write("fini\n")
    holder.stdin.flush()
    thread.join()
    assert took.is_set()
    assert holder.wait() == 0


def test_the_lock_of_a_killed_run_is_taken_over(tmp_path: Path, holder) -> None:
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with output_lock(tmp_path, wait=False):
        info = json.loads((tmp_path / ".verrou.json").read_text(encoding="utf-8"))
        assert info["pid"] == os.getpid()
    assert not (tmp_path / ".verrou.json").exists()


def test_the_lock_is_shared_by_the_threads_of_one_process(tmp_path: Path) -> None:
    with output_lock(tmp_path, wait=False):
        errors: list[BaseException] = []

        def inner() -> None:
            try:
                with output_lock(tmp_path, wait=False):
                    pass
            except BaseException as err:  # noqa: BLE001 - reported below
                errors.append(err)

        thread = threading.Thread(target=inner)
        thread.start()
        thread.join()
        assert errors == []
        assert (tmp_path / ".verrou.json").exists()  # still held by the outer block
    assert not (tmp_path / ".verrou.json").exists()


def test_sheets_left_in_a_stage_of_an_earlier_version_go_back_into_the_report(
        tmp_path: Path) -> None:
    # Earlier versions moved the sheets into the new report before its renames: killed
    # between them, the stage held the only copy of the sheets.
    make_report(tmp_path / ".ancien-2019", OLD)
    stage = make_report(tmp_path / ".en-cours-2019-4242-139872334", NEW)
    (stage / "fiches" / "59350").mkdir(parents=True)
    (stage / "fiches" / "59350" / "fiche.html").write_text("fiche de Lille")
    recover(tmp_path, keep=("fiches",))
    assert report_content(tmp_path / "2019") == OLD
    assert (tmp_path / "2019" / "fiches" / "59350" / "fiche.html").read_text() == \
        "fiche de Lille"
    assert [p.name for p in tmp_path.iterdir()] == ["2019"]


def test_a_publication_that_cannot_be_resumed_blocks_only_its_report(tmp_path: Path,
                                                                      monkeypatch) -> None:
    from mutualisation.run import report

    target = make_report(tmp_path / "2019", OLD)
    # The exchange fails (a report folder made immutable): the journal stays.
    monkeypatch.setattr(publish, "exchange", lambda a, b: (_ for _ in ()).throw(
        PermissionError(1, "Operation not permitted", str(a))))
    monkeypatch.setattr(publish, "_ours", lambda name: False)  # as seen by the next run
    with pytest.raises(ReportError, match="la prochaine exécution réessaiera"):
        report.write_atomically(target, "bilan.ipynb", lambda s: make_report(s, NEW))
    logs: list[str] = []
    with pytest.raises(ReportError, match="une mise en place interrompue n'a pas pu être "
                                          "reprise"):
        report.write_atomically(target, "bilan.ipynb",
                                lambda s: pytest.fail("must not build"), log=logs.append)
    assert "reprise impossible" in logs[0] and "opération non permise" in logs[0]
    staged = json.loads(publish.journal_path(target).read_text(encoding="utf-8"))["nouveau"]
    assert report_content(target) == OLD and report_content(tmp_path / staged) == NEW
