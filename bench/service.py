"""Issue 13's two measures, each side by side with its reference in one run:

- `token-vault token NAME` answered by a running app (`token-vault serve` over its socket)
  next to the minimal keyring read (`python -c "import keyring; keyring.get_password(S, U)"`
  on an item of the same size) and, for context, the direct path of a vault no app serves:
  alternating runs after one discarded warm-up of each, wall time spawn to exit.
- the local proxy's overhead per request: `token-vault proxy` (a real process) in front of
  the loopback upstream bench/token_server.py (no added latency, its own process), against the
  same upstream asked directly; one keep-alive httpx client for each, alternating requests
  after a warm-up; the added time is the difference of the medians.
"""

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

from bench.common import (
    PYTHON,
    REPO,
    TOKEN_VAULT,
    add_static,
    keyring_items,
    median,
    minimal_read,
    percentile,
    timed,
    timings,
)
from vault_app.core.account_store import AccountStore

NAME = "bench"


def _serve(env: dict[str, str], log: Path) -> subprocess.Popen[str]:
    with open(log, "w") as err:
        proc = subprocess.Popen(
            [TOKEN_VAULT, "serve"], env=env, stdout=subprocess.PIPE, stderr=err, text=True
        )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("serving"):
        proc.kill()
        raise RuntimeError(f"serve did not start: {line!r} {log.read_text()[-500:]}")
    return proc


def served_token(runs: int = 15) -> dict[str, Any]:
    import keyring

    with tempfile.TemporaryDirectory(prefix="bench-served-") as tmp:
        served_env = dict(os.environ, TOKEN_VAULT_HOME=str(Path(tmp) / "served"))
        direct_env = dict(os.environ, TOKEN_VAULT_HOME=str(Path(tmp) / "direct"))
        token = secrets.token_urlsafe(600)  # about the size of a typical JWT access token
        add_static(served_env, NAME, token)
        add_static(direct_env, NAME, token)
        doc = AccountStore(Path(served_env["TOKEN_VAULT_HOME"])).load()
        account = doc.find(NAME)
        user = f"{account.id}:{account.generation}"
        size = keyring_items(f"token-vault:{doc.vault_id}")[user]
        floor_service = f"token-floor:{doc.vault_id}"
        keyring.set_password(floor_service, user, secrets.token_hex(size)[:size])
        minimal = minimal_read(floor_service, user)
        app = [TOKEN_VAULT, "token", NAME]
        server = _serve(served_env, Path(tmp) / "serve.log")
        try:
            # The served path must not touch the keyring: prove it with an unusable one.
            blind = dict(served_env, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
            assert timed(app, blind)[1].strip() == token, "the app served another token"
            assert timed(app, direct_env)[1].strip() == token
            timed(minimal, served_env)  # warm-ups done
            served_s: list[float] = []
            floor_s: list[float] = []
            direct_s: list[float] = []
            for _ in range(runs):
                served_s.append(timed(app, served_env)[0])
                floor_s.append(timed(minimal, served_env)[0])
                direct_s.append(timed(app, direct_env)[0])
        finally:
            server.terminate()
            server.wait(timeout=10)
            keyring.delete_password(floor_service, user)
    print(
        f"  token served: {median(served_s) * 1000:.0f} ms, minimal keyring read "
        f"{median(floor_s) * 1000:.0f} ms, direct path {median(direct_s) * 1000:.0f} ms",
        file=sys.stderr,
    )
    return {
        "item_bytes": size,
        **timings(served=served_s, minimal=floor_s, direct=direct_s),
    }


def proxy_overhead(requests: int = 500) -> dict[str, Any]:
    import httpx

    with tempfile.TemporaryDirectory(prefix="bench-proxy-") as tmp:
        env = dict(
            os.environ, TOKEN_VAULT_HOME=str(Path(tmp) / "vault")
        )  # logs as a user gets them
        add_static(env, NAME, secrets.token_urlsafe(600))
        upstream = subprocess.Popen(
            [PYTHON, "-m", "bench.token_server", "--latency", "0"],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert upstream.stdout is not None and upstream.stdin is not None
        base = f"http://127.0.0.1:{upstream.stdout.readline().strip()}"
        proxy = subprocess.Popen(
            [TOKEN_VAULT, "proxy", NAME, "--upstream", base],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert proxy.stdout is not None
            address = proxy.stdout.readline().split()[3]
            key = proxy.stdout.readline().split()[1]
            with (
                httpx.Client(base_url=base, trust_env=False) as direct,
                httpx.Client(
                    base_url=address, trust_env=False, headers={"X-Token-Vault-Key": key}
                ) as proxied,
            ):
                for _ in range(50):  # warm-up: connections, caches, the first token
                    assert direct.get("/v1/ping").status_code == 200
                    assert proxied.get("/v1/ping").status_code == 200
                direct_s: list[float] = []
                proxied_s: list[float] = []
                for _ in range(requests):
                    started = time.perf_counter()
                    direct.get("/v1/ping")
                    direct_s.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    proxied.get("/v1/ping")
                    proxied_s.append(time.perf_counter() - started)
        finally:
            proxy.terminate()
            proxy.wait(timeout=10)
            upstream.stdin.close()
            upstream.wait(timeout=10)
    added = median(proxied_s) - median(direct_s)
    print(
        f"  proxy: {median(proxied_s) * 1000:.2f} ms through it, {median(direct_s) * 1000:.2f} ms "
        f"direct: {added * 1000:.2f} ms added",
        file=sys.stderr,
    )
    return {
        "requests": requests,
        **timings(proxied=proxied_s, direct=direct_s),
        "added_median_s": added,
        "proxied_p95_s": percentile(proxied_s, 95),
        "direct_p95_s": percentile(direct_s, 95),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--requests", type=int, default=500)
    args = parser.parse_args()
    result = {"token": served_token(args.runs), "proxy": proxy_overhead(args.requests)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
