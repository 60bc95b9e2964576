"""Six CLI processes ask for the same expired token at once: one request reaches the server
and all six print the same new token (the lock, then a re-read of the stored generation)."""

from __future__ import annotations

import subprocess
import sys
import time

from tests.cli.support import assert_ok
from tests.conftest import REPO, Cli
from tests.fakes.traderevolution import TraderEvolutionFake


def test_six_processes_one_refresh(cli: Cli) -> None:
    with TraderEvolutionFake(access_lifetime=1) as fake:
        fake.add_user("six", "six-password-0001")
        assert_ok(
            cli(
                "add",
                "six",
                "--provider",
                "traderevolution",
                "--set",
                f"base_url={fake.base_url}",
                "--set",
                "login=six",
                "--secret",
                "password",
                stdin="six-password-0001\n",
            )
        )
        time.sleep(1.2)  # the 1-second token has expired
        fake.access_lifetime = 600
        before = len(fake.requests)
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "vault_app", "token", "six"],
                cwd=REPO,
                env=cli.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(6)
        ]
        results = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0] * 6, [err[-300:] for _, err in results]
        tokens = {out.strip() for out, _ in results}
        assert len(tokens) == 1
        assert [r.path for r in fake.requests[before:]] == ["/auth/token/refresh"]
        assert fake.is_active(tokens.pop())
