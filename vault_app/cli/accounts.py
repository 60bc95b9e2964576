"""Commands that manage accounts: providers, add, edit, list, show, remove."""

from __future__ import annotations

import argparse
import json
import time
from typing import TYPE_CHECKING, Any

from vault_app.cli import login
from vault_app.cli.common import (
    PROG,
    Streams,
    account_json,
    pairs,
    print_json,
    read_secrets,
    run_vault,
)
from vault_app.core import sign_in
from vault_app.core.errors import UsageError
from vault_app.core.text import printable
from vault_app.core.timefmt import iso_utc, relative

if TYPE_CHECKING:
    from vault_app.cli.common import Subcommands
    from vault_app.core.errors import UserFacingError
    from vault_app.core.model import Account, SecretBundle
    from vault_app.core.providers.base import AccountConfig
    from vault_app.core.vault import Vault


def register(sub: Subcommands) -> None:
    providers = sub.add_parser("providers", help="list provider kinds and their fields")
    providers.add_argument("--json", action="store_true")
    providers.set_defaults(run=cmd_providers)

    add = sub.add_parser("add", help="add an account and sign in")
    add.add_argument("name")
    add.add_argument("--provider", required=True, metavar="KIND")
    secret_options(add)
    add.add_argument("--no-sign-in", action="store_true", help="store it without signing in")
    login.no_browser_option(add)
    add.set_defaults(run=cmd_add)

    edit = sub.add_parser("edit", help="change an account's fields or secrets, then sign in")
    edit.add_argument("name")
    secret_options(edit)
    login.no_browser_option(edit)
    edit.set_defaults(run=cmd_edit)

    listing = sub.add_parser("list", help="list accounts")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=cmd_list)

    show = sub.add_parser("show", help="an account's details (never its secrets)")
    show.add_argument("name")
    show.add_argument("--json", action="store_true")
    show.set_defaults(run=cmd_show)

    remove = sub.add_parser("remove", help="delete an account and its secrets")
    remove.add_argument("name", nargs="?")
    remove.add_argument(
        "--leftovers",
        action="store_true",
        help="instead: delete keyring items of this vault that no account owns",
    )
    remove.set_defaults(run=cmd_remove)


