"""The CLI's questions to the running app of this vault (service/client.py), answered in the
shapes the commands already use. Each returns None when no app serves the vault: the command
then goes on as it always did, on its own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vault_app.cli.common import Streams, report_refresh
from vault_app.core.errors import UserFacingError
from vault_app.service import client

if TYPE_CHECKING:
    from vault_app.core.model import Account, TokenSet


def token(
    name: str, min_valid: float, force: bool, io: Streams
) -> tuple[TokenSet, dict[str, str]] | None:
    """`valid_token`'s answer from the running app: the token and the fields its formats use
    (its warning, if any, on `io`)."""
    from vault_app.core.model import TokenSet

    served = client.token(name, min_valid, force)
    if served is None:
        return None
    if served.warning:
        io.warn(served.warning)
    tokens = TokenSet(served.access_token, served.token_type, served.expires_at)
    return tokens, {"header_name": served.header_name}


def accounts() -> list[Account] | None:
    """Every account as the running app holds it, checked as the metadata file is."""
    from vault_app.core.vault_schema import SchemaError, account_from_row

    items = client.accounts()
    if items is None:
        return None
    try:
        return [account_from_row(item) for item in items]
    except SchemaError as exc:
        raise UserFacingError(
            f"the running Token Vault app sent an unreadable account list ({exc})"
        ) from None


def refresh(names: list[str], everything: bool, io: Streams) -> int | None:
    """`refresh` done by the running app's engine, reported as the direct path reports it;
    the exit code, or None when no app serves the vault."""
    results = client.refresh(names, everything)
    if results is None:
        return None
    code = 0
    for result in results:
        report_refresh(io, result.name, result.expires_at, None if result.ok else result.message)
        if not result.ok:
            code = max(code, result.exit_code)
    return code
