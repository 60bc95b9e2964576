"""Shared fixtures: a throw-away vault home per test, the real Secret Service started by
scripts/test, and a runner for the CLI as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
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


class PrivateKeyring:
    """A gnome-keyring-daemon on a D-Bus bus of its own, with files in `root`; `restart()`
    stops the daemon and starts a new one on the same files (as a session supervisor does
    after it dies), waiting until it owns its bus name again."""

    PASSWORD = b"private-keyring"

    def __init__(self, root: Path) -> None:
        self.log = root / "daemon.log"
        self.env = {"XDG_DATA_HOME": str(root / "data"), "XDG_RUNTIME_DIR": str(root / "run")}
        for folder in self.env.values():
            Path(folder).mkdir(mode=0o700, parents=True)
        self.bus = subprocess.Popen(
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
        assert self.bus.stdout is not None
        self.env["DBUS_SESSION_BUS_ADDRESS"] = self.bus.stdout.readline().strip()
        self.daemon: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.daemon = subprocess.Popen(
                ["gnome-keyring-daemon", "--foreground", "--unlock", "--components=secrets"],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
                env={**os.environ, **self.env},
            )
        assert self.daemon.stdin is not None
        self.daemon.stdin.write(self.PASSWORD)
        self.daemon.stdin.close()
        for _ in range(150):
            if _secret_service_running({**os.environ, **self.env}):
                return
            time.sleep(0.1)
        said = self.log.read_text(errors="replace")[-2000:]
        pytest.fail(f"the private gnome-keyring-daemon did not come up; its log:\n{said}")

    def stop_daemon(self) -> None:
        if self.daemon is not None:
            self.daemon.terminate()
            self.daemon.wait(timeout=10)
            self.daemon = None
        for _ in range(150):  # its bus name is released once the bus sees it gone
            if not _secret_service_running({**os.environ, **self.env}):
                return
            time.sleep(0.1)
        pytest.fail("the private gnome-keyring-daemon did not go away")

    def restart(self) -> None:
        self.stop_daemon()
        self.start()

    def close(self) -> None:
        self.stop_daemon()
        self.bus.terminate()
        self.bus.wait(timeout=10)


@pytest.fixture
def restartable_keyring(secret_service: None) -> Iterator[PrivateKeyring]:
    """A gnome-keyring of its own that a test may restart (see PrivateKeyring). Its files
    are under a short path: the daemon's control socket path must fit a sockaddr_un (108
    bytes), or a restarted daemon cannot bind it again."""
    with tempfile.TemporaryDirectory(prefix="tv-keyring-") as root:
        keyring = PrivateKeyring(Path(root))
        try:
            keyring.start()
            yield keyring
        finally:
            keyring.close()


@pytest.fixture
def on_private_keyring(
    restartable_keyring: PrivateKeyring, monkeypatch: pytest.MonkeyPatch
) -> PrivateKeyring:
    """This process pointed at the test's own gnome-keyring (jeepney reads the bus address
    from the environment on every connect)."""
    for name, value in restartable_keyring.env.items():
        monkeypatch.setenv(name, value)
    return restartable_keyring


@pytest.fixture
def private_keyring(tmp_path: Path, secret_service: None) -> Iterator[dict[str, str]]:
    """A gnome-keyring of its own on a D-Bus bus of its own, for tests that kill keyring clients
    mid-call: gnome-keyring aborts when a client vanishes during OpenSession (an upstream
    bug), and that must not take the shared daemon down with it. Yields the environment
    variables that point a process at it."""
    keyring = PrivateKeyring(tmp_path / "private-keyring")
    try:
        keyring.start()
        yield keyring.env
    finally:
        keyring.close()


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
