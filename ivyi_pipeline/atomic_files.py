"""Files written whole or not at all: a temporary file in the same folder, fsync, rename."""

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Let write(temporary_path) fill a temporary file, then rename it onto path.

    A crash or a full disk leaves either the old file or the new one, never a part of it.
    """
    path = Path(path)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    temporary = Path(name)
    try:
        write(temporary)
        with temporary.open("rb+") as written:
            os.fsync(written.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


def write_text_atomically(path: Path, text: str) -> None:
    """Write text to path atomically."""
    write_atomically(path, lambda temporary: temporary.write_text(text))
