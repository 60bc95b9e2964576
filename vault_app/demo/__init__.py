"""`token-vault --demo`: a loopback demo auth server, an in-memory keyring and a throw-away vault.

Imports are deferred into `start_demo`, so `import vault_app.demo` stays light. The parts:
`vault_app.demo.server.DemoServer` and `vault_app.demo.seed` (`seed_demo`, `demo_vault`,
`remove_demo_home`, `demo_accounts`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vault_app.core.vault import Vault
    from vault_app.demo.server import DemoServer


def start_demo() -> tuple[Vault, DemoServer, str]:
    """Start the demo server and a seeded demo vault, for callers with no running event loop
    (the GUI, before its qasync loop); returns the vault, the server to stop at exit, and a
    one-line note for the status bar. The vault's home is deleted when the process exits."""
    import asyncio
    import atexit

    from vault_app.demo.seed import (
        demo_accounts,
        demo_count,
        demo_vault,
        remove_demo_home,
        seed_demo,
    )
    from vault_app.demo.server import DemoServer

    server = DemoServer()
    server.start()
    vault, home = demo_vault()
    count = demo_count(len(demo_accounts(server.url)))

    async def seed() -> None:
        try:
            await seed_demo(vault, server.url, count)
        finally:
            # The HTTP client belongs to this short-lived loop; the app's loop makes its own.
            await vault.http.aclose()

    try:
        asyncio.run(seed())
    except BaseException:
        vault.secrets().close()
        server.stop()
        remove_demo_home(home)
        raise
    atexit.register(remove_demo_home, home)
    note = (
        f"Demo: {count} accounts against a built-in server on {server.url.split('//')[1]}, "
        "secrets in memory, nothing saved. Within a minute: refreshes, a failing gateway "
        "and a session that needs a new sign-in."
    )
    return vault, server, note
