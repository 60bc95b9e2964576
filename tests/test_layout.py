"""Architecture rules that a reviewer would otherwise have to remember."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "vault_app"
CORE = PACKAGE / "core"
# The socket server, its client, the proxy and the headless runner: the window only starts
# and shows them (DESIGN.md section 3), and `serve` runs them with no Qt at all.
SERVICE = PACKAGE / "service"


@pytest.mark.parametrize("folder", [CORE, SERVICE], ids=["core", "service"])
def test_core_and_service_never_import_qt(folder: Path) -> None:
    offenders = []
    for path in folder.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in ("PySide6", "shiboken6", "qasync", "vault_app.gui"):
                    offenders.append(f"{path.name}: {name}")
                if name.startswith("vault_app.gui"):
                    offenders.append(f"{path.name}: {name}")
    assert offenders == []


def test_token_path_loads_neither_qt_nor_httpx() -> None:
    """`token NAME` for a valid token must stay light: no Qt, no HTTP stack, no JWT crypto."""
    code = (
        "import sys, vault_app.cli, vault_app.core.vault;"
        "heavy = ('PySide6', 'httpx', 'jwt', 'cryptography', 'qasync');"
        "bad = [m for m in heavy if m in sys.modules];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_asking_the_running_app_stays_light() -> None:
    """`token` asks the app's socket before anything else: no event loop, no keyring, no
    HTTP stack, no Qt on that path."""
    code = (
        "import sys, vault_app.cli, vault_app.cli.served, vault_app.service.client;"
        "heavy = ('PySide6', 'httpx', 'h11', 'asyncio', 'keyring', 'secretstorage', 'jwt');"
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_every_package_is_installed() -> None:
    """pyproject.toml lists packages by hand: one left out is missing from a pip install
    (an editable checkout would not notice)."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    config = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(PACKAGE.parent).parts)
        for init in PACKAGE.rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert found - listed == set()
