"""Commands that use tokens: token, exec, refresh, revoke.

`token` for a valid stored token reads the keyring once with no event loop, HTTP client or Qt
(directly on the Secret Service, see core/fast_read.py); only an expiring token goes through
the locked refresh path.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from vault_app.cli.common import PROG, Streams, run_vault
from vault_app.core import redact
from vault_app.core.errors import UsageError
from vault_app.core.timefmt import iso_utc, relative

if TYPE_CHECKING:
    from vault_app.cli.common import Subcommands
    from vault_app.core.account_store import AccountStore, VaultDoc
    from vault_app.core.engine import Event
    from vault_app.core.model import Account, SecretBundle, TokenSet
    from vault_app.core.vault import Vault

FORMATS = ("raw", "bearer", "header", "json")


def register(sub: Subcommands) -> None:
    token = sub.add_parser("token", help="print a valid access token")
    token.add_argument("name")
    token.add_argument("--format", choices=FORMATS, default="raw")
    token.add_argument(
        "--min-valid",
        type=float,
        default=60,
        metavar="SECONDS",
        help="refresh first when fewer seconds remain (default 60)",
    )
    token.add_argument("--force-refresh", action="store_true")
    token.add_argument(
        "--id-token",
        action="store_true",
        help="print the OpenID Connect id_token instead (accounts whose scope has openid)",
    )
    token.set_defaults(run=cmd_token)

    refresh = sub.add_parser("refresh", help="refresh accounts now")
    refresh.add_argument("names", nargs="*", metavar="NAME")
    refresh.add_argument("--all", action="store_true")
    refresh.set_defaults(run=cmd_refresh)

    revoke = sub.add_parser("revoke", help="revoke an account's tokens")
    revoke.add_argument("name")
    revoke.set_defaults(run=cmd_revoke)

    run = sub.add_parser("exec", help="run a command with the token in its environment")
    run.add_argument("name")
    run.add_argument("--env", default="ACCESS_TOKEN", metavar="VAR")
    # The command after `--` is split off in main(): argparse would read its options as ours.
    run.add_argument("argv", nargs="*", metavar="-- COMMAND [ARG]", help=argparse.SUPPRESS)
    run.set_defaults(run=cmd_exec)


def format_token(tokens: TokenSet, fields: Mapping[str, str], fmt: str) -> str:
    """The token as `--format` asks: raw, `Scheme token`, a header line, or JSON."""
    scheme = tokens.token_type or ""
    value = f"{scheme} {tokens.access_token}" if scheme else tokens.access_token
    if fmt == "raw":
        return str(tokens.access_token)
    if fmt == "bearer":
        return value
    if fmt == "header":
        return f"{fields.get('header_name') or 'Authorization'}: {value}"
    return json.dumps(
        {
            "access_token": tokens.access_token,
            "token_type": tokens.token_type,
            "expires_at": iso_utc(tokens.expires_at),
        }
    )


def cmd_token(args: argparse.Namespace, io: Streams) -> int:
    tokens, fields = valid_token(args.name, args.min_valid, args.force_refresh)
    if args.id_token:
        io.out.write(id_token(args.name, tokens, args.min_valid) + "\n")
        return 0
    io.out.write(format_token(tokens, fields, args.format) + "\n")
    return 0


def id_token(name: str, tokens: TokenSet, min_valid: float) -> str:
    """The id_token held with `tokens`, refreshed first when its own `exp` is within
    `min_valid` seconds (OIDC refresh replies usually carry a new one)."""
    from vault_app.core import jwtinfo
    from vault_app.core.errors import SignInNeededError

    def fresh(value: str | None) -> bool:
        expires = jwtinfo.expiry_of(value) if value else None
        return bool(value) and (expires is None or expires - time.time() > min_valid)

    if not tokens.id_token:
        raise UsageError(f"{name} holds no id_token (its scope must include openid)")
    if not fresh(tokens.id_token):
        tokens, _ = valid_token(name, min_valid, True)
        if not fresh(tokens.id_token):
            raise SignInNeededError(
                f"{name}: the id_token has expired and the refresh brought no new one; "
                f"run '{PROG} login {name}'"
            )
    return tokens.id_token or ""


def valid_token(name: str, min_valid: float, force: bool) -> tuple[TokenSet, Mapping[str, str]]:
    """A token valid for `min_valid` seconds and the account's fields, refreshed when needed."""
    from vault_app.core.account_store import AccountStore

    if min_valid < 0:
        raise UsageError("--min-valid must not be negative")
    store = AccountStore()
    doc = store.load()
    account = doc.find(name)
    if not force:
        bundle = _stored_bundle(store, doc, account)
        tokens = bundle.tokens if bundle else None
        if tokens is not None:
            remaining = tokens.remaining()
            if remaining is None or remaining > min_valid:
                return tokens, account.fields
    account, tokens = run_vault(lambda v: v.token(name, min_valid=min_valid, force=force))
    return tokens, account.fields


