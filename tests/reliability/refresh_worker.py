"""Child process for the crash test: refreshes one account in a loop until it is killed.
Prints "ready" once started, then one line per completed refresh."""

from __future__ import annotations

import asyncio
import logging
import sys

from vault_app.core.providers.base import get_provider
from vault_app.core.vault import Vault


async def main(name: str) -> None:
    vault = Vault()
    # Warm up (imports, keyring connection) so the kill lands among refreshes, not imports.
    account = vault.load().find(name)
    get_provider(account.provider)
    vault.read_current_sync(account)
    import httpx  # noqa: F401

    print("ready", flush=True)
    while True:
        await vault.refresh(name)
        print(f"refreshed held={vault.longest_lock_hold * 1000:.1f}ms", flush=True)


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(main(sys.argv[1]))
