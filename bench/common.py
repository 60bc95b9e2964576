"""Helpers shared by the benchmarks: vault homes full of accounts (metadata only), statistics,
process memory, and the paths of the virtualenv's programs."""

from __future__ import annotations

import json
import math
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from vault_app.core.account_store import AccountStore, VaultDoc
from vault_app.core.model import Account, Status

REPO = Path(__file__).resolve().parent.parent
# bench/run starts us with the venv's python; its programs sit beside it.
VENV_BIN = Path(sys.executable).parent
PYTHON = str(VENV_BIN / "python")
TOKEN_VAULT = str(VENV_BIN / "token-vault")


def vault_with_accounts(home: Path, count: int) -> None:
    """`count` signed-in static accounts in the metadata file (no keyring items needed to
    draw the table)."""
    now = time.time()

    def fill(doc: VaultDoc) -> None:
        doc.accounts = [
            Account(
                id=uuid.uuid4().hex,
                name=f"account-{i:04d}",
                provider="static",
                status=Status.OK,
                access_expires_at=now + 600 + i,
                last_refresh_at=now - 60,
                generation=1,
            )
            for i in range(count)
        ]

    AccountStore(home).update(fill)


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(math.ceil(q / 100 * len(ordered)), 1)
    return ordered[rank - 1]


def timings(**series: list[float]) -> dict[str, Any]:
    """Each named series of seconds as `NAME_median_s` (its median) and `NAME_s` (the samples)."""
    out: dict[str, Any] = {}
    for name, values in series.items():
        out[f"{name}_median_s"] = median(values)
    for name, values in series.items():
        out[f"{name}_s"] = values
    return out


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Run `command` to its end: wall seconds from spawn to exit, and its standard output."""
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed ({done.returncode}): {done.stderr[-500:]}")
    return elapsed, done.stdout


def add_static(env: dict[str, str], name: str, token: str) -> None:
    """`token-vault add NAME --provider static` with `token` as its secret, in `env`'s vault."""
    subprocess.run(
        [TOKEN_VAULT, "add", name, "--provider", "static", "--secret", "token"],
        input=token + "\n",
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )


def keyring_items(service: str) -> dict[str, int]:
    """Every item of `service` in the default collection: user name -> secret size (bytes)."""
    import secretstorage

    connection = secretstorage.dbus_init()
    try:
        collection = secretstorage.get_default_collection(connection)
        return {
            item.get_attributes()["username"]: len(item.get_secret())
            for item in collection.search_items({"service": service})
        }
    finally:
        connection.close()


def minimal_read(service: str, user: str) -> list[str]:
    """The floor: a `python -c` that only imports keyring and reads one item."""
    return [PYTHON, "-c", f"import keyring; keyring.get_password({service!r}, {user!r})"]


def rss_kib(pid: int) -> int:
    """Resident set size of a process, from /proc/PID/status (VmRSS, in KiB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def run_json(module: str, *args: str, timeout: float = 240) -> dict[str, Any]:
    """Run `python -m module args...` (a benchmark that needs a process of its own); its last
    stdout line is a JSON object. Its stderr passes through."""
    done = subprocess.run(
        [PYTHON, "-m", module, *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{module} failed with exit code {done.returncode}")
    lines = done.stdout.strip().splitlines()
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def emit(result: dict[str, Any]) -> None:
    """The last line a benchmark module prints for run_json."""
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def leaked_singletons() -> list[str]:
    """Which of True and None this PySide6 drops references to. 6.12.0 drops one to True on
    every Python-side Signal.emit and one to None on every Python override or callback that
    returns None (a model's data() for a role it does not serve, a timer's callback); 6.11.3
    drops none. Once a singleton's few thousand references are gone the interpreter aborts
    ("bool_dealloc: deallocating True or False", "none_dealloc: deallocating None"); a storm
    or a hundred ticks get there."""
    from PySide6.QtCore import QModelIndex, QObject, QStringListModel, Signal

    class Probe(QObject):
        ping = Signal()

    class Model(QStringListModel):
        def data(self, index: Any, role: int = 0) -> Any:
            return None

    probe, model = Probe(), Model(["x"])
    true_before, none_before = sys.getrefcount(True), sys.getrefcount(None)
    for _ in range(1000):
        probe.ping.emit()
        model.index(0, 0, QModelIndex()).data()
    # A faulty binding loses one per call (a thousand); unrelated code moves a few.
    leaked = []
    if sys.getrefcount(True) < true_before - 500:
        leaked.append("True")
    if sys.getrefcount(None) < none_before - 500:
        leaked.append("None")
    return leaked


def singleton_ballast() -> tuple[list[str], list[Any]]:
    """What leaks (leaked_singletons), and a million extra references to each of True, False
    and None when anything does, so a benchmark measures the app instead of dying of the
    binding's bug. Hold the list until the process ends (os._exit)."""
    leaked = leaked_singletons()
    return leaked, [True, False, None] * 1_000_000 if leaked else []


def refs_left(ballast: list[Any]) -> dict[str, int]:
    """References to True and None beyond the ballast: below zero, the process would have
    aborted without it."""
    extra = len(ballast) // 3
    return {
        "True": sys.getrefcount(True) - extra,
        "None": sys.getrefcount(None) - extra,
    }
