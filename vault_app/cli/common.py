"""What every command shares: the program name, the streams, FIELD=VALUE pairs, numbers and
secrets from the command line, running one coroutine against a Vault, and the JSON shape of an
account.

Everything from outside that a command prints (names, field values, server messages, claims)
goes through core/text.py's `printable` or JSON's ASCII escaping: no control character or
escape sequence ever reaches the terminal from us."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn, TypeVar

from vault_app.core import bounds, redact
from vault_app.core import files as file_reading
from vault_app.core.errors import UsageError
from vault_app.core.text import printable
from vault_app.core.timefmt import iso_utc, relative

if TYPE_CHECKING:
    from vault_app.core.model import Account
    from vault_app.core.vault import Vault

T = TypeVar("T")
PROG = "token-vault"
# Far more than any key, certificate chain or token (a header holds 8-16 KiB): a secret file
# or line longer than this is a mistake (`/dev/zero`, the wrong file), never read whole.
MAX_SECRET_BYTES = 1024 * 1024

log = logging.getLogger("vault_app")


class Parser(argparse.ArgumentParser):
    """argparse, with usage errors on one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{PROG}: error: {printable(message)} (see '{self.prog} --help')\n")


def seconds_option(text: str) -> float:
    """An argparse type: a number of seconds from 0 to about 10 years (core/bounds.py).
    nan, inf, negative numbers and 1e400 are usage errors (exit 2), never a time."""
    try:
        value = bounds.number(float(text))
    except ValueError:
        value = None
    if value is None or not 0 <= value <= bounds.HORIZON:
        raise argparse.ArgumentTypeError(
            f"expected a number of seconds from 0 to {bounds.HORIZON:.0f} (10 years), "
            f"not '{printable(text[:40])}'"
        )
    return value


if TYPE_CHECKING:
    # What each command group's register() receives to add its commands to.
    Subcommands = argparse._SubParsersAction[Parser]


@dataclass(frozen=True)
class Streams:
    """Where a command reads and writes (the process's own, or a test's)."""

    out: IO[str]
    err: IO[str]
    stdin: IO[str]

    def warn(self, message: str) -> None:
        """One `token-vault: warning: ...` line on stderr (escaped, redacted)."""
        self.out.flush()
        self.err.write(f"{PROG}: warning: {printable(redact.redact(message))}\n")


def pairs(items: Sequence[str], option: str) -> dict[str, str]:
    """`FIELD=VALUE` items as a dict; UsageError for an item without `=` or a name."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise UsageError(f"{option} takes FIELD=VALUE, not {item!r}")
        out[name.strip()] = value
    return out


def read_secrets(
    names: Sequence[str], files: Sequence[str], stdin: IO[str], provider_kind: str
) -> dict[str, str]:
    """Secret field values: a hidden prompt per `--secret` on a terminal, else one line of
    standard input each, in order; `--secret-file FIELD=PATH` reads a whole file. Never argv."""
    from vault_app.core.providers.base import FieldKind, check_secrets, get_provider

    provider = get_provider(provider_kind)
    from_files = pairs(files, "--secret-file")
    # Every name checked before the first prompt: nobody types a secret that is then refused.
    check_secrets(provider, dict.fromkeys([*names, *from_files], ""))
    secrets: dict[str, str] = {}
    interactive = stdin.isatty()
    for name in names:
        spec = provider.field(name)
        assert spec is not None  # checked above
        if interactive:
            import getpass

            value = getpass.getpass(f"{spec.label} ({name}): ")
        else:
            line = stdin.readline(MAX_SECRET_BYTES + 1)
            if not line:
                raise UsageError(f"--secret {name}: expected one line on standard input, got none")
            if len(line) > MAX_SECRET_BYTES:
                raise UsageError(
                    f"--secret {name}: the line on standard input is longer than "
                    f"{MAX_SECRET_BYTES // 1024} KiB: not a secret"
                )
            value = line.rstrip("\r\n")
        if not value:
            raise UsageError(f"--secret {name}: the value is empty")
        secrets[name] = value
    for name, path in from_files.items():
        spec = provider.field(name)
        assert spec is not None  # checked above
        try:
            # Not only regular files: `--secret-file key=<(pass show key)` reads a pipe.
            raw = file_reading.read_capped(Path(path).expanduser(), MAX_SECRET_BYTES, regular=False)
            value = raw.decode("utf-8")
        except file_reading.FileTooLarge:
            raise UsageError(
                f"--secret-file {name}: {printable(path)} is larger than "
                f"{MAX_SECRET_BYTES // 1024} KiB: "
                "not a key, certificate or secret"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise UsageError(
                f"--secret-file {name}: cannot read {printable(path)}: {reason}"
            ) from None
        if spec.kind is not FieldKind.PEM:
            value = value.strip()
        if not value.strip():
            raise UsageError(f"--secret-file {name}: {path} is empty")
        secrets[name] = value
    redact.register(secrets.values())
    return secrets


def run_vault(work: Callable[[Vault], Awaitable[T]], io: Streams | None = None) -> T:
    """Run one coroutine against a fresh Vault, closing its HTTP client and keyring thread;
    the vault's warnings (say, a refresh whose metadata could not be written) go to `io`."""
    from vault_app.core.vault import Vault

    async def main() -> T:
        vault = Vault()
        try:
            return await work(vault)
        finally:
            if io is not None:
                for warning in vault.warnings:
                    io.warn(warning)
            await vault.aclose()

    import asyncio  # not at the top: `token` for a valid token runs no event loop

    return asyncio.run(main())


def report_refresh(io: Streams, name: str, expires_at: float | None, failure: str | None) -> None:
    """One account's `refresh` outcome, whoever refreshed it: `NAME: refreshed, expires ...`
    on stdout, or, when `failure` is not None, `token-vault: error: NAME: MESSAGE` on stderr.
    The name and message are escaped (a hand edit may have given them a terminal escape) and
    the message redacted."""
    shown = printable(name)
    if failure is None:
        io.out.write(f"{shown}: refreshed, expires {relative(expires_at, unknown='unknown')}\n")
    else:
        message = printable(redact.redact(failure or "failed"))
        io.err.write(f"{PROG}: error: {shown}: {message}\n")


def print_json(data: Any, out: IO[str]) -> None:
    """Indented JSON, all ASCII: every control character escaped (DEL too, which JSON
    itself would let through)."""
    try:
        text = json.dumps(data, indent=2, sort_keys=False, allow_nan=False)
    except ValueError:  # Infinity or NaN (in JWT claims, say) is not JSON: null, like unknown
        text = json.dumps(_finite(data), indent=2, sort_keys=False, allow_nan=False)
    out.write(text.replace("\x7f", "\\u007f"))
    out.write("\n")


def _finite(data: Any) -> Any:
    if isinstance(data, float):
        return data if bounds.number(data) is not None else None
    if isinstance(data, dict):
        return {key: _finite(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [_finite(value) for value in data]
    return data


def account_json(account: Account, now: float) -> dict[str, Any]:
    """The `list --json` shape of one account (DESIGN.md section 6); times ISO 8601 UTC."""
    return {
        "name": account.name,
        "provider": account.provider,
        "status": account.display_status(now),
        "access_expires_at": iso_utc(account.access_expires_at),
        "refresh_expires_at": iso_utc(account.refresh_expires_at),
        "last_refresh_at": iso_utc(account.last_refresh_at),
        "last_error": account.last_error,
    }
