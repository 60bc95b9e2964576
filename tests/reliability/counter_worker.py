"""Child process for the lock test: increments a counter kept in an account's secret `token`,
each step a full locked read-modify-write through the generation protocol."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from vault_app.core.model import SecretBundle
from vault_app.core.vault import Vault


async def main(home: str, name: str, steps: int) -> None:
    vault = Vault(Path(home))
    try:
        account_id = vault.load().find(name).id
        for _ in range(steps):
            async with vault._locked(account_id) as loaded:
                count = int(loaded.bundle.secrets["token"].removeprefix("counter-"))
                bundle = SecretBundle(secrets={"token": f"counter-{count + 1}"})
                await vault._commit(loaded, bundle, lambda account: None)
    finally:
        await vault.aclose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
