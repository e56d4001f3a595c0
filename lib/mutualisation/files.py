"""Writing files so that a reader never sees half of one."""

from __future__ import annotations

import contextlib
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
