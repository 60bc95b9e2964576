"""Commands that run the app's services without the window: `serve` (the refresh engine and the
CLI socket, headless; or its systemd user unit) and `proxy` (a local reverse proxy that adds an
account's token to every request)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from vault_app.cli.common import PROG, Streams
from vault_app.core.errors import TransientError, UserFacingError

if TYPE_CHECKING:
    from vault_app.cli.common import Subcommands
    from vault_app.service.proxy import ProxyConfig
    from vault_app.service.vault_service import VaultService


def register(sub: Subcommands) -> None:
    serve = sub.add_parser(
        "serve", help="keep tokens fresh and serve the CLI without a window (headless)"
    )
    unit = serve.add_mutually_exclusive_group()
    unit.add_argument(
        "--install-systemd-unit",
        action="store_true",
        help="write a systemd user unit that starts `serve` at login, and say how to enable it",
    )
    unit.add_argument("--uninstall-systemd-unit", action="store_true")
    serve.set_defaults(run=cmd_serve)

    proxy = sub.add_parser(
        "proxy", help="a local proxy that adds the account's token to every request"
    )
    proxy.add_argument("name")
    proxy.add_argument("--upstream", required=True, metavar="URL", help="the API's base URL")
    proxy.add_argument(
        "--listen",
        default="127.0.0.1:0",
        metavar="HOST:PORT",
        help="a loopback address (default 127.0.0.1 and any free port)",
    )
    proxy.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long the upstream may take to answer before a 504 (default 30)",
    )
    proxy.set_defaults(run=cmd_proxy)


def _custom_home() -> Path | None:
    """The vault chosen with $TOKEN_VAULT_HOME, absolute; None for the default one."""
    if not os.environ.get("TOKEN_VAULT_HOME"):
        return None
    from vault_app.core.account_store import default_home

    return default_home().resolve()


def cmd_serve(args: argparse.Namespace, io: Streams) -> int:
    from vault_app.service import systemd

    if args.install_systemd_unit:
        if not sys.platform.startswith("linux"):
            raise UserFacingError("systemd units are for Linux")
        from vault_app.system.launcher import launch_command

        try:
            path = systemd.install(launch_command(), _custom_home())
        except (OSError, ValueError) as exc:
            raise UserFacingError(f"cannot write the systemd unit: {exc}") from None
        io.out.write(
            f"wrote {path}\n"
            "start it now and at every login with:\n"
            f"  systemctl --user daemon-reload && systemctl --user enable --now {path.name}\n"
            "to keep it running while you are logged out: loginctl enable-linger\n"
        )
        return 0
    if args.uninstall_systemd_unit:
        removed = systemd.uninstall(_custom_home())
        if removed is None:
            io.out.write("no systemd unit of this vault was installed\n")
            return 0
        io.out.write(
            f"removed {removed}; if it was enabled: systemctl --user disable --now {removed.name}\n"
        )
        return 0
    return _serve(io)


def _serve(io: Streams) -> int:
    import asyncio

    from vault_app.service.headless import serve
    from vault_app.service.server import supported

    def ready(service: VaultService) -> None:
        home = service.vault.store.home
        if service.server is None:
            io.out.write(
                f"serving the vault in {home} (refreshing only: {supported()}; "
                f"the CLI reads the keyring itself) (pid {os.getpid()}); stop with Ctrl+C\n"
            )
        else:
            io.out.write(
                f"serving the vault in {home} on {service.server.path} "
                f"(pid {os.getpid()}); stop with Ctrl+C\n"
            )
        io.out.flush()

    asyncio.run(serve(None, ready))
    return 0


def cmd_proxy(args: argparse.Namespace, io: Streams) -> int:
    import asyncio

    from vault_app.service.proxy import ProxyConfig

    config = ProxyConfig.make(args.name, args.upstream, args.listen, args.timeout)
    if not os.environ.get("TOKEN_VAULT_LOG"):
        logging.getLogger("vault_app.proxy").setLevel(logging.INFO)  # one line per request
    asyncio.run(_proxy(config, io))
    return 0


async def _proxy(config: ProxyConfig, io: Streams) -> None:
    import asyncio
    import signal

    from vault_app.core.account_store import AccountStore
    from vault_app.service.proxy import MIN_VALID, LocalProxy
    from vault_app.service.sources import CliSource

    account = AccountStore().load().find(config.account)
    source = CliSource(config.account)
    try:
        # A proxy that cannot get a token is no use: say so at once. Network trouble may pass.
        await source.credential(min_valid=MIN_VALID, force=False)
    except TransientError as exc:
        io.err.write(f"{PROG}: warning: {exc.message}; starting anyway\n")
    except BaseException:
        await source.aclose()
        raise
    proxy = LocalProxy(config, source, ca_bundle=account.fields.get("ca_bundle"))
    try:
        await proxy.start()
    except BaseException:
        await source.aclose()
        raise
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, stopping.set)
    io.out.write(
        f"proxy for {config.account}: {proxy.address} -> {config.upstream}\n"
        f"key: {config.key}\n"
        f'use: curl -H "X-Token-Vault-Key: $KEY" {proxy.address}/...\n'
    )
    io.out.flush()
    io.err.write(f"{PROG}: proxy running; stop with Ctrl+C\n")
    io.err.flush()
    try:
        await stopping.wait()
    finally:
        await proxy.stop()
