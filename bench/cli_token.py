"""`token-vault token NAME` for a valid stored token next to the floor: a minimal
`python -c "import keyring; keyring.get_password(S, U)"` reading an item of the same size (and
the same service and user name lengths) from the same gnome-keyring. Alternating runs after
one discarded warm-up of each; wall time of the whole process, spawn to exit."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import PYTHON, TOKEN_VAULT, median
from vault_app.core.account_store import AccountStore

NAME = "bench"


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


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed ({done.returncode}): {done.stderr[-500:]}")
    return elapsed, done.stdout


def run(runs: int = 15) -> dict[str, Any]:
    import keyring

    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        home = Path(tmp) / "vault"
        env = dict(os.environ, TOKEN_VAULT_HOME=str(home))
        token = secrets.token_urlsafe(600)  # about the size of a typical JWT access token
        subprocess.run(
            [TOKEN_VAULT, "add", NAME, "--provider", "static", "--secret", "token"],
            input=token + "\n",
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        doc = AccountStore(home).load()
        account = doc.find(NAME)
        service = f"token-vault:{doc.vault_id}"
        user = f"{account.id}:{account.generation}"
        items = keyring_items(service)
        size = items[user]
        # The floor's item: same service and user name lengths, a secret of the same size.
        floor_service = f"token-floor:{doc.vault_id}"
        keyring.set_password(floor_service, user, secrets.token_hex(size)[:size])
        minimal = [
            PYTHON,
            "-c",
            f"import keyring; keyring.get_password({floor_service!r}, {user!r})",
        ]
        check = [
            PYTHON,
            "-c",
            f"import keyring; print(len(keyring.get_password({floor_service!r}, {user!r})))",
        ]
        assert timed(check, env)[1].strip() == str(size), "the floor reads another item"
        app = [TOKEN_VAULT, "token", NAME]
        assert timed(app, env)[1].strip() == token, "token-vault printed another token"
        timed(minimal, env)  # warm-up of both done: page cache, .pyc files
        app_times: list[float] = []
        floor_times: list[float] = []
        for _ in range(runs):
            app_times.append(timed(app, env)[0])
            floor_times.append(timed(minimal, env)[0])
        print(
            f"  token: {median(app_times) * 1000:.0f} ms, minimal keyring read "
            f"{median(floor_times) * 1000:.0f} ms",
            file=sys.stderr,
        )
    return {
        "item_bytes": size,
        "keyring_items_of_account": len(items),
        "token_median_s": median(app_times),
        "minimal_median_s": median(floor_times),
        "token_s": app_times,
        "minimal_s": floor_times,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("runs", nargs="?", type=int, default=15)
    print(json.dumps(run(parser.parse_args().runs), indent=2))


if __name__ == "__main__":
    main()
