"""One harness per provider kind for the shared contract test: a running fake with registered
credentials, the account's fields and secrets, and how to break them.

The secrets hold characters that percent-encoding, JSON escaping and Base64 each change, so a
reply that echoes the request shows every encoding the app produces (the leak checks)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import jwt

from tests.fakes.alor import AlorFake
from tests.fakes.apirone import ApironeFake
from tests.fakes.base import ProviderFake
from tests.fakes.oauth2 import OAuth2Fake
from tests.fakes.traderevolution import TraderEvolutionFake

KINDS = ("alor", "apirone", "oauth2", "static", "traderevolution")
TE_PASSWORD = 'correct horse+1/"é\\='
APIRONE_KEY = "transfer/key+0001=ü"
OAUTH_SECRET = "client+secret/0001=&é"
OAUTH_PASSWORD = 'alice pass+1/"ö'
ALOR_REFRESH = "alor-refresh/+=token-0001"
HTTP_KINDS = tuple(k for k in KINDS if k != "static")  # the kinds that talk to a server


@dataclass
class Harness:
    kind: str
    fields: dict[str, str]
    secrets: dict[str, str]
    bad_secrets: dict[str, str]  # credentials the server (or the provider) rejects
    fake: ProviderFake | None = None
    refresh_path: str | None = None  # where a refresh goes, for fault injection
    server_revoke: bool = False
    rotates: bool = False  # each refresh hands out a new refresh token
    notes: dict[str, str] = field(default_factory=dict)


def _jwt(lifetime: float) -> str:
    return jwt.encode({"sub": "contract", "exp": int(time.time() + lifetime)}, "k" * 32, "HS256")


@contextmanager
def harness(kind: str) -> Iterator[Harness]:
    if kind == "static":
        yield Harness("static", {}, {"token": _jwt(3600)}, {"token": _jwt(-60)})
        return
    if kind == "alor":
        with AlorFake(access_lifetime=600) as alor:
            good = alor.add_refresh_token(ALOR_REFRESH)
            yield Harness(
                "alor",
                {"oauth_url": alor.base_url},
                {"refresh_token": good},
                {"refresh_token": "not-a-registered-refresh-token"},
                alor,
                "/refresh",
            )
        return
    if kind == "traderevolution":
        with TraderEvolutionFake(access_lifetime=600) as te:
            te.add_user("trader", TE_PASSWORD)
            yield Harness(
                "traderevolution",
                {"base_url": te.base_url, "login": "trader"},
                {"password": TE_PASSWORD},
                {"password": "wrong-horse-2"},
                te,
                "/auth/token/refresh",
                rotates=True,
            )
        return
    if kind == "apirone":
        with ApironeFake(access_lifetime=600) as apirone:
            apirone.add_account("apr-0123456789abcdef", APIRONE_KEY)
            yield Harness(
                "apirone",
                {"base_url": apirone.base_url, "login": "apr-0123456789abcdef"},
                {"password": APIRONE_KEY},
                {"password": "transfer-key-9999"},
                apirone,
                "/api/v2/auth/refresh-token",
                server_revoke=True,
                rotates=True,
            )
        return
    if kind == "oauth2":
        with OAuth2Fake(access_lifetime=600) as oauth:
            oauth.add_client("vault-client", OAUTH_SECRET)
            oauth.add_user("alice", OAUTH_PASSWORD)
            yield Harness(
                "oauth2",
                {
                    "token_url": oauth.token_url,
                    "grant": "password",
                    "client_id": "vault-client",
                    "username": "alice",
                    "revocation_url": oauth.revocation_url,
                },
                {"client_secret": OAUTH_SECRET, "password": OAUTH_PASSWORD},
                {"client_secret": OAUTH_SECRET, "password": "not-alices-password"},
                oauth,
                "/token",
                server_revoke=True,
                rotates=True,
            )
        return
    raise ValueError(kind)
