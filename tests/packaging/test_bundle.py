"""The PyInstaller bundle: packaging/build makes it, and it runs on its own, with no Python
environment on PATH, no PYTHONPATH and a working directory away from the source tree: the
version, the self-check, a keyring round trip through a provider, and the desktop entry.

Building takes about a minute: one build per test session, shared by the tests here."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

from tests.conftest import REPO
from vault_app import __version__
from vault_app.system.launcher import APP_ID

pytestmark = [pytest.mark.timeout(900), pytest.mark.keyring]


@dataclass(frozen=True)
class Bundle:
    root: Path  # DIST/token-vault
    exe: Path  # DIST/token-vault/token-vault


class Run(Protocol):
    def __call__(
        self, *args: str, stdin: str = "", **env: str
    ) -> subprocess.CompletedProcess[str]: ...


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory, _secret_service_checked: bool) -> Bundle:
    if not _secret_service_checked and not os.environ.get("TOKEN_VAULT_TEST_SESSION"):
        # What the secret_service fixture would say, before a minute of building for nothing.
        pytest.skip("needs the private keyring session: run scripts/test")
    dist = tmp_path_factory.mktemp("bundle") / "dist"
    proc = subprocess.run(
        [str(REPO / "packaging" / "build"), str(dist)],
        capture_output=True,
        text=True,
        timeout=840,
        check=False,
        cwd=REPO,
    )
    if proc.returncode != 0:
        pytest.fail(f"packaging/build failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    root = dist / "token-vault"
    exe = root / ("token-vault.exe" if sys.platform == "win32" else "token-vault")
    assert exe.is_file(), proc.stdout
    assert str(root.resolve()) in proc.stdout  # it says where the bundle is
    return Bundle(root, exe)


def _no_python_path(path: str) -> str:
    """PATH without virtualenvs (a folder next to a pyvenv.cfg), this interpreter's own
    installation or pyenv."""
    base = Path(sys.base_prefix).resolve()
    kept = []
    for entry in path.split(os.pathsep):
        folder = Path(entry).resolve()
        if (
            not entry
            or (folder.parent / "pyvenv.cfg").exists()
            or folder.is_relative_to(base)
            or ".pyenv" in folder.parts
        ):
            continue
        kept.append(entry)
    return os.pathsep.join(kept)


@pytest.fixture
def run(bundle: Bundle, tmp_path: Path, secret_service: None) -> Run:
    """Runs the bundled executable in tmp_path, as a user without Python would."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}
        and not k.startswith("TOKEN_VAULT_")
    }
    env["PATH"] = _no_python_path(env.get("PATH", ""))
    env["TOKEN_VAULT_HOME"] = str(tmp_path / "vault")
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")

    def call(*args: str, stdin: str = "", **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(bundle.exe), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=tmp_path,
            env={**env, **extra},
        )

    return call


def test_version(run: Run) -> None:
    proc = run("--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"token-vault {__version__}\n"


def test_self_check_passes_in_the_keyring_session(run: Run) -> None:
    proc = run("--self-check", QT_QPA_PLATFORM="offscreen")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SecretService" in proc.stdout, proc.stdout
    assert "offscreen" in proc.stdout, proc.stdout


def test_token_round_trip_through_the_keyring(run: Run) -> None:
    added = run(
        "add",
        "demo",
        "--provider",
        "static",
        "--secret",
        "token",
        "--no-sign-in",
        stdin="bundled-secret-value\n",
    )
    assert added.returncode == 0, added.stdout + added.stderr
    token = run("token", "demo")
    assert token.returncode == 0, token.stderr
    assert token.stdout == "bundled-secret-value\n"


def test_install_desktop_entry_points_at_the_bundle(
    run: Run, bundle: Bundle, tmp_path: Path
) -> None:
    proc = run("--install-desktop-entry")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    apps = tmp_path / "data" / "applications"
    entry = (apps / f"{APP_ID}.desktop").read_text()
    exec_line = next(line for line in entry.splitlines() if line.startswith("Exec="))
    assert shlex.split(exec_line.removeprefix("Exec="))[0] == str(bundle.exe.resolve())
    icon = Path("icons", "hicolor", "48x48", "apps", f"{APP_ID}.png")
    shipped = bundle.root / "share" / icon
    assert shipped.is_file()
    assert (tmp_path / "data" / icon).read_bytes() == shipped.read_bytes()
