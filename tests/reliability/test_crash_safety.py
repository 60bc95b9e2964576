"""A kill -9 at any instant leaves a usable refresh token (DESIGN.md sections 4 and 8).

A child process refreshes in a loop against a fake whose rotated refresh token stays valid
until its successor is first used (so a refresh whose result was lost to the kill can be
redone), and is killed with SIGKILL at random moments. Afterwards the account still
refreshes, and the server never saw a superseded refresh token: one reuse would have revoked
the whole family."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.cli.support import assert_ok
from tests.conftest import REPO, Cli
from tests.fakes.oauth2 import OAuth2Fake

KILLS = 50


def test_sigkill_at_random_moments_never_loses_the_refresh_token(
    cli: Cli, private_keyring: dict[str, str]
) -> None:
    cli.env.update(private_keyring)  # the kills may abort gnome-keyring: keep it to ourselves
    rng = random.Random(int(os.environ.get("TOKEN_VAULT_CRASH_SEED", "20261123")))
    with OAuth2Fake(access_lifetime=600, grace=True) as fake:
        fake.add_client("crash-client", "crash-secret-0001")
        first = fake.issue_refresh_token("crash-client", "carol")
        assert_ok(
            cli(
                "add",
                "crash",
                "--provider",
                "oauth2",
                "--set",
                f"token_url={fake.token_url}",
                "--set",
                "grant=refresh_token",
                "--set",
                "client_id=crash-client",
                "--secret",
                "client_secret",
                "--secret",
                "refresh_token",
                stdin=f"crash-secret-0001\n{first}\n",
            )
        )
        refreshes, longest_hold = 0, 0.0

        def count(line: str) -> None:
            nonlocal refreshes, longest_hold
            refreshes += 1
            longest_hold = max(longest_hold, float(line.split("held=")[1].strip().rstrip("ms")))

        for kill in range(KILLS):
            child = subprocess.Popen(
                [sys.executable, "-m", "tests.reliability.refresh_worker", "crash"],
                cwd=REPO,
                env=cli.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "ready"
            if kill % 2:
                # Every other child completes a refresh first, so however slow the machine,
                # half the kills land in a child that has been refreshing: in the middle of
                # its next refresh or between two.
                count(child.stdout.readline())
            time.sleep(rng.uniform(0.0, 0.6))
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=10)
            for line in child.stdout.read().splitlines():
                count(line)
        assert refreshes >= KILLS // 2
        assert fake.reuses == []

        # The account survives all of that: a fresh process refreshes with what is stored.
        result = assert_ok(cli("refresh", "crash"))
        assert "crash: refreshed" in result.out
        assert fake.reuses == []
        print(
            f"\n{KILLS} kills, {refreshes} completed refreshes, "
            f"longest lock hold {longest_hold:.1f} ms"
        )


def test_crash_test_would_catch_a_reuse(tmp_path: Path) -> None:
    """The fake's reuse detection, which the test above relies on, does fire."""
    import httpx

    with OAuth2Fake(grace=True) as fake:
        fake.add_client("c", "s")
        old = fake.issue_refresh_token("c", "u")
        form = {"grant_type": "refresh_token", "client_id": "c", "client_secret": "s"}
        new = httpx.post(fake.token_url, data={**form, "refresh_token": old}).json()
        httpx.post(fake.token_url, data={**form, "refresh_token": new["refresh_token"]})
        reply = httpx.post(fake.token_url, data={**form, "refresh_token": old})
        assert reply.status_code == 400 and reply.json()["error"] == "invalid_grant"
        assert len(fake.reuses) == 1
