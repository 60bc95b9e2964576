"""Shared fixtures: a throw-away vault home per test, the real Secret Service started by
scripts/test, and a runner for the CLI as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Property tests: no per-example deadline (a busy 2-core machine must not make them flaky),
# and the same examples on every run, so a failure in CI is a failure on a laptop.
settings.register_profile(
    "token-vault",
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile("token-vault")

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def vault_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own vault; nothing ever touches a developer's real one."""
    home = tmp_path / "vault"
    monkeypatch.setenv("TOKEN_VAULT_HOME", str(home))
    monkeypatch.delenv("TOKEN_VAULT_CHUNK_LIMIT", raising=False)
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    return home


def _secret_service_running(env: dict[str, str] | None = None) -> bool:
    env = dict(os.environ) if env is None else env
    if not env.get("DBUS_SESSION_BUS_ADDRESS"):
        return False
    probe = subprocess.run(
        [
            "dbus-send",
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            "string:org.freedesktop.secrets",
        ],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
        env=env,
    )
    return "boolean true" in probe.stdout


@pytest.fixture(scope="session")
def _secret_service_checked() -> bool:
    return _secret_service_running()


@pytest.fixture
def secret_service(_secret_service_checked: bool) -> None:
    """The real Secret Service (gnome-keyring) of the private session scripts/test starts.
    Inside that session its absence is a failure; outside it the test is skipped."""
    if _secret_service_checked:
        return
    if os.environ.get("TOKEN_VAULT_TEST_SESSION"):
        pytest.fail("scripts/test started no Secret Service: see its keyring.log")
    pytest.skip("needs the private keyring session: run scripts/test")


@pytest.fixture
def private_keyring(tmp_path: Path, secret_service: None) -> Iterator[dict[str, str]]:
    """A gnome-keyring of its own on a D-Bus bus of its own, for tests that kill keyring clients
    mid-call: gnome-keyring aborts when a client vanishes during OpenSession (an upstream
    bug), and that must not take the shared daemon down with it. Yields the environment
    variables that point a process at it."""
    root = tmp_path / "private-keyring"
    env = {"XDG_DATA_HOME": str(root / "data"), "XDG_RUNTIME_DIR": str(root / "run")}
    for folder in env.values():
        Path(folder).mkdir(mode=0o700, parents=True)
    bus = subprocess.Popen(
        [
            "dbus-daemon",
            f"--config-file={REPO / 'scripts' / 'dbus-session.conf'}",
            "--nofork",
            "--print-address=1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert bus.stdout is not None
    env["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().strip()
    daemon = subprocess.Popen(
        ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **env},
    )
    assert daemon.stdin is not None
    daemon.stdin.write(b"private-keyring")
    daemon.stdin.close()
    try:
        for _ in range(150):
            if _secret_service_running({**os.environ, **env}):
                break
            time.sleep(0.1)
        else:
            pytest.fail("the private gnome-keyring-daemon did not come up")
        yield env
    finally:
        for proc in (daemon, bus):
            proc.terminate()
            proc.wait(timeout=10)


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Cli:
    """Runs `python -m vault_app ...` as a real process against the test's vault."""

    home: Path
    env: dict[str, str]

    def __call__(self, *args: str, stdin: str = "", timeout: float = 60) -> Result:
        proc = subprocess.run(
            [sys.executable, "-m", "vault_app", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env,
            cwd=REPO,
            check=False,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli(vault_home: Path, secret_service: None) -> Iterator[Cli]:
    env = dict(os.environ)
    env["TOKEN_VAULT_HOME"] = str(vault_home)
    env["TOKEN_VAULT_LOG"] = "DEBUG"  # the leak tests read every log line the CLI wrote
    yield Cli(vault_home, env)
