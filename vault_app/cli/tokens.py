"""Commands that use tokens: token, exec, refresh, revoke.

While the window or `serve` runs, `token`, `exec` and `refresh` ask it first (cli/served.py):
tokens from its memory, refreshes by its engine. Otherwise `token` for a valid stored token
reads the keyring once with no event loop, HTTP client or Qt (directly on the Secret Service,
see core/fast_read.py); only an expiring token goes through the locked refresh path. An account
that needs a new sign-in but still holds an unexpired access token gets it, with a warning on
stderr.

A token is printed only when it, its type and its header name hold no control character: a CR
LF in any of them would add a line to an HTTP header (`curl -H "$(token-vault token x --format
header)"`). Tokens are checked where they arrive; this is the second line (exit 5).

`exec --env VAR` refuses names that change how programs are loaded or run rather than what they
are given (LOADER_VARIABLES, LOADER_PREFIXES): a token there breaks the command at best.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from vault_app.cli.common import PROG, Streams, report_refresh, run_vault, seconds_option
from vault_app.core import redact, token_formats
from vault_app.core.errors import MisconfiguredError, RejectedError, UsageError, UserFacingError
from vault_app.core.text import first_unprintable, printable
from vault_app.core.timefmt import iso_utc

if TYPE_CHECKING:
    from vault_app.cli.common import Subcommands
    from vault_app.core.account_store import AccountStore, VaultDoc
    from vault_app.core.engine import Event
    from vault_app.core.model import Account, SecretBundle, TokenSet
    from vault_app.core.vault import Vault

FORMATS = ("raw", "bearer", "header", "json", "env", "curl")

# Environment variables `exec --env` refuses: each changes how a program (or the shell, the
# dynamic loader, an interpreter, a tool it runs) is found, loaded or configured, rather than
# passing it a value. Compared in upper case (Windows names ignore case; proxies come in both).
LOADER_VARIABLES = frozenset(
    {
        # the shell and the search path
        "PATH", "IFS", "ENV", "BASH_ENV", "CDPATH", "SHELLOPTS", "BASHOPTS", "GLOBIGNORE",
        "PS4", "PROMPT_COMMAND", "HOME", "SHELL", "TMPDIR",
        # the C library: character sets, locales, name resolution, time zones
        "GCONV_PATH", "GETCONF_DIR", "LOCPATH", "NLSPATH", "HOSTALIASES", "LOCALDOMAIN",
        "RES_OPTIONS", "RESOLV_HOST_CONF", "TZDIR", "LANG", "LANGUAGE",
        # interpreters and runtimes
        "PERLLIB", "CLASSPATH", "PHPRC", "PHP_INI_SCAN_DIR", "TCLLIBPATH",
        # programs that tools start, and where trust and proxies come from
        "EDITOR", "VISUAL", "PAGER", "BROWSER", "LESSOPEN", "LESSCLOSE", "CURL_HOME",
        "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
        "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "FTP_PROXY",
    }
)  # fmt: skip
LOADER_PREFIXES = (
    "LD_", "DYLD_", "GLIBC_", "MALLOC_", "LC_", "BASH_FUNC_", "XDG_",
    "PYTHON", "PERL5", "PERL_", "RUBY", "GEM_", "BUNDLE_", "NODE_", "NPM_CONFIG_",
    "JAVA_", "_JAVA_", "JDK_JAVA_", "LUA_", "GIT_", "TOKEN_VAULT_",
)  # fmt: skip


def register(sub: Subcommands) -> None:
    token = sub.add_parser("token", help="print a valid access token")
    token.add_argument("name")
    token.add_argument("--format", choices=FORMATS, default="raw")
    token.add_argument(
        "--min-valid",
        type=seconds_option,
        default=60,
        metavar="SECONDS",
        help="refresh first when fewer seconds remain (default 60)",
    )
    token.add_argument("--force-refresh", action="store_true")
    token.add_argument(
        "--env", metavar="VAR", help="the variable --format env exports (default ACCESS_TOKEN)"
    )
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


def format_token(
    tokens: TokenSet, fields: Mapping[str, str], fmt: str, variable: str = "ACCESS_TOKEN"
) -> str:
    """The token as `--format` asks: raw, `Scheme token`, a header line, a shell `export
    VARIABLE=...` line, a curl config line (core/token_formats.py), or JSON.
    MisconfiguredError (exit 5) when the token, its type or the header name could add a line
    or an escape sequence to what is printed."""
    from vault_app.core import token_formats

    header_name = fields.get("header_name") or "Authorization"
    check_printable_token(tokens, header_name)
    if fmt != "json":
        return token_formats.render(
            tokens.access_token, tokens.token_type, header_name, fmt, variable
        )
    return json.dumps(
        {
            "access_token": tokens.access_token,
            "token_type": tokens.token_type,
            "expires_at": iso_utc(tokens.expires_at),
        }
    )


def check_printable_token(tokens: TokenSet, header_name: str = "Authorization") -> None:
    """MisconfiguredError unless the access token and its type are printable text (no CR, LF
    or other control or format character) and the header name is an RFC 9110 token."""
    for label, value in (("access token", tokens.access_token), ("token type", tokens.token_type)):
        if value is not None and not isinstance(value, str):
            raise MisconfiguredError(f"the stored {label} is not text; refresh the account")
        bad = first_unprintable(value or "")
        if bad is not None:
            raise MisconfiguredError(
                f"the stored {label} contains a control character ({bad}); refusing to print "
                "it, as it could add a header line or a terminal escape; refresh the account"
            )
    if not token_formats.is_field_name(header_name):
        raise MisconfiguredError(
            f"the header name '{printable(header_name)}' is not a valid HTTP field name; "
            "change it with: token-vault edit NAME --set header_name=..."
        )


def cmd_token(args: argparse.Namespace, io: Streams) -> int:
    if args.env is not None and (args.format != "env" or not args.env.isidentifier()):
        raise UsageError("--env takes a variable name and goes with --format env")
    tokens, fields = valid_token(args.name, args.min_valid, args.force_refresh, io)
    if args.id_token:
        value = id_token(args.name, tokens, args.min_valid, io)
        io.out.write(format_id_token(value, args.format, args.env or "ID_TOKEN") + "\n")
        return 0
    io.out.write(format_token(tokens, fields, args.format, args.env or "ACCESS_TOKEN") + "\n")
    return 0


def format_id_token(value: str, fmt: str, variable: str) -> str:
    """An id_token as `--format` asks, sent as a Bearer token (as APIs that take one want,
    such as Google's Cloud Run); JSON gives `id_token` and its `expires_at` (from `exp`)."""
    from vault_app.core import jwtinfo, token_formats

    if fmt != "json":
        return token_formats.render(value, "Bearer", "Authorization", fmt, variable)
    return json.dumps({"id_token": value, "expires_at": iso_utc(jwtinfo.expiry_of(value))})


def id_token(name: str, tokens: TokenSet, min_valid: float, io: Streams) -> str:
    """The id_token held with `tokens`, refreshed first when its own `exp` is within
    `min_valid` seconds (OIDC refresh replies usually carry a new one). UsageError when none
    is held, SignInNeededError when it expired and a refresh brought no new one,
    MisconfiguredError when it is not printable text (it would write to a terminal)."""
    from vault_app.core import jwtinfo
    from vault_app.core.errors import SignInNeededError

    def fresh(value: str | None) -> bool:
        expires = jwtinfo.expiry_of(value) if value else None
        return bool(value) and (expires is None or expires - time.time() > min_valid)

    shown = printable(name)
    if not tokens.id_token:
        raise UsageError(f"{shown} holds no id_token (its scope must include openid)")
    if not fresh(tokens.id_token):
        tokens, _ = valid_token(name, min_valid, True, io)
        if not fresh(tokens.id_token):
            raise SignInNeededError(
                f"{shown}: the id_token has expired and the refresh brought no new one; "
                f"run '{PROG} login {shown}'"
            )
    value = tokens.id_token or ""
    if not isinstance(value, str) or first_unprintable(value) is not None:
        raise MisconfiguredError(
            "the stored id_token contains a control character; refusing to print it; "
            f"run '{PROG} login {shown}'"
        )
    return value


def valid_token(
    name: str, min_valid: float, force: bool, io: Streams
) -> tuple[TokenSet, Mapping[str, str]]:
    """A token valid for `min_valid` seconds and the account's fields, refreshed when needed.
    An account whose refresh the server rejected still gets its unexpired access token, with
    a warning on `io.err` (what happened, how long it lasts)."""
    from vault_app.cli import served
    from vault_app.core.account_store import AccountStore
    from vault_app.core.model import Status

    answer = served.token(name, min_valid, force, io)  # the running app first: one refresher
    if answer is not None:
        return answer
    store = AccountStore()
    doc = store.load()
    account = doc.find(name)
    stored: TokenSet | None = None
    if not force:
        bundle = _stored_bundle(store, doc, account)
        stored = bundle.tokens if bundle else None
        if stored is not None and stored.serves(min_valid):
            if account.status is Status.SIGN_IN_NEEDED:
                _warn_sign_in_needed(io, account, account.last_error, stored.remaining())
            return stored, account.fields
    try:
        account, tokens = run_vault(lambda v: v.token(name, min_valid=min_valid, force=force), io)
    except RejectedError as exc:
        left = stored.remaining() if stored is not None else None
        if stored is None or left is None or left <= 0:
            raise
        # The refresh was refused, but the access token we hold has not expired yet.
        _warn_sign_in_needed(io, account, exc.message, left)
        return stored, account.fields
    return tokens, account.fields


def _warn_sign_in_needed(
    io: Streams, account: Account, reason: str | None, remaining: float | None
) -> None:
    from vault_app.core.sign_in import sign_in_warning

    io.warn(sign_in_warning(account, reason, remaining))


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
    from vault_app.cli import served

    code = served.refresh(list(args.names), args.all, io)  # done by the running app's engine
    if code is not None:
        return code
    doc = AccountStore().load()
    chosen = list(doc.accounts) if args.all else [doc.find(name) for name in args.names]

    async def refresh(vault: Vault) -> tuple[dict[str, Event], VaultDoc]:
        # The background engine's own path: at most 8 in flight, the same error handling.
        engine = Refresher(vault, EngineSettings.from_doc(doc))
        return await engine.refresh_now(chosen), vault.load()

    outcome, after = run_vault(refresh, io)
    code = 0
    for account in chosen:
        event = outcome.get(account.id)
        if event is None or event.kind is not EventKind.REFRESH_SUCCEEDED:
            report_refresh(io, account.name, None, (event.message if event else None) or "")
            code = max(code, event.exit_code if event else 1)
            continue
        try:
            expires = after.by_id(account.id).access_expires_at
        except UserFacingError:  # removed meanwhile
            expires = None
        report_refresh(io, account.name, expires, None)
    return code


def cmd_revoke(args: argparse.Namespace, io: Streams) -> int:
    outcome = run_vault(lambda v: v.revoke(args.name), io)
    where = "revoked at the server" if outcome.server_side else "forgotten locally"
    message = printable(redact.redact(outcome.message))
    io.out.write(f"{printable(args.name)}: tokens {where}. {message}\n")
    return 0


def cmd_exec(args: argparse.Namespace, io: Streams) -> int:
    argv = list(args.argv)
    if not argv:
        raise UsageError("exec needs a command after --, as in: exec NAME -- COMMAND [ARG]...")
    check_env_name(args.env)
    tokens, _ = valid_token(args.name, 60, False, io)
    check_printable_token(tokens)
    env = dict(os.environ)
    env[args.env] = tokens.access_token
    sys.stdout.flush()
    sys.stderr.flush()
    command = printable(argv[0])
    try:
        if os.name == "posix":
            os.execvpe(argv[0], argv, env)  # noqa: S606 - the child gets our stdio and signals as they are
        import subprocess

        return subprocess.run(argv, env=env, check=False).returncode
    except FileNotFoundError:
        io.err.write(f"{PROG}: error: command not found: {command}\n")
        return 127
    except PermissionError:
        io.err.write(f"{PROG}: error: command not executable: {command}\n")
        return 126
    except (OSError, ValueError) as exc:  # not a program, argument list too long, a NUL byte
        reason = getattr(exc, "strerror", None) or str(exc)
        io.err.write(f"{PROG}: error: cannot run {command}: {printable(reason)}\n")
        return 126


def check_env_name(name: str) -> None:
    """UsageError unless `name` is a plain variable name (ASCII letters, digits, _) that does
    not change how programs are loaded or run (LOADER_VARIABLES, LOADER_PREFIXES)."""
    if not (name.isascii() and name.isidentifier()):
        raise UsageError(f"--env '{printable(name)}' is not a valid variable name")
    upper = name.upper()
    if upper in LOADER_VARIABLES or upper.startswith(LOADER_PREFIXES):
        raise UsageError(
            f"--env {name}: that variable changes how programs are loaded or run; "
            "choose a name of your own, such as ACCESS_TOKEN"
        )
