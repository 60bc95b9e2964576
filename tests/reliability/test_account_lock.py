"""Two processes changing the same account at once lose no update (DESIGN.md section 4)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import keyring

from tests.conftest import REPO
from vault_app.core.vault import Vault

STEPS = 25


def test_two_processes_lose_no_update(vault_home: Path, secret_service: None) -> None:
    async def create() -> None:
        vault = Vault(vault_home)
        try:
            await vault.add("counter", "static", {}, {"token": "counter-0"}, sign_in=False)
        finally:
            await vault.aclose()

    asyncio.run(create())
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.reliability.counter_worker",
                str(vault_home),
                "counter",
                str(STEPS),
            ],
            cwd=REPO,
        )
        for _ in range(2)
    ]
    for worker in workers:
        assert worker.wait(timeout=120) == 0

    vault = Vault(vault_home)
    try:
        doc = vault.load()
        account = doc.find("counter")
        bundle = vault.read_current_sync(account)
        assert bundle is not None
        assert bundle.secrets["token"] == f"counter-{2 * STEPS}"
        # One generation per step, and only the current one is left in the keyring.
        assert account.generation == 1 + 2 * STEPS
        service = f"token-vault:{doc.vault_id}"
        leftovers = [
            g
            for g in range(1, account.generation + 2)
            if g != account.generation
            and keyring.get_password(service, f"{account.id}:{g}") is not None
        ]
        assert leftovers == []
    finally:
        asyncio.run(vault.aclose())