def secret_options(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument(
        "--set", action="append", default=[], metavar="FIELD=VALUE", help="a non-secret field"
    )
    cmd.add_argument(
        "--secret",
        action="append",
        default=[],
        metavar="FIELD",
        help="a secret field, read from a hidden prompt or one line of stdin",
    )
    cmd.add_argument(
        "--secret-file",
        action="append",
        default=[],
        metavar="FIELD=PATH",
        help="a secret field read whole from a file (PEM keys, certificates)",
    )


def cmd_providers(args: argparse.Namespace, io: Streams) -> int:
    from vault_app.core.providers.base import get_provider, kinds

    items = [get_provider(kind) for kind in kinds()]
    if args.json:
        print_json(
            [
                {"kind": p.kind, "title": p.title, "fields": [f.describe() for f in p.fields]}
                for p in items
            ],
            io.out,
        )
        return 0
    for provider in items:
        io.out.write(f"{provider.kind}: {provider.title}\n")
        for spec in provider.fields:
            flags = ", ".join(
                x
                for x in (
                    "secret" if spec.secret else "",
                    "required" if spec.required else "",
                    f"default {spec.default}" if spec.default else "",
                    f"one of {'/'.join(spec.choices)}" if spec.choices else "",
                )
                if x
            )
            io.out.write(f"  {spec.name:<22} {spec.label}{f' ({flags})' if flags else ''}\n")
    return 0


def cmd_add(args: argparse.Namespace, io: Streams) -> int:
    from vault_app.core.providers.base import get_provider

    get_provider(args.provider)  # unknown kind: usage error before any prompt
    fields = pairs(args.set, "--set")
    secrets = read_secrets(args.secret, args.secret_file, io.stdin, args.provider)
    interactive = sign_in.is_interactive(args.provider, fields) and not args.no_sign_in

    async def add(v: Vault) -> tuple[Account, UserFacingError | None]:
        added = await v.add(args.name, args.provider, fields, secrets, sign_in=not args.no_sign_in)
        if not interactive:
            return added
        return await login.then_login(v, added, io.err, browser=not args.no_browser)

    account, failure = run_vault(add, io)
    name = printable(account.name)
    if failure is not None and interactive:
        io.out.write(f"added {name}; {login.not_completed(account)}\n")
        raise failure
    if failure is not None:
        io.out.write(
            f"added {name}; the first sign-in failed (fix it with "
            f"'{PROG} edit {name}', then '{PROG} refresh {name}')\n"
        )
        raise failure
    state = "signed in" if account.status.value == "ok" else "not signed in"
    io.out.write(f"added {name} ({account.provider}), {state}\n")
    return 0


def cmd_edit(args: argparse.Namespace, io: Streams) -> int:
    from vault_app.core.account_store import AccountStore

    account = AccountStore().load().find(args.name)
    fields = pairs(args.set, "--set")
    secrets = read_secrets(args.secret, args.secret_file, io.stdin, account.provider)
    interactive = sign_in.is_interactive(account.provider, {**account.fields, **fields})

    async def edit(v: Vault) -> tuple[Account, UserFacingError | None]:
        edited = await v.edit(args.name, fields, secrets)
        if not interactive:
            return edited
        return await login.then_login(v, edited, io.err, browser=not args.no_browser)

    updated, failure = run_vault(edit, io)
    if failure is not None and interactive:
        io.out.write(f"changed {printable(updated.name)}; {login.not_completed(updated)}\n")
        raise failure
    if failure is not None:
        io.out.write(
            f"changed {printable(updated.name)}; signing in with the new settings failed\n"
        )
        raise failure
    io.out.write(f"changed {printable(updated.name)}, signed in\n")
    return 0


def cmd_list(args: argparse.Namespace, io: Streams) -> int:
    from vault_app.cli import served
    from vault_app.core.account_store import AccountStore

    now = time.time()
    doc = AccountStore().load()
    held = served.accounts()  # the running app's view first
    accounts = sorted(doc.accounts if held is None else held, key=lambda a: a.name.lower())
    if args.json:
        print_json([account_json(a, now) for a in accounts], io.out)
        return 0
    if not accounts:
        io.out.write(f"no accounts yet: add one with '{PROG} add NAME --provider KIND'\n")
    rows = [("NAME", "PROVIDER", "STATUS", "ACCESS TOKEN", "REFRESH TOKEN", "LAST REFRESH")]
    for a in accounts:
        rows.append(
            (
                printable(a.name),
                printable(a.provider),
                a.display_status(now),
                relative(
                    a.access_expires_at,
                    now,
                    unknown="-" if a.status.value != "ok" else "expiry unknown",
                ),
                relative(a.refresh_expires_at, now),
                relative(a.last_refresh_at, now),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows if accounts else []:
        io.out.write(
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n"
        )
    for a in accounts:
        for note in (a.last_error, a.refresh_warning(now)):
            if note:
                io.out.write(f"{printable(a.name)}: {printable(note)}\n")
    for name in sorted({item.name for item in doc.leftovers}):
        io.out.write(
            f"{printable(name)}: removed, but some of its keyring items are still there: run "
            f"'{PROG} remove {printable(name)}' again to delete them\n"
        )
    return 0


def cmd_show(args: argparse.Namespace, io: Streams) -> int:
    from vault_app.core import jwtinfo
    from vault_app.core.providers.base import get_provider
    from vault_app.core.vault import Vault

    vault = Vault()
    try:
        account = vault.load().find(args.name)
        bundle = vault.read_current_sync(account)
    finally:
        vault.secrets().close()
    provider = get_provider(account.provider)
    now = time.time()
    tokens = bundle.tokens if bundle else None
    info = jwtinfo.inspect(tokens.access_token) if tokens else None
    id_info = jwtinfo.inspect(tokens.id_token) if tokens and tokens.id_token else None
    data: dict[str, Any] = account_json(account, now)
    data.update(
        {
            "fields": dict(account.fields),
            "secrets_stored": sorted(bundle.secrets) if bundle else [],
            "token": None
            if tokens is None
            else {
                "token_type": tokens.token_type,
                "expires_at": iso_utc(tokens.expires_at),
                "has_refresh_token": tokens.refresh_token is not None,
                "scope": tokens.scope,
                "jwt_header": info.header if info else None,
                "jwt_claims": info.claims if info else None,
                "has_id_token": tokens.id_token is not None,
                "id_token_claims": id_info.claims if id_info else None,
            },
            "revoke": provider.revoke_description(_config(account, bundle)),
        }
    )
    if args.json:
        print_json(data, io.out)
        return 0
    out = io.out
    out.write(f"{printable(account.name)} ({provider.title})\n")
    out.write(f"  status:         {data['status']}\n")
    if account.last_error:
        out.write(f"  last error:     {printable(account.last_error)}\n")
    out.write(
        f"  access token:   {'none' if tokens is None else 'held (masked)'}; expires "
        f"{relative(account.access_expires_at, now, unknown='unknown')}\n"
    )
    if tokens is not None and not tokens.refresh_token:
        out.write("  refresh token:  none\n")
    else:
        out.write(
            f"  refresh token:  expires {relative(account.refresh_expires_at, now, unknown='-')}\n"
        )
    out.write(f"  last refresh:   {relative(account.last_refresh_at, now)}\n")
    warning = account.refresh_warning(now)
    if warning:
        out.write(f"  warning:        {warning}\n")
    for name, value in sorted(account.fields.items()):
        out.write(f"  {printable(name) + ':':<15} {printable(value)}\n")
    stored = ", ".join(printable(n) for n in data["secrets_stored"])
    out.write(f"  secrets stored: {stored or 'none'}\n")
    if info is not None:
        # JSON with ASCII escapes: a claim cannot carry a control character to the terminal.
        out.write("  JWT header:     " + printable(_compact(info.header)) + "\n")
        out.write("  JWT claims:     " + printable(_compact(info.claims)) + "\n")
    if id_info is not None:
        out.write("  ID token:       " + printable(_compact(id_info.claims)) + "\n")
    out.write(f"  revoke:         {printable(data['revoke'])}\n")
    return 0


def _compact(data: Any) -> str:
    try:
        return json.dumps(data, sort_keys=True, default=repr)
    except (TypeError, ValueError):
        return repr(data)


def _config(account: Account, bundle: SecretBundle | None) -> AccountConfig:
    from vault_app.core.providers.base import AccountConfig

    return AccountConfig(account.fields, bundle.secrets if bundle else {})


def cmd_remove(args: argparse.Namespace, io: Streams) -> int:
    if args.leftovers == bool(args.name):
        raise UsageError("give an account name or --leftovers, not both or neither")
    if args.leftovers:
        deleted = run_vault(lambda v: v.remove_leftovers(), io)
        io.out.write(
            f"deleted {len(deleted)} keyring item{'s' if len(deleted) != 1 else ''} "
            "that no account owned\n"
        )
        return 0
    run_vault(lambda v: v.remove(args.name), io)
    io.out.write(f"removed {printable(args.name)} and its secrets\n")
    return 0
