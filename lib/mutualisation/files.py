"""Writing files so that a reader never sees half of one."""

from __future__ import annotations

from pathlib import Path


def write_whole(path: Path, data: bytes) -> None:
    """Write ``path`` beside itself (``.<name>.tmp``), then rename it into place."""
    staging = path.with_name(f".{path.name}.tmp")
    staging.write_bytes(data)
    staging.replace(path)
