"""The demo vault: a fresh temporary home with an in-memory keyring, seeded with accounts across
every provider that point at the loopback `DemoServer`, so countdowns, refreshes, a failing
account and a sign-in-needed account all show within a minute. Never the real keyring or vault.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from vault_app.core.errors import UserFacingError
from vault_app.core.secret_store import MemoryBackend
from vault_app.core.vault import Vault
from vault_app.demo import server as demo

HOME_PREFIX = "token-vault-demo-"
# $TOKEN_VAULT_DEMO_ACCOUNTS=N: N accounts in all (for pictures and trials of a full window);
# the extra ones are ALOR, client-credentials and static accounts, which any number can share.
COUNT_ENV = "TOKEN_VAULT_DEMO_ACCOUNTS"
MAX_ACCOUNTS = 2000
STATIC_LIFETIME = 600.0  # the static key's JWT: long enough to watch, short enough to lapse


@dataclass(frozen=True)
class DemoAccount:
    """One seeded account: what `Vault.add` gets, and what it shows in the first minute."""

    name: str
    provider: str
    fields: dict[str, str]
    secrets: dict[str, str] = field(repr=False)
    shows: str


def demo_accounts(server_url: str) -> list[DemoAccount]:
    """The demo accounts, pointing at the demo server at `server_url`."""
    base = server_url.rstrip("/")
    year_ahead = (datetime.now(timezone.utc) + timedelta(days=365)).date().isoformat()
    return [
        DemoAccount(
            "alor-main",
            "alor",
            {
                "oauth_url": f"{base}/alor",
                "allowed_portfolios": ",".join(demo.ALOR_PORTFOLIOS),
                "refresh_token_expires": year_ahead,
            },
            {"refresh_token": demo.ALOR_REFRESH_TOKEN},
            "2-minute JWT from a year-long refresh token; refreshed after about 50 s",
        ),
        DemoAccount(
            "te-trading",
            "traderevolution",
            {"base_url": f"{base}/te", "login": demo.TE_LOGIN},
            {"password": demo.TE_PASSWORD},
            "login/password pair; refresh via the `token` header rotates the refresh token",
        ),
        DemoAccount(
            "apirone-wallet",
            "apirone",
            {"base_url": f"{base}/apirone", "login": demo.APIRONE_LOGIN},
            {"password": demo.APIRONE_TRANSFER_KEY},
            "JWT pair; Revoke logs out at the server (both tokens die)",
        ),
        DemoAccount(
            "oauth-reports",
            "oauth2",
            {
                "token_url": f"{base}/oauth/token",
                "grant": "client_credentials",
                "client_id": demo.REPORTS_CLIENT_ID,
                "client_auth": "basic",
                "scope": "reports:read",
                "revocation_url": f"{base}/oauth/revoke",
            },
            {"client_secret": demo.REPORTS_CLIENT_SECRET},
            "OAuth2 client_credentials (HTTP Basic); no refresh token, the grant is re-run",
        ),
        DemoAccount(
            "tv-broker",
            "oauth2",
            {
                "token_url": f"{base}/oauth/token",
                "grant": "password",
                "client_id": demo.BROKER_CLIENT_ID,
                "client_auth": "post",
                "username": demo.BROKER_USERNAME,
                "scope": "trading",
                "revocation_url": f"{base}/oauth/revoke",
            },
            {"client_secret": demo.BROKER_CLIENT_SECRET, "password": demo.BROKER_PASSWORD},
            "TradingView-style PasswordBearer; rotating 30-day refresh token; RFC 7009 revoke",
        ),
        DemoAccount(
            "static-api-key",
            "static",
            {"header_name": "X-Api-Key", "scheme": ""},
            {"token": _static_jwt(base)},
            "a fixed key (a JWT) that is never refreshed and expires 10 minutes after launch",
        ),
        DemoAccount(
            "flaky-gateway",
            "traderevolution",
            {"base_url": f"{base}/flaky/te", "login": demo.FLAKY_LOGIN},
            {"password": demo.FLAKY_PASSWORD},
            "50-s token; its refresh route always answers 503: error from ~25 s, retried "
            "every 15 s or more, expired (red) at 50 s",
        ),
        DemoAccount(
            "expired-session",
            "oauth2",
            {
                "token_url": f"{base}/oauth/token",
                "grant": "refresh_token",
                "client_id": demo.CLI_CLIENT_ID,
                "client_auth": "none",
                "revocation_url": f"{base}/oauth/revoke",
            },
            {"refresh_token": demo.EXPIRED_SESSION_REFRESH_TOKEN},
            "50-s token; the server ended its session, so its first refresh (~25 s) is "
            "rejected: sign-in needed",
        ),
    ]


def demo_count(default: int) -> int:
    """How many demo accounts $TOKEN_VAULT_DEMO_ACCOUNTS asks for (at least `default`, the
    standard set; at most MAX_ACCOUNTS); `default` when unset or not a number."""
    raw = os.environ.get(COUNT_ENV, "").strip()
    if not raw.isdigit():
        return default
    return min(max(int(raw), default), MAX_ACCOUNTS)


def extra_accounts(server_url: str, count: int) -> list[DemoAccount]:
    """`count` more accounts, numbered, for a demo with many rows."""
    base = server_url.rstrip("/")
    out = []
    for number in range(1, count + 1):
        kind = number % 3
        if kind == 0:
            out.append(
                DemoAccount(
                    f"alor-portfolio-{number:03d}",
                    "alor",
                    {"oauth_url": f"{base}/alor"},
                    {"refresh_token": demo.ALOR_REFRESH_TOKEN},
                    "one more ALOR account",
                )
            )
        elif kind == 1:
            out.append(
                DemoAccount(
                    f"reports-client-{number:03d}",
                    "oauth2",
                    {
                        "token_url": f"{base}/oauth/token",
                        "grant": "client_credentials",
                        "client_id": demo.REPORTS_CLIENT_ID,
                        "client_auth": "basic",
                    },
                    {"client_secret": demo.REPORTS_CLIENT_SECRET},
                    "one more client_credentials account",
                )
            )
        else:
            out.append(
                DemoAccount(
                    f"api-key-{number:03d}",
                    "static",
                    {"header_name": "X-Api-Key", "scheme": ""},
                    {"token": _static_jwt(base)},
                    "one more fixed key",
                )
            )
    return out


def _static_jwt(issuer: str) -> str:
    """A JWT-shaped API key whose `exp` gives the static account a visible countdown."""
    import jwt

    now = int(time.time())
    claims = {
        "iss": issuer,
        "sub": "demo-api-key",
        "scope": "market-data:read",
        "iat": now,
        "exp": now + int(STATIC_LIFETIME),
        "jti": secrets.token_hex(8),
    }
    # Nobody verifies it: a random key per run keeps it from looking like a shared secret.
    return jwt.encode(claims, secrets.token_bytes(32), algorithm="HS256")


async def seed_demo(vault: Vault, server_url: str, count: int | None = None) -> None:
    """Add and sign in every demo account (`count` in all, with numbered extras; None: the
    standard set); a sign-in that fails is a demo bug, so it raises."""
    accounts = demo_accounts(server_url)
    if count is not None and count > len(accounts):
        accounts += extra_accounts(server_url, count - len(accounts))
    for account in accounts:
        _, failure = await vault.add(
            account.name, account.provider, account.fields, account.secrets
        )
        if failure is not None:
            raise UserFacingError(f"demo: {account.name} could not sign in: {failure.message}")


def demo_vault() -> tuple[Vault, Path]:
    """A vault on a fresh 0700 temporary home with an in-memory keyring (never the real one)."""
    home = Path(tempfile.mkdtemp(prefix=HOME_PREFIX))
    os.chmod(home, 0o700)
    return Vault(home, backend=MemoryBackend()), home


def remove_demo_home(home: Path) -> None:
    """Delete a demo vault's home; refuses any folder `demo_vault` could not have made."""
    temp_root = Path(tempfile.gettempdir()).resolve()
    if not home.name.startswith(HOME_PREFIX) or home.resolve().parent != temp_root:
        raise ValueError(f"not a demo vault home: {home}")
    shutil.rmtree(home, ignore_errors=True)
