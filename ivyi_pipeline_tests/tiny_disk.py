"""A small tmpfs for the tests of a full disk (root only; the test is skipped elsewhere)."""

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest


def mount_tiny_disk(folder: Path, size: str) -> Callable[[], None]:
    """Create `folder` and mount a tmpfs of `size` (e.g. "512k") on it; return its unmount.

    Skips the calling test where it cannot mount (not root, or no CAP_SYS_ADMIN)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small file system")
    folder.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root and CAP_SYS_ADMIN)")
    return lambda: subprocess.run(["umount", "-l", str(folder)], check=False)
