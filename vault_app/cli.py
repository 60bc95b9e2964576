"""`token-vault`: the command line over the same core as the window (DESIGN.md section 6).

Secret values never come from argv: `--secret FIELD` prompts with hidden input on a terminal and
otherwise reads one line per `--secret` from standard input; `--secret-file` reads a whole file.
Exit codes: 0 ok, 2 usage, 3 no such account, 4 sign-in needed or rejected, 5 network or server
trouble, 6 keyring unavailable or locked (1 anything else, such as a damaged vault file).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import IO, Any, NoReturn, TypeVar

from vault_app import __version__
from vault_app.core import redact
from vault_app.core.errors import UsageError, UserFacingError
from vault_app.core.timefmt import iso_utc, relative

T = TypeVar("T")
PROG = "token-vault"
EXPORT_FORMAT = "token-vault-accounts"
FORMATS = ("raw", "bearer", "header", "json")

log = logging.getLogger("vault_app")


# -- argument parsing ---------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors on one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Keeps API access tokens fresh; every secret stays in the OS keyring.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    desktop = parser.add_argument_group("installation")
    desktop.add_argument(
        "--self-check",
        action="store_true",
        help="check the keyring, vault home, Qt platform and tray; non-zero if one is missing",
    )
    desktop.add_argument(
        "--install-desktop-entry",
        action="store_true",
        help="add Token Vault to this user's application menu (entry and icons)",
    )
    desktop.add_argument(
        "--uninstall-desktop-entry",
        action="store_true",
        help="remove the menu entry, icons and autostart entry that install added",
    )
    desktop.add_argument(
        "--autostart",
        action="store_true",
        help="with --install-desktop-entry: also start in the tray at login",
    )
    parser.add_argument("--qt-probe", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--minimized", action="store_true", help="start the window hidden")
    parser.add_argument(
        "--demo",
        action="store_true",
        help="try it with a built-in demo server, in memory; touches nothing",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    gui = sub.add_parser("gui", help="open the window (the default)")
    gui.add_argument("--minimized", action="store_true", help="start the window hidden")
    gui.add_argument(
        "--demo",
        action="store_true",
        help="try it with a built-in demo server, in memory; touches nothing",
    )

    providers = sub.add_parser("providers", help="list provider kinds and their fields")
    providers.add_argument("--json", action="store_true")

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

    add = sub.add_parser("add", help="add an account and sign in")
    add.add_argument("name")
    add.add_argument("--provider", required=True, metavar="KIND")
    secret_options(add)
    add.add_argument("--no-sign-in", action="store_true", help="store it without signing in")

    edit = sub.add_parser("edit", help="change an account's fields or secrets, then sign in")
    edit.add_argument("name")
    secret_options(edit)

    listing = sub.add_parser("list", help="list accounts")
    listing.add_argument("--json", action="store_true")

    show = sub.add_parser("show", help="an account's details (never its secrets)")
    show.add_argument("name")
    show.add_argument("--json", action="store_true")

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

    refresh = sub.add_parser("refresh", help="refresh accounts now")
    refresh.add_argument("names", nargs="*", metavar="NAME")
    refresh.add_argument("--all", action="store_true")

    revoke = sub.add_parser("revoke", help="revoke an account's tokens")
    revoke.add_argument("name")

    remove = sub.add_parser("remove", help="delete an account and its secrets")
    remove.add_argument("name")

    run = sub.add_parser("exec", help="run a command with the token in its environment")
    run.add_argument("name")
    run.add_argument("--env", default="ACCESS_TOKEN", metavar="VAR")
    # The command after `--` is split off in main(): argparse would read its options as ours.
    run.add_argument("argv", nargs="*", metavar="-- COMMAND [ARG]", help=argparse.SUPPRESS)

    export = sub.add_parser("export", help="write account definitions (never secrets)")
    export.add_argument("file", nargs="?")

    imp = sub.add_parser("import", help="add account definitions from an export")
    imp.add_argument("file")
    return parser


# -- small helpers ------------------------------------------------------------------------


def _pairs(items: Sequence[str], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"{option} takes FIELD=VALUE, not {item!r}")
        out[name.strip()] = value
    return out


def _read_secrets(
    names: Sequence[str], files: Sequence[str], stdin: IO[str], provider_kind: str
) -> dict[str, str]:
    from vault_app.core.providers.base import FieldKind, get_provider

    provider = get_provider(provider_kind)
    secrets: dict[str, str] = {}
    interactive = stdin.isatty()
    for name in names:
        spec = provider.field(name)
        if spec is None or not spec.secret:
            known = ", ".join(f.name for f in provider.fields if f.secret)
            raise UsageError(
                f"{provider_kind} has no secret field {name!r} (secret fields: {known})"
            )
        if interactive:
            import getpass

            value = getpass.getpass(f"{spec.label} ({name}): ")
        else:
            line = stdin.readline()
            if not line:
                raise UsageError(f"--secret {name}: expected one line on standard input, got none")
            value = line.rstrip("\r\n")
        if not value:
            raise UsageError(f"--secret {name}: the value is empty")
        secrets[name] = value
    for name, path in _pairs(files, "--secret-file").items():
        spec = provider.field(name)
        if spec is None or not spec.secret:
            raise UsageError(f"{provider_kind} has no secret field {name!r}")
        try:
            value = Path(path).expanduser().read_text()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise UsageError(f"--secret-file {name}: cannot read {path}: {reason}") from None
        if spec.kind is not FieldKind.PEM:
            value = value.strip()
        if not value.strip():
            raise UsageError(f"--secret-file {name}: {path} is empty")
        secrets[name] = value
    redact.register(secrets.values())
    return secrets


def _run(coro_fn: Callable[[Any], Awaitable[T]]) -> T:
    """Run one coroutine against a fresh Vault, closing its HTTP client and keyring thread."""
    from vault_app.core.vault import Vault

    async def main() -> T:
        vault = Vault()
        try:
            return await coro_fn(vault)
        finally:
            await vault.aclose()

    import asyncio  # not at the top: `token` for a valid token runs no event loop

    return asyncio.run(main())


def _print_json(data: Any, out: IO[str]) -> None:
    json.dump(data, out, indent=2, sort_keys=False)
    out.write("\n")


def _account_json(account: Any, now: float) -> dict[str, Any]:
    return {
        "name": account.name,
        "provider": account.provider,
        "status": account.display_status(now),
        "access_expires_at": iso_utc(account.access_expires_at),
        "refresh_expires_at": iso_utc(account.refresh_expires_at),
        "last_refresh_at": iso_utc(account.last_refresh_at),
        "last_error": account.last_error,
    }


def _format_token(tokens: Any, fields: dict[str, str], fmt: str) -> str:
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


# -- commands -----------------------------------------------------------------------------


def cmd_providers(args: argparse.Namespace, out: IO[str]) -> int:
    from vault_app.core.providers.base import get_provider, kinds

    items = [get_provider(kind) for kind in kinds()]
    if args.json:
        _print_json(
            [
                {"kind": p.kind, "title": p.title, "fields": [f.describe() for f in p.fields]}
                for p in items
            ],
            out,
        )
        return 0
    for provider in items:
        out.write(f"{provider.kind}: {provider.title}\n")
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
            out.write(f"  {spec.name:<22} {spec.label}{f' ({flags})' if flags else ''}\n")
    return 0


def cmd_add(args: argparse.Namespace, out: IO[str], stdin: IO[str]) -> int:
    from vault_app.core.providers.base import get_provider

    get_provider(args.provider)  # unknown kind: usage error before any prompt
    fields = _pairs(args.set, "--set")
    secrets = _read_secrets(args.secret, args.secret_file, stdin, args.provider)
    account, failure = _run(
        lambda v: v.add(args.name, args.provider, fields, secrets, sign_in=not args.no_sign_in)
    )
    if failure is not None:
        out.write(
            f"added {account.name}; the first sign-in failed (fix it with "
            f"'{PROG} edit {account.name}', then '{PROG} refresh {account.name}')\n"
        )
        raise failure
    state = "signed in" if account.status.value == "ok" else "not signed in"
    out.write(f"added {account.name} ({account.provider}), {state}\n")
    return 0


def cmd_edit(args: argparse.Namespace, out: IO[str], stdin: IO[str]) -> int:
    from vault_app.core.account_store import AccountStore

    account = AccountStore().load().find(args.name)
    fields = _pairs(args.set, "--set")
    secrets = _read_secrets(args.secret, args.secret_file, stdin, account.provider)
    updated, failure = _run(lambda v: v.edit(args.name, fields, secrets))
    if failure is not None:
        out.write(f"changed {updated.name}; signing in with the new settings failed\n")
        raise failure
    out.write(f"changed {updated.name}, signed in\n")
    return 0


def cmd_list(args: argparse.Namespace, out: IO[str]) -> int:
    from vault_app.core.account_store import AccountStore

    now = time.time()
    accounts = sorted(AccountStore().load().accounts, key=lambda a: a.name.lower())
    if args.json:
        _print_json([_account_json(a, now) for a in accounts], out)
        return 0
    if not accounts:
        out.write(f"no accounts yet: add one with '{PROG} add NAME --provider KIND'\n")
        return 0
    rows = [("NAME", "PROVIDER", "STATUS", "ACCESS TOKEN", "REFRESH TOKEN", "LAST REFRESH")]
    for a in accounts:
        rows.append(
            (
                a.name,
                a.provider,
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
    for row in rows:
        out.write("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n")
    for a in accounts:
        for note in (a.last_error, a.refresh_warning(now)):
            if note:
                out.write(f"{a.name}: {note}\n")
    return 0


def cmd_show(args: argparse.Namespace, out: IO[str]) -> int:
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
    data = _account_json(account, now)
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
            },
            "revoke": provider.revoke_description(_config(account, bundle)),
        }
    )
    if args.json:
        _print_json(data, out)
        return 0
    out.write(f"{account.name} ({provider.title})\n")
    out.write(f"  status:         {data['status']}\n")
    if account.last_error:
        out.write(f"  last error:     {account.last_error}\n")
    out.write(
        f"  access token:   {'none' if tokens is None else 'held (masked)'}; expires "
        f"{relative(account.access_expires_at, now, unknown='unknown')}\n"
    )
    out.write(
        f"  refresh token:  expires {relative(account.refresh_expires_at, now, unknown='-')}\n"
    )
    out.write(f"  last refresh:   {relative(account.last_refresh_at, now)}\n")
    warning = account.refresh_warning(now)
    if warning:
        out.write(f"  warning:        {warning}\n")
    for name, value in sorted(account.fields.items()):
        out.write(f"  {name + ':':<15} {value}\n")
    out.write(f"  secrets stored: {', '.join(data['secrets_stored']) or 'none'}\n")
    if info is not None:
        out.write("  JWT header:     " + json.dumps(info.header, sort_keys=True) + "\n")
        out.write("  JWT claims:     " + json.dumps(info.claims, sort_keys=True) + "\n")
    out.write(f"  revoke:         {data['revoke']}\n")
    return 0


def _config(account: Any, bundle: Any) -> Any:
    from vault_app.core.providers.base import AccountConfig

    return AccountConfig(account.fields, bundle.secrets if bundle else {})


def cmd_token(args: argparse.Namespace, out: IO[str]) -> int:
    tokens, fields = _valid_token(args.name, args.min_valid, args.force_refresh)
    out.write(_format_token(tokens, fields, args.format) + "\n")
    return 0


def _valid_token(name: str, min_valid: float, force: bool) -> tuple[Any, dict[str, str]]:
    """The fast path reads the keyring once with no event loop, HTTP client or Qt (directly
    on the Secret Service, see core/fast_read.py); only an expiring token goes through the
    locked refresh path."""
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
    account, tokens = _run(lambda v: v.token(name, min_valid=min_valid, force=force))
    return tokens, account.fields


def _stored_bundle(store: Any, doc: Any, account: Any) -> Any:
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


def cmd_refresh(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    from vault_app.core.account_store import AccountStore
    from vault_app.core.engine import EngineSettings, EventKind, Refresher

    if args.all == bool(args.names):
        raise UsageError("give account names or --all, not both or neither")
    doc = AccountStore().load()
    chosen = list(doc.accounts) if args.all else [doc.find(name) for name in args.names]

    async def refresh(vault: Any) -> tuple[dict[str, Any], Any]:
        # The background engine's own path: at most 8 in flight, the same error handling.
        engine = Refresher(vault, EngineSettings.from_doc(doc))
        return await engine.refresh_now(chosen), vault.load()

    outcome, after = _run(refresh)
    code = 0
    for account in chosen:
        event = outcome.get(account.id)
        if event is None or event.kind is not EventKind.REFRESH_SUCCEEDED:
            message = event.message if event else "not refreshed"
            err.write(f"{PROG}: error: {account.name}: {redact.redact(message or '')}\n")
            code = max(code, event.exit_code if event else 1)
            continue
        expires = after.by_id(account.id).access_expires_at
        out.write(f"{account.name}: refreshed, expires {relative(expires, unknown='unknown')}\n")
    return code


def cmd_revoke(args: argparse.Namespace, out: IO[str]) -> int:
    outcome = _run(lambda v: v.revoke(args.name))
    where = "revoked at the server" if outcome.server_side else "forgotten locally"
    out.write(f"{args.name}: tokens {where}. {outcome.message}\n")
    return 0


def cmd_remove(args: argparse.Namespace, out: IO[str]) -> int:
    _run(lambda v: v.remove(args.name))
    out.write(f"removed {args.name} and its secrets\n")
    return 0


def cmd_exec(args: argparse.Namespace, err: IO[str]) -> int:
    argv = list(args.argv)
    if not argv:
        raise UsageError("exec needs a command after --, as in: exec NAME -- COMMAND [ARG]...")
    if not args.env.isidentifier():
        raise UsageError(f"--env {args.env!r} is not a valid variable name")
    tokens, _ = _valid_token(args.name, 60, False)
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
        err.write(f"{PROG}: error: command not found: {argv[0]}\n")
        return 127
    except PermissionError:
        err.write(f"{PROG}: error: command not executable: {argv[0]}\n")
        return 126


def cmd_export(args: argparse.Namespace, out: IO[str]) -> int:
    from vault_app.core.account_store import AccountStore

    accounts = AccountStore().export_definitions()
    data = {"format": EXPORT_FORMAT, "version": 1, "accounts": accounts}
    if args.file:
        Path(args.file).write_text(json.dumps(data, indent=2) + "\n")
        out.write(f"wrote {len(accounts)} account definitions to {args.file} (no secrets)\n")
    else:
        _print_json(data, out)
    return 0


def cmd_import(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    try:
        data = json.loads(Path(args.file).read_text())
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror}") from None
    except ValueError:
        raise UsageError(f"{args.file} is not JSON") from None
    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise UsageError(f"{args.file} is not a Token Vault export")
    entries = data.get("accounts")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise UsageError(f"{args.file}: 'accounts' must be a list of objects")

    async def add_all(vault: Any) -> int:
        added = 0
        existing = {a.name for a in vault.load().accounts}
        for entry in entries:
            name, kind = str(entry.get("name", "")), str(entry.get("provider", ""))
            fields = {str(k): str(v) for k, v in dict(entry.get("fields") or {}).items()}
            if name in existing:
                err.write(f"{name}: skipped, an account with that name exists\n")
                continue
            await vault.add(name, kind, fields, {}, sign_in=False, require_secrets=False)
            existing.add(name)
            added += 1
        return added

    added = _run(add_all)
    out.write(
        f"imported {added} account definitions; give each its secrets with "
        f"'{PROG} edit NAME --secret FIELD'\n"
    )
    return 0


def cmd_install(args: argparse.Namespace, out: IO[str]) -> int:
    from vault_app.system import desktop_entry
    from vault_app.system.launcher import launch_command

    if sys.platform in ("win32", "darwin"):
        raise UsageError(
            "the desktop entry is for Linux desktops (freedesktop.org); on Windows and macOS "
            "install the bundle as packaging/README.md describes"
        )
    if args.uninstall_desktop_entry:
        removed = desktop_entry.uninstall()
        for path in removed:
            out.write(f"removed {path}\n")
        if not removed:
            out.write("nothing to remove: no desktop entry of Token Vault was installed\n")
        return 0
    for path in desktop_entry.install(launch_command(), autostart=bool(args.autostart)):
        out.write(f"wrote {path}\n")
    return 0


def cmd_gui(args: argparse.Namespace) -> int:
    from vault_app.gui.launch import run_gui

    return run_gui(minimized=bool(args.minimized), demo=bool(args.demo))


# -- entry point --------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    from vault_app import logs

    logs.setup()
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    split = words.index("--") if "--" in words else len(words)
    args = parser.parse_args(words[:split])
    if args.command == "exec":
        # Everything after the first `--` is the child's command line, untouched.
        args.argv = words[split + 1 :]
    elif split < len(words):
        args = parser.parse_args(words)
    out, err, stdin = sys.stdout, sys.stderr, sys.stdin
    command = args.command or "gui"
    if args.autostart and not args.install_desktop_entry:
        parser.error("--autostart goes with --install-desktop-entry")
    if args.command and (
        args.self_check or args.install_desktop_entry or args.uninstall_desktop_entry
    ):
        parser.error(f"--self-check and the desktop entry options take no command ({args.command})")
    if args.qt_probe:
        from vault_app.system.selfcheck import qt_probe

        return qt_probe(out)
    if args.self_check:
        from vault_app.system import selfcheck

        return selfcheck.run(out)
    if args.install_desktop_entry or args.uninstall_desktop_entry:
        command = "install"
    handlers: dict[str, Callable[[], int]] = {
        "gui": lambda: cmd_gui(args),
        "install": lambda: cmd_install(args, out),
        "providers": lambda: cmd_providers(args, out),
        "add": lambda: cmd_add(args, out, stdin),
        "edit": lambda: cmd_edit(args, out, stdin),
        "list": lambda: cmd_list(args, out),
        "show": lambda: cmd_show(args, out),
        "token": lambda: cmd_token(args, out),
        "refresh": lambda: cmd_refresh(args, out, err),
        "revoke": lambda: cmd_revoke(args, out),
        "remove": lambda: cmd_remove(args, out),
        "exec": lambda: cmd_exec(args, err),
        "export": lambda: cmd_export(args, out),
        "import": lambda: cmd_import(args, out, err),
    }
    try:
        return handlers[command]()
    except UserFacingError as exc:
        out.flush()
        err.write(f"{PROG}: error: {redact.redact(exc.message)}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        err.write(f"{PROG}: interrupted\n")
        return 130
    except Exception as exc:
        log.debug("unexpected error", exc_info=True)
        err.write(
            f"{PROG}: internal error: {type(exc).__name__}: {redact.redact(str(exc))[:200]} "
            "(run with TOKEN_VAULT_LOG=debug for details)\n"
        )
        return 1
