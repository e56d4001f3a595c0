"""Writing files so that a reader never sees half of one."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """The path to write instead of ``path`` (``.<name>.tmp`` beside it), renamed into place
    when the body ends normally: a reader never sees half a file.

    A body that fails (a full disk, Ctrl-C) removes its partial file and leaves ``path`` as
    it was.
    """
    staging = path.with_name(f".{path.name}.tmp")
    try:
        yield staging
        staging.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            staging.unlink()
        raise


def write_whole(path: Path, data: bytes) -> None:
    """Write ``data`` into ``path`` at once (see :func:`replacing`)."""
    with replacing(path) as staging:
        staging.write_bytes(data)


_REASONS = {
    errno.EACCES: "accès refusé (droits)",
    errno.EPERM: "opération non permise (fichier protégé ?)",
    errno.ENOSPC: "disque plein",
    errno.EDQUOT: "quota de disque atteint",
    errno.EROFS: "système de fichiers en lecture seule",
    errno.ENOENT: "introuvable",
    errno.EEXIST: "existe déjà",
    errno.ENOTDIR: "n'est pas un dossier",
    errno.EISDIR: "est un dossier",
    errno.ENOTEMPTY: "dossier non vide",
    errno.EBUSY: "occupé par un autre programme",
    errno.EIO: "erreur d'entrée-sortie du disque",
}


#: The reason given when an input file or folder may not be read.
READ_DENIED = "accès refusé (droits de lecture)"

#: What some errors mean while a data file is being read.
_READING_REASONS = {
    errno.EACCES: READ_DENIED,
    errno.EPERM: READ_DENIED,
    errno.ENOENT: "disparu pendant la lecture",
    errno.EISDIR: "c'est un dossier",
    errno.EIO: "erreur de lecture du disque",
}


def os_reason(err: OSError, *, reading: bool = False) -> str:
    """A short French reason for an operating-system error (its code as a last resort);
    ``reading``: the error came while reading an input file."""
    code = err.errno if err.errno is not None else -1
    if reading and (code in _READING_REASONS or isinstance(err, PermissionError)):
        return _READING_REASONS.get(code, READ_DENIED)
    return _REASONS.get(code, f"erreur système {errno.errorcode.get(code, code)}")


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_json(path: Path, value: Any) -> None:
    """JSON as committed files want it: UTF-8, indented, keys in a fixed order, final newline."""
    path.write_text(json.dumps(value, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
