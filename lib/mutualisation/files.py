"""Writing files so that a reader never sees half of one."""

from __future__ import annotations

import contextlib
import errno
from pathlib import Path


def write_whole(path: Path, data: bytes) -> None:
    """Write ``path`` beside itself (``.<name>.tmp``), then rename it into place.

    A write that fails (a full disk) removes its partial file and leaves ``path`` as it was.
    """
    staging = path.with_name(f".{path.name}.tmp")
    try:
        staging.write_bytes(data)
        staging.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            staging.unlink()
        raise


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


def os_reason(err: OSError) -> str:
    """A short French reason for an operating-system error (its code as a last resort)."""
    code = err.errno if err.errno is not None else -1
    return _REASONS.get(code, f"erreur système {errno.errorcode.get(code, code)}")
