"""Publication on its edges (issue 11): recovery of every kind of leftover, exactly; the
staging names; removals that fail; the holder's description; the discarded builds."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from mutualisation.files import os_reason
from mutualisation.run import publish
from mutualisation.run.publish import recover
from tests.test_publish import NEW, OLD, make_report, report_content

OTHER_PID = 1  # never this test process's mark: its leftovers are a crashed run's
#: This process's mark in the names of its staging folders (its PID in earlier versions).
OURS = getattr(publish, "_RUN", str(os.getpid()))


def journal(parent: Path, target: str, new: str, old: str, keep: tuple[str, ...] = (),
            inode: list[int] | None = None) -> Path:
    record = {"cible": target, "nouveau": new, "ancien": old,
              "inode": inode if inode is not None else publish._identity(parent / new),
              "garder": list(keep)}
    path = parent / f"{publish.JOURNAL_PREFIX}{target}.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    return path


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_journal_is_rolled_forward_over_the_old_report(tmp_path: Path) -> None:
    make_report(tmp_path / "2019", OLD)
    (tmp_path / "2019" / "fiches").mkdir()
    (tmp_path / "2019" / "fiches" / "a.html").write_text("fiche")
    make_report(tmp_path / f".en-cours-2019-{OTHER_PID}-1", NEW)
    journal(tmp_path, "2019", f".en-cours-2019-{OTHER_PID}-1", f".ancien-2019-{OTHER_PID}-1",
            keep=("fiches", "absent"))
    logs: list[str] = []
    recover(tmp_path, logs.append)
    assert logs == []
    assert report_content(tmp_path / "2019") == NEW
    assert (tmp_path / "2019" / "fiches" / "a.html").read_text() == "fiche"
    assert names(tmp_path) == ["2019"]


def test_a_journal_is_rolled_forward_without_an_old_report(tmp_path: Path) -> None:
    make_report(tmp_path / f".en-cours-2019-{OTHER_PID}-1", NEW)
    journal(tmp_path, "2019", f".en-cours-2019-{OTHER_PID}-1", f".ancien-2019-{OTHER_PID}-1")
    recover(tmp_path)
    assert report_content(tmp_path / "2019") == NEW
    assert names(tmp_path) == ["2019"]


def test_a_journal_whose_new_report_is_gone_restores_the_old_one(tmp_path: Path) -> None:
    make_report(tmp_path / f".ancien-2019-{OTHER_PID}-1", OLD)
    journal(tmp_path, "2019", f".en-cours-2019-{OTHER_PID}-1", f".ancien-2019-{OTHER_PID}-1",
            inode=[0, 0])
    recover(tmp_path)
    assert report_content(tmp_path / "2019") == OLD
    assert names(tmp_path) == ["2019"]


def test_a_finished_publication_only_leaves_the_old_report_to_remove(tmp_path: Path) -> None:
    """After the exchange the old report sits under the staging name: it is removed."""
    target = make_report(tmp_path / "2019", NEW)
    make_report(tmp_path / f".en-cours-2019-{OTHER_PID}-1", OLD)
    journal(tmp_path, "2019", f".en-cours-2019-{OTHER_PID}-1", f".ancien-2019-{OTHER_PID}-1",
            inode=publish._identity(target))
    recover(tmp_path)
    assert report_content(tmp_path / "2019") == NEW
    assert names(tmp_path) == ["2019"]


@pytest.mark.parametrize("text", ["{", "[]", "{}", '{"nouveau": "x"}', "null",
                                  '{"nouveau": 1, "ancien": 2}'])
def test_an_unreadable_journal_is_kept_and_said(tmp_path: Path, text: str) -> None:
    make_report(tmp_path / "2019", OLD)
    path = tmp_path / f"{publish.JOURNAL_PREFIX}2019.json"
    path.write_text(text, encoding="utf-8")
    logs: list[str] = []
    recover(tmp_path, logs.append)
    assert logs == [f"attention : {path} est illisible ; il est conservé, à examiner"]
    assert names(tmp_path) == [path.name, "2019"]


def test_a_journal_that_cannot_be_resumed_now_is_kept_for_the_next_run(tmp_path: Path,
                                                                       monkeypatch) -> None:
    make_report(tmp_path / "2019", OLD)
    make_report(tmp_path / f".en-cours-2019-{OTHER_PID}-1", NEW)
    path = journal(tmp_path, "2019", f".en-cours-2019-{OTHER_PID}-1",
                   f".ancien-2019-{OTHER_PID}-1")

    def refuse(parent, record, log):
        raise OSError(errno.EACCES, "Permission non accordée", str(tmp_path / "2019"))

    monkeypatch.setattr(publish, "_roll_forward", refuse)
    logs: list[str] = []
    recover(tmp_path, logs.append)
    error = OSError(errno.EACCES, "Permission non accordée")
    assert logs == [f"attention : reprise impossible de {path} ({os_reason(error)} : "
                    f"{tmp_path / '2019'}) ; elle sera retentée à la prochaine exécution"]
    # Named by the journal: neither folder is touched while it waits.
    assert names(tmp_path) == sorted([path.name, f".en-cours-2019-{OTHER_PID}-1", "2019"])


def test_a_journal_of_this_process_is_left_to_its_thread(tmp_path: Path) -> None:
    """Under the lock, this process's staging folders are a live thread's: untouched."""
    pid = OURS
    make_report(tmp_path / "2019", OLD)
    make_report(tmp_path / f".en-cours-2019-{pid}-1", NEW)
    make_report(tmp_path / f".en-cours-2018-{pid}-2", NEW)
    make_report(tmp_path / f".ancien-2017-{pid}-3", OLD)
    path = journal(tmp_path, "2019", f".en-cours-2019-{pid}-1", f".ancien-2019-{pid}-1")
    (tmp_path / f".{path.name}.{pid}.tmp").write_text("{")
    recover(tmp_path)
    assert report_content(tmp_path / "2019") == OLD
    assert names(tmp_path) == sorted([f".{path.name}.{pid}.tmp", f".ancien-2017-{pid}-3",
                                      f".en-cours-2018-{pid}-2", f".en-cours-2019-{pid}-1",
                                      path.name, "2019"])


def test_leftovers_of_a_crashed_run_are_removed_or_restored(tmp_path: Path) -> None:
    make_report(tmp_path / "2019", OLD)
    make_report(tmp_path / f".ancien-2019-{OTHER_PID}-1", "périmé")   # outdated copy
    make_report(tmp_path / f".ancien-2018-{OTHER_PID}-1", OLD)        # the only copy
    make_report(tmp_path / f".en-cours-2017-{OTHER_PID}-1", NEW)      # never published
    (tmp_path / f".{publish.JOURNAL_PREFIX}2019.json.{OTHER_PID}.tmp").write_text("{")
    (tmp_path / ".ancien-2016").write_text("un fichier, pas un rapport")
    recover(tmp_path)
    assert report_content(tmp_path / "2019") == OLD
    assert report_content(tmp_path / "2018") == OLD
    assert names(tmp_path) == ["2018", "2019"]


def test_recover_of_a_missing_folder_does_nothing(tmp_path: Path) -> None:
    recover(tmp_path / "absent")
    (tmp_path / "fichier").write_text("x")
    recover(tmp_path / "fichier")
    assert names(tmp_path) == ["fichier"]


def test_new_staging_skips_names_taken_by_leftovers(tmp_path: Path) -> None:
    target = tmp_path / "2019"
    pid = OURS
    first = publish.new_staging(tmp_path / "2018")
    assert first == tmp_path / f".en-cours-2018-{pid}-1"
    (tmp_path / f".en-cours-2019-{pid}-1").mkdir()
    (tmp_path / f".ancien-2019-{pid}-2").mkdir()
    staging = publish.new_staging(target)
    assert staging == tmp_path / f".en-cours-2019-{pid}-3"
    assert staging.is_dir() and names(staging) == []
    first.rmdir()
    assert publish.new_staging(target) == tmp_path / f".en-cours-2019-{pid}-4"


def test_publish_writes_and_removes_its_journal(tmp_path: Path, monkeypatch) -> None:
    target = make_report(tmp_path / "2019", OLD)
    staging = make_report(publish.new_staging(target), NEW)
    if not publish.exchange(staging, staging):
        pytest.skip("this file system cannot exchange folders")
    seen: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(publish, "_after_step", lambda step: seen.append((step, names(tmp_path))))
    publish.publish(staging, target, keep=("fiches",))
    journal_name = f"{publish.JOURNAL_PREFIX}2019.json"
    assert seen == [
        ("journal", sorted(["2019", staging.name, journal_name])),
        ("echange", sorted(["2019", staging.name, journal_name])),
        ("suppression", sorted(["2019", journal_name])),
        ("fin", ["2019"]),
    ]
    assert report_content(target) == NEW


def test_the_journal_names_the_staging_folder_and_its_inode(tmp_path: Path,
                                                             monkeypatch) -> None:
    target = make_report(tmp_path / "2019", OLD)
    staging = make_report(publish.new_staging(target), NEW)
    identity = publish._identity(staging)
    records: list[dict] = []

    def step(name: str) -> None:
        if name == "journal":
            records.append(json.loads(
                (tmp_path / f"{publish.JOURNAL_PREFIX}2019.json").read_text(encoding="utf-8")))

    monkeypatch.setattr(publish, "_after_step", step)
    publish.publish(staging, target, keep=("fiches", "cartes"))
    suffix = staging.name[len(publish.STAGING_PREFIX):]
    assert records == [{"cible": "2019", "nouveau": staging.name,
                        "ancien": f"{publish.OLD_PREFIX}{suffix}", "inode": identity,
                        "garder": ["fiches", "cartes"]}]


def test_publish_by_two_renames_keeps_the_sheets(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(publish, "exchange", lambda first, second: False)
    target = make_report(tmp_path / "2019", OLD)
    (target / "fiches").mkdir()
    (target / "fiches" / "a.html").write_text("fiche")
    staging = make_report(publish.new_staging(target), NEW)
    (staging / "cartes").mkdir()  # already in the new report: not replaced by the old one
    (target / "cartes").mkdir()
    (target / "cartes" / "vieille.svg").write_text("x")
    steps: list[str] = []
    monkeypatch.setattr(publish, "_after_step", steps.append)
    publish.publish(staging, target, keep=("fiches", "cartes", "absent"))
    assert steps == ["journal", "garder:fiches", "ancien", "nouveau", "suppression", "fin"]
    assert report_content(target) == NEW
    assert (target / "fiches" / "a.html").read_text() == "fiche"
    assert names(target / "cartes") == []
    assert names(tmp_path) == ["2019"]


def test_exchange_swaps_two_folders_and_says_why_it_cannot(tmp_path: Path) -> None:
    first, second = make_report(tmp_path / "a", OLD), make_report(tmp_path / "b", NEW)
    if not publish.exchange(first, second):
        pytest.skip("this file system cannot exchange folders")
    assert (report_content(first), report_content(second)) == (NEW, OLD)
    with pytest.raises(OSError) as info:
        publish.exchange(first, tmp_path / "absent")
    assert info.value.errno == errno.ENOENT
    assert info.value.filename == str(first) and info.value.filename2 == str(tmp_path / "absent")
    # A folder into its own sub-folder: the system refuses (EINVAL), the caller renames.
    (first / "sous").mkdir()
    assert publish.exchange(first, first / "sous") is False
    assert report_content(first) == NEW


def test_exchange_of_relative_paths(tmp_path: Path, monkeypatch) -> None:
    make_report(tmp_path / "a", OLD)
    make_report(tmp_path / "b", NEW)
    monkeypatch.chdir(tmp_path)
    if not publish.exchange(Path("a"), Path("b")):
        pytest.skip("this file system cannot exchange folders")
    assert (report_content(tmp_path / "a"), report_content(tmp_path / "b")) == (NEW, OLD)


def test_a_folder_or_a_new_path_is_a_usable_target(tmp_path: Path) -> None:
    publish.refuse_unusable_target(make_report(tmp_path / "2019", OLD))
    publish.refuse_unusable_target(tmp_path / "2020")


def test_identity_is_that_of_a_real_folder_only(tmp_path: Path) -> None:
    folder = make_report(tmp_path / "2019", OLD)
    (tmp_path / "lien").symlink_to(folder)
    (tmp_path / "fichier").write_text("x")
    info = folder.stat()
    assert publish._identity(folder) == [info.st_dev, info.st_ino]
    assert publish._identity(tmp_path / "lien") is None
    assert publish._identity(tmp_path / "fichier") is None
    assert publish._identity(tmp_path / "absent") is None


def test_remove_tree_removes_anything_and_says_what_it_cannot(tmp_path: Path,
                                                               monkeypatch) -> None:
    logs: list[str] = []
    folder = make_report(tmp_path / "dossier", OLD)
    (tmp_path / "fichier").write_text("x")
    (tmp_path / "lien").symlink_to(folder)
    (tmp_path / "lien-mort").symlink_to(tmp_path / "absent")
    for name in ("lien", "lien-mort", "fichier", "dossier", "absent"):
        assert publish.remove_tree(tmp_path / name, logs.append) is True
    assert logs == [] and names(tmp_path) == []

    make_report(folder, OLD)

    def refuse(path, *args, **kwargs):
        raise OSError(errno.EBUSY, "Périphérique ou ressource occupé", str(path))

    monkeypatch.setattr(publish.shutil, "rmtree", refuse)
    assert publish.remove_tree(folder, logs.append) is False
    reason = os_reason(OSError(errno.EBUSY, "occupé"))
    assert logs == [f"attention : {folder} n'a pas pu être supprimé ({reason}) ; la prochaine "
                    "exécution réessaiera, ou supprimez-le à la main"]


def test_the_holder_is_described_as_it_wrote_itself(tmp_path: Path) -> None:
    assert publish._holder(tmp_path) == "une autre exécution"
    holder = tmp_path / publish.HOLDER_FILE
    holder.write_text(json.dumps({"pid": 12, "commande": "mutualisation report",
                                  "debut": "01/12/2026 à 10:00:00"}), encoding="utf-8")
    assert publish._holder(tmp_path) == ("l'exécution de PID 12 (« mutualisation report », "
                                         "commencée le 01/12/2026 à 10:00:00)")
    for text in ("{", "[]", '{"pid": 12}', "null"):
        holder.write_text(text, encoding="utf-8")
        assert publish._holder(tmp_path) == "une autre exécution", text


def test_the_holder_file_names_this_run(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(publish.sys, "argv", ["/chemin/mutualisation", "report", "--all-years"])
    publish._write_holder(tmp_path)
    info = json.loads((tmp_path / publish.HOLDER_FILE).read_text(encoding="utf-8"))
    assert info["pid"] == os.getpid()
    assert info["commande"] == "mutualisation report --all-years"
    assert len(info["debut"]) == len("01/12/2026 à 10:00:00") and " à " in info["debut"]
    monkeypatch.setattr(publish.sys, "argv", [])
    publish._write_holder(tmp_path)
    info = json.loads((tmp_path / publish.HOLDER_FILE).read_text(encoding="utf-8"))
    assert info["commande"] == "python"


def test_the_lock_is_released_and_its_holder_file_removed(tmp_path: Path) -> None:
    out = tmp_path / "sorties" / "neuf"
    with publish.output_lock(out, wait=False) as key:
        assert key == out.resolve()
        assert (out / publish.HOLDER_FILE).exists()
        with publish.output_lock(out, wait=False):
            assert (out / publish.HOLDER_FILE).exists()
        assert (out / publish.HOLDER_FILE).exists()
    assert names(out) == [publish.LOCK_FILE]
    assert publish._held == {}
    with publish.output_lock(out, wait=False):  # taken again at once
        pass


def test_discard_build_without_keeping_the_notebook(tmp_path: Path) -> None:
    failed = make_report(tmp_path / ".echec-2019", "échec précédent")
    staging = make_report(publish.new_staging(tmp_path / "2019"), NEW)
    (staging / "bilan.ipynb").write_text("{}")
    assert publish.discard_build(staging, failed, "bilan.ipynb", keep_notebook=False) is None
    assert names(tmp_path) == []


def test_discard_build_replaces_an_earlier_failure(tmp_path: Path) -> None:
    failed = make_report(tmp_path / ".echec-2019", "échec précédent")
    staging = make_report(publish.new_staging(tmp_path / "2019"), NEW)
    (staging / "bilan.ipynb").write_text("{}")
    kept = publish.discard_build(staging, failed, "bilan.ipynb")
    assert kept == failed / "bilan.ipynb"
    assert names(failed) == ["bilan.ipynb"] and names(tmp_path) == [".echec-2019"]


def test_discard_build_never_raises(tmp_path: Path, monkeypatch) -> None:
    staging = make_report(publish.new_staging(tmp_path / "2019"), NEW)
    (staging / "bilan.ipynb").write_text("{}")
    logs: list[str] = []

    def refuse(self, target):
        raise OSError(errno.EXDEV, "Lien croisé de périphérique invalide")

    monkeypatch.setattr(Path, "rename", refuse)
    assert publish.discard_build(staging, tmp_path / ".echec-2019", "bilan.ipynb",
                                 log=logs.append) is None
    reason = os_reason(OSError(errno.EXDEV, "Lien croisé de périphérique invalide"))
    assert logs == [f"attention : nettoyage incomplet de {staging} ({reason})"]


def test_exchange_without_renameat2_says_it_cannot(monkeypatch, tmp_path: Path) -> None:
    def no_library(*args, **kwargs):
        raise OSError("pas de bibliothèque C")

    monkeypatch.setattr(publish.ctypes, "CDLL", no_library)
    first, second = make_report(tmp_path / "a", OLD), make_report(tmp_path / "b", NEW)
    assert publish.exchange(first, second) is False
    assert (report_content(first), report_content(second)) == (OLD, NEW)


def test_an_unpublished_build_without_sheets_is_simply_removed(tmp_path: Path) -> None:
    if "keep" not in publish.recover.__code__.co_varnames:
        pytest.skip("this version does not rescue sheets")
    make_report(tmp_path / "2019", OLD)
    make_report(tmp_path / f".en-cours-2019-{OTHER_PID}-1", NEW)  # no fiches/ in it
    logs: list[str] = []
    recover(tmp_path, logs.append, keep=("fiches",))
    assert logs == []
    assert names(tmp_path) == ["2019"] and not (tmp_path / "2019" / "fiches").exists()
