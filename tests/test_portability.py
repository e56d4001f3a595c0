"""Other systems than Linux: each POSIX- or Linux-only call has a fallback, taken here on a
simulated system (Windows, macOS) since the suite runs on Linux only.
"""

from __future__ import annotations

import ctypes
import io
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mutualisation.data.followup import convert
from mutualisation.run import ahead, execute, publish
from mutualisation.startup import printable_output
from tests.conftest import write_folder


def _windows_cdll(*args: object, **kwargs: object) -> object:
    """``ctypes.CDLL(None)`` as Windows answers it: a TypeError, not an OSError."""
    raise TypeError("LoadLibrary() argument 1 must be str, not None")


def _report(folder: Path, text: str) -> Path:
    folder.mkdir()
    (folder / "bilan.html").write_text(text, encoding="utf-8")
    return folder


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_exchange_says_no_on_other_systems(tmp_path: Path, monkeypatch,
                                           platform: str) -> None:
    first, second = _report(tmp_path / "a", "a"), _report(tmp_path / "b", "b")
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setattr(ctypes, "CDLL", _windows_cdll)
    assert publish.exchange(first, second) is False
    assert (first / "bilan.html").read_text(encoding="utf-8") == "a"


def test_exchange_says_no_when_ctypes_cannot_load_the_c_library(tmp_path: Path,
                                                               monkeypatch) -> None:
    """What the issue found: a TypeError of ctypes, whatever ``sys.platform`` says."""
    first, second = _report(tmp_path / "a", "a"), _report(tmp_path / "b", "b")
    monkeypatch.setattr(ctypes, "CDLL", _windows_cdll)
    assert publish.exchange(first, second) is False


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_a_publication_on_another_system_takes_two_renames(tmp_path: Path, monkeypatch,
                                                          platform: str) -> None:
    target = _report(tmp_path / "2019", "ancien")
    (target / "fiches").mkdir()
    staging = publish.new_staging(target)
    (staging / "bilan.html").write_text("nouveau", encoding="utf-8")
    steps: list[str] = []
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setattr(ctypes, "CDLL", _windows_cdll)
    monkeypatch.setattr(publish, "_after_step", steps.append)
    publish.publish(staging, target, keep=("fiches",))
    assert steps == ["journal", "garder:fiches", "ancien", "nouveau", "suppression", "fin"]
    assert (target / "bilan.html").read_text(encoding="utf-8") == "nouveau"
    assert (target / "fiches").is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2019"]


#: Runs the command line with ``ctypes.CDLL(None)`` failing as it does on Windows.
_WINDOWS_CTYPES = textwrap.dedent("""
    import ctypes, sys
    from pathlib import Path
    real_cdll, marker = ctypes.CDLL, Path(sys.argv[1])
    def windows_cdll(name, *args, **kwargs):
        if name is not None:  # other libraries (Polars reads the CPU's flags through libc)
            return real_cdll(name, *args, **kwargs)
        marker.write_text("appelé", encoding="utf-8")
        raise TypeError("LoadLibrary() argument 1 must be str, not None")
    ctypes.CDLL = windows_cdll
    sys.argv = ["mutualisation", *sys.argv[2:]]
    from mutualisation.__main__ import main
    main()
""")


def test_a_report_published_without_renameat2_ends_without_a_traceback(
        tmp_path: Path) -> None:
    """The report replaces an earlier one by two renames, says nothing of it, exits 0."""
    data = write_folder(tmp_path / "data")
    out = tmp_path / "out"
    old = _report(out.mkdir() or out / "2016", "ancien")
    marker = tmp_path / "cdll"
    result = subprocess.run(
        [sys.executable, "-c", _WINDOWS_CTYPES, str(marker), "report", "--year", "2016",
         "--data", str(data), "--out", str(out)],
        capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "TypeError" not in result.stderr
    assert marker.read_text(encoding="utf-8") == "appelé"  # the exchange was tried
    assert "ancien" not in (old / "bilan.html").read_text(encoding="utf-8")
    assert (old / "indicators.json").is_file()
    assert not [p.name for p in out.iterdir() if p.name.startswith((".en-cours", ".ancien",
                                                                    ".publication"))]


def test_usable_cores_without_sched_getaffinity(monkeypatch) -> None:
    """macOS and Windows have no ``os.sched_getaffinity``: the machine's cores count."""
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    assert execute.usable_cores() == 4
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert execute.usable_cores() == 1


def test_the_chart_helper_keeps_out_of_ctrl_c_on_every_system() -> None:
    """Windows ignores ``start_new_session``: a new process group keeps the console's
    Ctrl-C from the helper there (the report stops it itself)."""
    assert ahead.own_session("posix") == {"start_new_session": True}
    assert ahead.own_session("nt") == {
        "creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0x200)}


@pytest.mark.parametrize("error", [OSError(1, "Operation not permitted"),
                                   AttributeError("os.link"), NotImplementedError()])
def test_an_import_keeps_a_copy_where_hard_links_are_missing(tmp_path: Path, monkeypatch,
                                                            error: Exception) -> None:
    path = tmp_path / "participations.csv"
    path.write_text("avant", encoding="utf-8")

    def no_link(*args: object) -> None:
        raise error

    monkeypatch.setattr(os, "link", no_link)
    keep = convert._kept(path)
    assert keep is not None and keep.read_text(encoding="utf-8") == "avant"


def test_read_only_files_are_made_writable_before_removal_on_windows(tmp_path: Path,
                                                                    monkeypatch) -> None:
    """Windows refuses to delete a read-only file whatever its folder allows."""
    report = _report(tmp_path / "2019", "x")
    (report / "bilan.html").chmod(0o444)
    report.chmod(0o555)
    changed: list[str] = []
    real_chmod = os.chmod

    def chmod(path: object, mode: int) -> None:
        changed.append(os.path.basename(str(path)))
        real_chmod(path, mode)

    monkeypatch.setattr(os, "name", "nt")
    monkeypatch.setattr(os, "chmod", chmod)
    try:
        assert publish.remove_tree(report, lambda line: None)
    finally:
        monkeypatch.undo()
    assert not report.exists()
    if os.geteuid() != 0:  # root deletes without asking: no retry, nothing to see
        assert "bilan.html" in changed


def test_messages_print_on_a_windows_code_page(monkeypatch) -> None:
    """Output redirected to a file on Windows is cp1252: « → » would raise there."""
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="cp1252")
    stderr = io.TextIOWrapper(io.BytesIO(), encoding="cp1252")
    monkeypatch.setattr(sys, "stdout", stdout)
    monkeypatch.setattr(sys, "stderr", stderr)
    printable_output()
    print("Breuil-Barret (85037) → Terval (85289), 1\u202f000 « fiches »")
    print("échec", file=sys.stderr)
    stdout.flush()
    stderr.flush()
    assert stdout.buffer.getvalue().decode("cp1252") == \
        "Breuil-Barret (85037) ? Terval (85289), 1?000 « fiches »\n"
    assert stderr.buffer.getvalue().decode("cp1252") == "échec\n"