def _stored_bundle(store: AccountStore, doc: VaultDoc, account: Account) -> SecretBundle | None:
    from vault_app.core import fast_read
    from vault_app.core.secret_store import configured_timeout

    bundle = fast_read.stored_bundle(store.home, doc.vault_id, account, configured_timeout())
    if bundle is not None:
        return bundle
    from vault_app.core.vault import Vault

    vault = Vault(store.home)
    try:
        return vault.read_current_sync(account)
    finally:
        vault.secrets().close()


def cmd_refresh(args: argparse.Namespace, io: Streams) -> int:
    from vault_app.core.account_store import AccountStore
    from vault_app.core.engine import EngineSettings, EventKind, Refresher

    if args.all == bool(args.names):
        raise UsageError("give account names or --all, not both or neither")
    doc = AccountStore().load()
    chosen = list(doc.accounts) if args.all else [doc.find(name) for name in args.names]

    async def refresh(vault: Vault) -> tuple[dict[str, Event], VaultDoc]:
        # The background engine's own path: at most 8 in flight, the same error handling.
        engine = Refresher(vault, EngineSettings.from_doc(doc))
        return await engine.refresh_now(chosen), vault.load()

    outcome, after = run_vault(refresh)
    code = 0
    for account in chosen:
        event = outcome.get(account.id)
        if event is None or event.kind is not EventKind.REFRESH_SUCCEEDED:
            message = event.message if event else "not refreshed"
            io.err.write(f"{PROG}: error: {account.name}: {redact.redact(message or '')}\n")
            code = max(code, event.exit_code if event else 1)
            continue
        expires = after.by_id(account.id).access_expires_at
        io.out.write(f"{account.name}: refreshed, expires {relative(expires, unknown='unknown')}\n")
    return code


def cmd_revoke(args: argparse.Namespace, io: Streams) -> int:
    outcome = run_vault(lambda v: v.revoke(args.name))
    where = "revoked at the server" if outcome.server_side else "forgotten locally"
    io.out.write(f"{args.name}: tokens {where}. {outcome.message}\n")
    return 0


def cmd_exec(args: argparse.Namespace, io: Streams) -> int:
    argv = list(args.argv)
    if not argv:
        raise UsageError("exec needs a command after --, as in: exec NAME -- COMMAND [ARG]...")
    if not args.env.isidentifier():
        raise UsageError(f"--env {args.env!r} is not a valid variable name")
    tokens, _ = valid_token(args.name, 60, False)
    env = dict(os.environ)
    env[args.env] = tokens.access_token
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        if os.name == "posix":
            os.execvpe(argv[0], argv, env)  # noqa: S606 - the child gets our stdio and signals as they are
        import subprocess

        return subprocess.run(argv, env=env, check=False).returncode
    except FileNotFoundError:
        io.err.write(f"{PROG}: error: command not found: {argv[0]}\n")
        return 127
    except PermissionError:
        io.err.write(f"{PROG}: error: command not executable: {argv[0]}\n")
        return 126
