"""Files written whole or not at all: a temporary file in the same folder, fsync, rename."""

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
def _written_beside(path: Path, write: Callable[[Path], None]) -> Iterator[Path]:
    """A temporary file beside path that write(temporary_path) filled, synced to disk; it is
    gone after the block unless the block moved it onto path."""
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    temporary = Path(name)
    try:
        write(temporary)
        with temporary.open("rb+") as written:
            os.fsync(written.fileno())
        yield temporary
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()


def write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Let write(temporary_path) fill a temporary file, then rename it onto path.

    A crash or a full disk leaves either the old file or the new one, never a part of it.
    """
    path = Path(path)
    with _written_beside(path, write) as temporary:
        os.replace(temporary, path)


def write_text_atomically(path: Path, text: str) -> None:
    """Write text to path atomically."""
    write_atomically(path, lambda temporary: temporary.write_text(text))


def write_text_if_absent(path: Path, text: str) -> None:
    """Write a whole file where none exists; an existing one (even a new one) is left alone."""
    path = Path(path)
    with (
        _written_beside(path, lambda temporary: temporary.write_text(text)) as temporary,
        contextlib.suppress(FileExistsError),
    ):
        os.link(temporary, path)  # unlike a rename, never replaces a file
