"""Publishing report folders: one run at a time, and never a moment without a whole report.

A report (``OUT/2019/``, or a commune sheet ``OUT/2019/fiches/59350/``) is built in a staging
folder beside its target, then published:

1. a journal ``.publication-<name>.json`` is written whole: it names the staging folder and
   its inode, so that a later run can tell the new report from the old one;
2. the sub-folders that other commands wrote into the old report (the commune sheets) move
   into the new one;
3. the two folders are exchanged in one system call (Linux ``renameat2`` with
   ``RENAME_EXCHANGE``): at every instant the target path holds a complete report. Where the
   file system cannot exchange, two renames are used and the journal covers the gap;
4. the old report and the journal are removed.

Every run first *recovers* what a crashed run left in the folder it writes to (under the
lock, so no live run is touched): a journal is rolled forward (the staging folder it names is
complete, so it is published), the only complete copy of a report is restored, never
deleted, and what no journal names (a build cut short) is removed. A removal that fails (a
file held read-only) is said in one line and retried by the next run; it never stops a run.

:func:`output_lock` serialises runs per output folder (``OUT/.verrou``, an ``flock`` that the
system releases when its holder dies, so a killed run's lock is taken over at once); a
second run waits and names the first (PID, command, start time), or stops at once.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import errno
import itertools
import json
import os
import secrets
import shutil
import stat
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from mutualisation.files import os_reason, write_whole
from mutualisation.run.console import Log, say

__all__ = ["LOCK_FILE", "OutputBusy", "ReportError", "discard_build", "exchange",
           "journal_path", "new_staging", "output_lock", "publish", "recover",
           "refuse_unusable_target", "remove_tree"]

#: The lock file of an output folder, and the file that says who holds it.
LOCK_FILE = ".verrou"
HOLDER_FILE = ".verrou.json"
STAGING_PREFIX = ".en-cours-"
OLD_PREFIX = ".ancien-"
FAILED_PREFIX = ".echec-"
JOURNAL_PREFIX = ".publication-"


#: This process's mark on the folders it stages. Not its PID: a crashed run and the next
#: one can have the same PID (PID 1 in containers), and a crashed run's folders must never
#: pass for a live one's.
_RUN = secrets.token_hex(6)


class ReportError(Exception):
    """A report that could not be written; the message (French) says why and what was kept."""


class Interrupted(ReportError):
    """The run was stopped by Ctrl-C; the previous report is untouched."""


class OutputBusy(ReportError):
    """Another live run holds the output folder."""


def _after_step(step: str) -> None:
    """Called after each file-system operation of a publication (fault-injection tests)."""


# --------------------------------------------------------------------------- lock

_held: dict[Path, list] = {}
# Held while a lock is taken: two threads of one process must never both flock the file
# (the second would wait for the first forever); a batch's threads share one hold instead.
_held_guard = threading.Lock()


def _holder(folder: Path) -> str:
    """Who holds the lock of ``folder``, in words, as the holder wrote it."""
    try:
        info = json.loads((folder / HOLDER_FILE).read_text(encoding="utf-8"))
        return (f"l'exécution de PID {info['pid']} (« {info['commande']} », "
                f"commencée le {info['debut']})")
    except (OSError, ValueError, KeyError, TypeError):
        return "une autre exécution"


def _write_holder(folder: Path) -> None:
    command = " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else "python"
    info = {"pid": os.getpid(), "commande": command,
            "debut": dt.datetime.now().strftime("%d/%m/%Y à %H:%M:%S")}
    with contextlib.suppress(OSError):  # only a courtesy to the runs that wait
        write_whole(folder / HOLDER_FILE, json.dumps(info, ensure_ascii=False).encode())


def _acquire(folder: Path, wait: bool, log: Log):
    from filelock import FileLock, Timeout

    lock = FileLock(folder / LOCK_FILE, thread_local=False, preserve_lock_file=True)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        holder = _holder(folder)
        if not wait:
            raise OutputBusy(f"{folder} est en cours d'écriture par {holder} : relancer quand "
                             "elle aura fini (ou sans --sans-attendre pour l'attendre)") from None
        log(f"{folder} est en cours d'écriture par {holder} : attente de sa fin "
            "(Ctrl-C pour abandonner)…")
        lock.acquire(poll_interval=0.2)
    _write_holder(folder)
    return lock


@contextlib.contextmanager
def output_lock(out: Path, *, wait: bool = True, log: Log = say) -> Iterator[Path]:
    """Hold the output folder ``out`` (made if missing) for the body; yield its real path.

    Re-entrant within a process (a batch's threads and the runs inside a command share the
    hold). Another process waits, saying who holds it, or with ``wait=False`` raises
    :class:`OutputBusy` at once.
    """
    out.mkdir(parents=True, exist_ok=True)
    key = out.resolve()
    with _held_guard:
        entry = _held.get(key)
        if entry is None:
            entry = _held[key] = [_acquire(key, wait, log), 0]
        entry[1] += 1
    try:
        yield key
    finally:
        with _held_guard:
            entry[1] -= 1
            if entry[1] == 0:
                del _held[key]
                with contextlib.suppress(OSError):
                    (key / HOLDER_FILE).unlink()
                entry[0].release()


# --------------------------------------------------------------------------- file system

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def exchange(first: Path, second: Path) -> bool:
    """Swap two existing paths in one step; False when this system cannot."""
    if not sys.platform.startswith("linux"):
        return False  # renameat2 is Linux's; elsewhere the journal covers two renames
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    # AttributeError: a C library without it; OSError: none to load; TypeError: ctypes
    # cannot load "the program itself" (Windows, whatever sys.platform says).
    except (AttributeError, OSError, TypeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second),
                 _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(first), None, str(second))


def _identity(path: Path) -> list[int] | None:
    """(device, inode) of a real folder (not through a link), or None."""
    try:
        info = path.lstat()
    except OSError:
        return None
    return [info.st_dev, info.st_ino] if stat.S_ISDIR(info.st_mode) else None


def remove_tree(path: Path, log: Log) -> bool:
    """Remove a folder (or file, or link) as far as possible; say so when it cannot."""

    def retry_writable(function, name, _exc) -> None:
        # A read-only file or folder (as on shared drives): make its folder writable, retry.
        parent = os.path.dirname(name)
        os.chmod(parent, os.stat(parent).st_mode | stat.S_IWUSR | stat.S_IXUSR)
        if os.name == "nt":  # Windows refuses to delete a read-only file whatever its folder
            os.chmod(name, stat.S_IWRITE)
        function(name)

    try:
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.exists():
            shutil.rmtree(path, onerror=retry_writable)
        return True
    except OSError as err:
        log(f"attention : {path} n'a pas pu être supprimé ({os_reason(err)}) ; "
            "la prochaine exécution réessaiera, ou supprimez-le à la main")
        return False


def journal_path(target: Path) -> Path:
    """The journal of a publication of ``target``, while it is under way."""
    return target.parent / f"{JOURNAL_PREFIX}{target.name}.json"


def _sync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# --------------------------------------------------------------------------- publication

def refuse_unusable_target(target: Path) -> None:
    """A target that a report cannot replace is refused before any work is done."""
    if target.is_symlink():
        raise ReportError(
            f"{target} est un lien symbolique (vers {os.readlink(target)}) : un rapport ne "
            "remplace pas un lien. Supprimer le lien, ou indiquer le dossier réel avec --out.")
    if target.exists() and not target.is_dir():
        raise ReportError(f"{target} existe et n'est pas un dossier : le déplacer ou le "
                          "supprimer, puis relancer")


def new_staging(target: Path) -> Path:
    """A new, empty staging folder beside ``target``, named for no other folder there.

    An old report whose removal failed may still sit under an earlier staging name, hence
    the counter (and the matching ``.ancien-`` name, used when folders cannot be exchanged,
    must be free too).
    """
    for number in itertools.count(1):
        suffix = f"{target.name}-{_RUN}-{number}"
        staging = target.parent / f"{STAGING_PREFIX}{suffix}"
        if (target.parent / f"{OLD_PREFIX}{suffix}").exists():
            continue
        try:
            staging.mkdir()
        except FileExistsError:
            continue
        return staging
    raise AssertionError("unreachable")


def publish(staging: Path, target: Path, keep: tuple[str, ...] = (), log: Log = say) -> None:
    """Put the complete folder ``staging`` in place of ``target`` (see the module's text)."""
    parent = target.parent
    old = parent / (OLD_PREFIX + staging.name[len(STAGING_PREFIX):])
    journal = journal_path(target)
    record = {"cible": target.name, "nouveau": staging.name, "ancien": old.name,
              "inode": _identity(staging), "garder": list(keep)}
    # Written whole under a name of this process's own (see recover), then renamed.
    partial = parent / f".{journal.name}.{_RUN}.tmp"
    try:
        partial.write_text(json.dumps(record), encoding="utf-8")
        partial.replace(journal)
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    _sync_folder(parent)
    _after_step("journal")
    _roll_forward(parent, record, log)
    remove_tree(journal, log)
    _after_step("fin")


def _roll_forward(parent: Path, record: dict, log: Log) -> None:
    """Finish a publication from wherever it stopped; then remove the old report."""
    target, new, old = (parent / record[k] for k in ("cible", "nouveau", "ancien"))
    done = _identity(target) == record["inode"]
    if not done and _identity(new) == record["inode"]:
        if _identity(target) is not None:
            for name in record.get("garder", ()):
                if (target / name).exists() and not (new / name).exists():
                    (target / name).rename(new / name)
                    _after_step(f"garder:{name}")
            if exchange(new, target):
                _after_step("echange")
            else:
                target.rename(old)
                _after_step("ancien")
                new.rename(target)
                _after_step("nouveau")
        else:
            new.rename(target)
            _after_step("nouveau")
        _sync_folder(parent)
    elif not done and _identity(target) is None and _identity(old) is not None:
        old.rename(target)  # the new report is gone: the old one is the only copy left
        _after_step("restauration")
    # After an exchange the old report sits under the staging name.
    for leftover in (new, old):
        if _identity(leftover) is not None and _identity(target) is not None:
            remove_tree(leftover, log)
            _after_step("suppression")


def _ours(name: str) -> bool:
    """Whether a staging or old folder (``.en-cours-2019-RUN-N``) is this process's own.

    Under the lock, the only live runs are this process's threads (a batch): what they are
    building or publishing is theirs, never a crashed run's.
    """
    parts = name.rsplit("-", 2)
    return len(parts) == 3 and parts[1] == _RUN


_recover_guard = threading.Lock()


def recover(parent: Path, log: Log = say, keep: tuple[str, ...] = ()) -> None:
    """Bring ``parent`` back to whole reports after a crashed run (call under the lock).

    ``keep`` names the sub-folders that other commands write into a report (the commune
    sheets): a staging folder that no journal names may hold the only copy of them (a run
    of an earlier version stopped between its renames); they go back into the report.
    """
    with _recover_guard:  # a batch's threads recover the same folders
        _recover(parent, log, keep)


def _rescue(staging: Path, keep: tuple[str, ...]) -> None:
    """Move the ``keep`` sub-folders of an unpublished staging folder into its report."""
    target = staging.parent / staging.name[len(STAGING_PREFIX):].split("-", 1)[0]
    for name in keep:
        if (staging / name).is_dir() and _identity(target) is not None \
                and not (target / name).exists():
            (staging / name).rename(target / name)


def _recover(parent: Path, log: Log, keep: tuple[str, ...]) -> None:
    if not parent.is_dir():
        return
    named: set[str] = set()
    for journal in sorted(parent.glob(f"{JOURNAL_PREFIX}*.json")):
        try:
            record = json.loads(journal.read_text(encoding="utf-8"))
            named |= {record["nouveau"], record["ancien"]}
            if _ours(record["nouveau"]):
                continue
            _roll_forward(parent, record, log)
        except OSError as err:
            log(f"attention : reprise impossible de {journal} ({os_reason(err)} : "
                f"{err.filename}) ; elle sera retentée à la prochaine exécution")
            continue
        except (ValueError, KeyError, TypeError, AttributeError):
            log(f"attention : {journal} est illisible ; il est conservé, à examiner")
            continue
        remove_tree(journal, log)
    for leftover in sorted(parent.glob(f".{JOURNAL_PREFIX}*.tmp")):
        if not leftover.name.endswith(f".{_RUN}.tmp"):
            remove_tree(leftover, log)  # a journal cut short: its publication never began
    for old in sorted(parent.glob(f"{OLD_PREFIX}*")):
        if old.name in named or _ours(old.name):
            continue
        # ".ancien-2019" (earlier versions) or ".ancien-2019-PID": restore it when it is the
        # only copy of its report, else it is an outdated copy.
        original = parent / old.name[len(OLD_PREFIX):].split("-", 1)[0]
        if _identity(original) is None and _identity(old) is not None:
            old.rename(original)
        else:
            remove_tree(old, log)
    for staging in sorted(parent.glob(f"{STAGING_PREFIX}*")):
        if staging.name not in named and not _ours(staging.name):
            try:
                _rescue(staging, keep)
            except OSError as err:  # never remove what may hold the only copy of the sheets
                log(f"attention : {staging} conservé ({os_reason(err)}) : il contient peut-être "
                    "les seules copies de fiches ; à examiner")
                continue
            remove_tree(staging, log)  # a build cut short, never published


def discard_build(staging: Path, failed: Path, notebook_name: str, *,
                  keep_notebook: bool = True, log: Log = say) -> Path | None:
    """After a failed build: keep its notebook in ``failed`` for diagnosis, drop the rest.

    The notebook moves by renaming (no new disk space: this also works when the disk is
    full); everything else of the build is removed first. Returns the kept notebook, or None.
    Never raises: what cannot be removed now is removed by the next run's :func:`recover`.
    """
    notebook = staging / notebook_name
    try:
        remove_tree(failed, log)
        if not (keep_notebook and notebook.is_file()):
            remove_tree(staging, log)
            return None
        for entry in staging.iterdir():
            if entry.name != notebook_name:
                remove_tree(entry, log)
        staging.rename(failed)
        return failed / notebook_name
    except OSError as err:
        log(f"attention : nettoyage incomplet de {staging} ({os_reason(err)})")
        return None
