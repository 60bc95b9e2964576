"""`token-vault token NAME` for a valid stored token next to the floor: a minimal
`python -c "import keyring; keyring.get_password(S, U)"` reading an item of the same size (and
the same service and user name lengths) from the same gnome-keyring. Alternating runs after
one discarded warm-up of each; wall time of the whole process, spawn to exit."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import (
    PYTHON,
    TOKEN_VAULT,
    add_static,
    keyring_items,
    median,
    minimal_read,
    timed,
    timings,
)
from vault_app.core.account_store import AccountStore

NAME = "bench"


def run(runs: int = 15) -> dict[str, Any]:
    import keyring

    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        home = Path(tmp) / "vault"
        env = dict(os.environ, TOKEN_VAULT_HOME=str(home))
        token = secrets.token_urlsafe(600)  # about the size of a typical JWT access token
        add_static(env, NAME, token)
        doc = AccountStore(home).load()
        account = doc.find(NAME)
        service = f"token-vault:{doc.vault_id}"
        user = f"{account.id}:{account.generation}"
        items = keyring_items(service)
        size = items[user]
        # The floor's item: same service and user name lengths, a secret of the same size.
        floor_service = f"token-floor:{doc.vault_id}"
        keyring.set_password(floor_service, user, secrets.token_hex(size)[:size])
        minimal = minimal_read(floor_service, user)
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
        **timings(token=app_times, minimal=floor_times),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("runs", nargs="?", type=int, default=15)
    print(json.dumps(run(parser.parse_args().runs), indent=2))


if __name__ == "__main__":
    main()
