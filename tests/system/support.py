"""Runs the freedesktop validators that scripts/test installs."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def _tool(name: str, package: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    if os.environ.get("TOKEN_VAULT_TEST_SESSION"):
        pytest.fail(f"{name} is missing: scripts/test installs {package}")
    pytest.skip(f"needs {name} ({package}); scripts/test installs it")


def validate_desktop_file(path: Path) -> None:
    tool = _tool("desktop-file-validate", "desktop-file-utils")
    proc = subprocess.run([tool, str(path)], capture_output=True, text=True, check=False)
    # Hints are advice, not faults; errors and warnings fail.
    problems = [line for line in proc.stdout.splitlines() if ": hint: " not in line]
    assert proc.returncode == 0 and not problems, proc.stdout + proc.stderr


def validate_metainfo(path: Path) -> str:
    tool = _tool("appstreamcli", "appstream")
    proc = subprocess.run(
        [tool, "validate", "--no-net", "--explain", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout
