"""Where a local proxy gets the header it injects: a `Credential` (header name and value) from
a `TokenSource`. Inside a running app that is its VaultService (tokens from memory, refreshes
through its engine); in `token-vault proxy` it is the running app over the socket when one
serves the vault, else the vault itself, exactly as `token-vault token` would."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from vault_app.core.errors import UserFacingError

if TYPE_CHECKING:
    from vault_app.core.model import Account, TokenSet
    from vault_app.core.vault import Vault
    from vault_app.service.vault_service import VaultService

# RFC 9110 section 5.6.2: a field name is a token.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


@dataclass(frozen=True)
class Credential:
    """The header a proxied request carries: `header_name: header_value`."""

    header_name: str
    header_value: str
    access_token: str
    expires_at: float | None  # POSIX seconds, UTC; None: unknown

    def __repr__(self) -> str:
        return f"Credential(header_name={self.header_name!r}, expires_at={self.expires_at!r})"

    def valid_for(self, seconds: float, now: float | None = None) -> bool:
        if self.expires_at is None:
            return True
        return self.expires_at - (time.time() if now is None else now) > seconds


def make_credential(
    access_token: str, token_type: str | None, expires_at: float | None, header_name: str | None
) -> Credential:
    """The header for a token: `Scheme token` (a bare token without a scheme) under the
    account's header name (Authorization unless a static key names another). UserFacingError
    when either could break a header line (RFC 9110 section 5.5: no CR, LF or NUL)."""
    name = header_name or "Authorization"
    if not _TOKEN.fullmatch(name):
        raise UserFacingError(f"the account's header name {name!r} is not a valid HTTP field name")
    scheme = token_type or ""
    value = f"{scheme} {access_token}" if scheme else access_token
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise UserFacingError("the account's token cannot be sent in a header (control characters)")
    return Credential(name, value, access_token, expires_at)


def stored_credential(account: Account, tokens: TokenSet) -> Credential:
    """make_credential for a vault account's tokens, under its own header name."""
    return make_credential(
        tokens.access_token, tokens.token_type, tokens.expires_at, account.fields.get("header_name")
    )


class TokenSource(Protocol):
    """Gives the current credential of one account."""

    async def credential(self, *, min_valid: float, force: bool) -> Credential:
        """A credential valid for `min_valid` seconds; `force`: refresh first. Raises
        UserFacingError as `token-vault token` would fail."""
        ...

    async def aclose(self) -> None: ...


class ServiceSource:
    """An account's credential from the running app's own VaultService."""

    def __init__(self, service: VaultService, account_id: str) -> None:
        self.service = service
        self.account_id = account_id

    async def credential(self, *, min_valid: float, force: bool) -> Credential:
        account = self.service.account_by_id(self.account_id)
        return stored_credential(
            *await self.service.token_for(account, min_valid=min_valid, force=force)
        )

    async def aclose(self) -> None:
        return None


class CliSource:
    """An account's credential for `token-vault proxy`: from the running app when one serves
    the vault (asked anew each time, so an app started later is used too), else from the
    vault directly, with its cross-process account locks."""

    def __init__(self, name: str, home: Path | None = None) -> None:
        self.name = name
        self.home = home
        self._vault: Vault | None = None

    async def credential(self, *, min_valid: float, force: bool) -> Credential:
        from vault_app.service import client

        served = await asyncio.to_thread(client.token, self.name, min_valid, force, self.home)
        if served is not None:
            return make_credential(
                served.access_token, served.token_type, served.expires_at, served.header_name
            )
        if self._vault is None:
            from vault_app.core.vault import Vault

            self._vault = Vault(self.home)
        return stored_credential(
            *await self._vault.token(self.name, min_valid=min_valid, force=force)
        )

    async def aclose(self) -> None:
        if self._vault is not None:
            await self._vault.aclose()
            self._vault = None
