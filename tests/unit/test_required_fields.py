"""`Provider.required_fields` (what the Add form marks with *) agrees with what `validate` and
`sign_in` demand: filling exactly those fields passes validation, leaving any one out fails."""

from __future__ import annotations

import functools
import itertools

import pytest

from tests.fakes.certs import KeyAndCert, make_key_and_cert
from vault_app.core.errors import UserFacingError
from vault_app.core.providers.base import (
    AccountConfig,
    FieldKind,
    get_provider,
    kinds,
    normalize_fields,
)
from vault_app.core.providers.oauth2 import GRANTS


@functools.lru_cache(maxsize=1)
def _pem() -> KeyAndCert:
    return make_key_and_cert()


def _value(name: str, kind: FieldKind) -> str:
    pem = _pem()
    if name == "private_key":
        return pem.key_pem
    if name == "certificate":
        return pem.cert_pem
    if kind is FieldKind.URL:
        return "https://auth.example.com/token"
    return f"{name}-value"


def _config(kind: str, choices: dict[str, str], names: set[str]) -> AccountConfig:
    provider = get_provider(kind)
    fields = dict(choices)
    secrets: dict[str, str] = {}
    for spec in provider.fields:
        if spec.name in names:
            target = secrets if spec.secret else fields
            target[spec.name] = _value(spec.name, spec.kind)
    return AccountConfig(normalize_fields(provider, fields, complete=True), secrets)


def _complete(kind: str, config: AccountConfig) -> bool:
    provider = get_provider(kind)
    missing = [
        s
        for s in provider.fields
        if s.required and not (config.secrets if s.secret else config.fields).get(s.name)
    ]
    if missing:
        return False
    try:
        provider.validate(config)
    except UserFacingError:
        return False
    return True


CASES: list[tuple[str, dict[str, str]]] = [(kind, {}) for kind in kinds() if kind != "oauth2"] + [
    ("oauth2", {"grant": grant, "client_auth": auth})
    for grant, auth in itertools.product(GRANTS, ("auto", "basic", "post", "none"))
]


@pytest.mark.parametrize(("kind", "choices"), CASES, ids=[f"{k}-{c}" for k, c in CASES])
def test_required_fields_are_exactly_what_validation_needs(
    kind: str, choices: dict[str, str]
) -> None:
    provider = get_provider(kind)
    needed = set(provider.required_fields(choices))
    assert needed <= {s.name for s in provider.fields}
    assert _complete(kind, _config(kind, choices, needed)), (kind, choices, needed)
    for name in needed:
        spec = provider.field(name)
        assert spec is not None
        if spec.default is not None and not spec.secret:
            continue  # a default fills it in
        assert not _complete(kind, _config(kind, choices, needed - {name})), name


def test_the_grant_changes_what_is_needed() -> None:
    oauth2 = get_provider("oauth2")
    assert oauth2.required_fields({"grant": "client_credentials"}) == (
        "token_url",
        "client_id",
        "client_secret",
    )
    assert set(oauth2.required_fields({"grant": "password", "client_auth": "none"})) == {
        "token_url",
        "username",
        "password",
    }
    assert "client_id" in oauth2.required_fields({"grant": "jwt_bearer", "client_auth": "none"})
    # An unknown grant is validation's to report; the form falls back to the declared fields.
    assert oauth2.required_fields({"grant": "nonsense"}) == ("token_url",)


def test_browser_and_device_grants_need_an_issuer_or_their_endpoints() -> None:
    oauth2 = get_provider("oauth2")
    for grant, own in (
        ("authorization_code", "authorization_url"),
        ("device_code", "device_authorization_url"),
    ):
        # Nothing typed yet: the issuer is the way in; typed by hand: the endpoints.
        assert oauth2.required_fields({"grant": grant}) == ("issuer", "client_id")
        issuer = {"grant": grant, "issuer": "https://sso.example.com/realms/dev"}
        assert oauth2.required_fields(issuer) == ("issuer", "client_id")
        by_hand = {"grant": grant, own: "https://sso.example.com/auth"}
        assert set(oauth2.required_fields(by_hand)) == {"token_url", own, "client_id"}
        confidential = {**issuer, "client_auth": "post"}
        assert "client_secret" in oauth2.required_fields(confidential)


def test_an_issuer_counts_before_discovery_but_not_after() -> None:
    """The Add form validates before the document is fetched; the vault validates again with
    what discovery found, and an issuer that publishes no endpoint for the grant is refused."""
    oauth2 = get_provider("oauth2")
    typed = {"grant": "device_code", "issuer": "https://sso.example.com", "client_id": "app"}
    oauth2.validate(AccountConfig(typed, {}))
    discovered = {
        **typed,
        "discovered_issuer": "https://sso.example.com",
        "discovered_token_url": "https://sso.example.com/token",
    }
    with pytest.raises(UserFacingError, match="device_authorization_url"):
        oauth2.validate(AccountConfig(discovered, {}))
    found = {**discovered, "discovered_device_authorization_url": "https://sso.example.com/dev"}
    oauth2.validate(AccountConfig(found, {}))
    with pytest.raises(UserFacingError, match="needs a client_secret"):
        oauth2.validate(AccountConfig({**found, "client_auth": "basic"}, {}))
    oauth2.validate(AccountConfig({**found, "client_auth": "basic"}, {"client_secret": "s"}))
