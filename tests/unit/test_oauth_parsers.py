"""Property tests for every parser of outside data in the interactive sign-in: the redirect's
query and request head (from whatever connects to the listener), the discovery document, the
device authorization reply, and the account's own redirect_uri / authorization_params. Each
either returns checked values or raises its one error type; nothing else ever escapes."""

from __future__ import annotations

import re
import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vault_app.core.errors import MisconfiguredError, RejectedError, UsageError, UserFacingError
from vault_app.core.providers import oauth_discovery, oauth_interactive
from vault_app.core.providers.base import get_provider, normalize_fields
from vault_app.core.providers.oauth_interactive import (
    make_pkce,
    parse_callback_query,
    parse_device_reply,
    parse_head,
    read_callback,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=20,
)
urlish = st.one_of(
    st.text(max_size=60),
    st.builds(lambda s: "https://example.test/" + s, st.text(max_size=30)),
    st.sampled_from(
        [
            "https://example.test/device",
            "http://127.0.0.1:8080/x",
            "http://example.test/x",
            "javascript:alert(1)",
            "https://user:pw@example.test/",
            "https://example.test/\r\nX: 1",
            "https://[::1/",
        ]
    ),
)


@given(st.text(max_size=300))
def test_callback_query_parser(query: str) -> None:
    try:
        params = parse_callback_query(query)
    except MisconfiguredError as exc:
        assert "\n" not in exc.message
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in params.items())
    assert len(params) <= 32


@pytest.mark.parametrize(
    "found", ["https://issuer.test\x1b[31m", "https://issuer.test\n", "https://issuer.test\u202e"]
)
def test_an_issuer_that_differs_only_by_hidden_characters_shows_them(found: str) -> None:
    """The refusal names both issuers; one that differs only by a control or format character
    shows it escaped, never as two identical-looking names."""
    doc = {"issuer": found, "token_endpoint": "https://issuer.test/t"}
    with pytest.raises(MisconfiguredError) as caught:
        oauth_discovery.parse_metadata(doc, "https://issuer.test", "h")
    message = caught.value.message
    assert repr(found)[1:-1] in message and "\n" not in message.replace("\\n", "")
    assert all(c.isprintable() for c in message)


def test_a_document_without_an_issuer_says_so() -> None:
    for doc in ({"token_endpoint": "https://issuer.test/t"}, {"issuer": 5}):
        with pytest.raises(MisconfiguredError) as caught:
            oauth_discovery.parse_metadata(doc, "https://issuer.test", "h")
        assert "the document names no issuer" in caught.value.message


@given(
    st.dictionaries(
        st.sampled_from(["code", "state", "iss", "error", "error_description", "x"]),
        st.text(max_size=80),
    )
)
def test_read_callback_acts_only_on_the_right_state(params: dict[str, str]) -> None:
    state = "expected-state"
    try:
        code = read_callback(
            params, state=state, issuer="https://issuer.test", iss_required=False, host="h"
        )
    except UserFacingError as exc:
        assert "\n" not in exc.message and "\r" not in exc.message
        return
    assert params.get("state") == state
    assert code == params["code"] and all(" " <= c <= "~" for c in code)
    assert "error" not in params


@given(st.text(max_size=300), st.booleans())
def test_listener_acts_only_on_a_query_with_its_state(noise: str, with_state: bool) -> None:
    """Whatever a request's query holds, the listener acts on it only when this sign-in's
    state is in it exactly once; it never raises (it runs in the listener's task)."""
    state = "Zm9vYmFy-state_0123456789"
    listener = oauth_interactive.LoopbackListener(oauth_interactive.redirect_target(None), state)
    query = noise + ("&state=" + state if with_state else "")
    ours = listener._carries_state(query)
    if ours:
        assert query.count(state) >= 1
    assert not listener._carries_state(noise.replace(state, ""))


def test_read_callback_error_text_is_one_plain_line() -> None:
    params = {
        "state": "s",
        "error": "access_denied",
        "error_description": "no\r\n\x1b[31m<b>" + "x" * 500,
    }
    with pytest.raises(RejectedError) as caught:
        read_callback(params, state="s", issuer=None, iss_required=False, host="h")
    message = caught.value.message
    assert all(" " <= c <= "~" or c == "…" for c in message) and len(message) < 300


@given(st.binary(max_size=400))
def test_request_head_parser(raw: bytes) -> None:
    head = parse_head(raw)
    if head is not None:
        assert head.path.startswith("/") and head.method and " " not in head.path


def _check_document(data: dict[str, Any]) -> None:
    issuer = "https://issuer.test"
    try:
        meta = oauth_discovery.parse_metadata(data, issuer, "issuer.test")
    except MisconfiguredError as exc:
        assert "\n" not in exc.message
        return
    assert meta.issuer == issuer
    for url in meta.endpoints.values():
        assert url.startswith(("https://", "http://127.", "http://localhost", "http://[::1]"))
        assert all("!" <= c <= "~" for c in url)


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "issuer": st.just("https://issuer.test") | st.text(max_size=20),
            "authorization_endpoint": urlish,
            "token_endpoint": urlish,
            "revocation_endpoint": urlish,
            "device_authorization_endpoint": urlish,
            "code_challenge_methods_supported": json_values,
            "authorization_response_iss_parameter_supported": json_values,
        },
    )
)
def test_discovery_document_fields(data: dict[str, Any]) -> None:
    _check_document(data)


@given(st.dictionaries(st.text(max_size=40), json_values, max_size=8), st.booleans())
def test_discovery_document_parser(data: dict[str, Any], with_issuer: bool) -> None:
    if with_issuer:
        data["issuer"] = "https://issuer.test"
    _check_document(data)


def test_discovery_wants_the_issuer_exactly_as_typed() -> None:
    """RFC 8414 section 3.3: identical. URL fields keep a trailing slash as typed, so one on
    one side only is another issuer."""
    doc = {"issuer": "https://evil.test", "token_endpoint": "https://evil.test/token"}
    with pytest.raises(MisconfiguredError, match=r"names issuer 'https://evil\.test'"):
        oauth_discovery.parse_metadata(doc, "https://issuer.test", "h")
    slash = {"issuer": "https://tenant.test/", "token_endpoint": "https://tenant.test/t"}
    assert oauth_discovery.parse_metadata(slash, "https://tenant.test/", "h").issuer.endswith("/")
    with pytest.raises(MisconfiguredError, match=re.escape("names issuer 'https://tenant.test/'")):
        oauth_discovery.parse_metadata(slash, "https://tenant.test", "h")
    bare = {"issuer": "https://tenant.test", "token_endpoint": "https://tenant.test/t"}
    with pytest.raises(MisconfiguredError, match=re.escape("not 'https://tenant.test/'")):
        oauth_discovery.parse_metadata(bare, "https://tenant.test/", "h")
    assert normalize_fields(
        get_provider("oauth2"), {"issuer": "https://tenant.test/"}, complete=False
    )["issuer"] == ("https://tenant.test/")
    assert oauth_discovery.document_urls("https://tenant.test/")[0] == (
        "https://tenant.test/.well-known/openid-configuration"
    )
    assert oauth_discovery.document_urls("https://kc.test/realms/dev") == [
        "https://kc.test/realms/dev/.well-known/openid-configuration",
        "https://kc.test/.well-known/oauth-authorization-server/realms/dev",
    ]


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "device_code": st.text(max_size=50) | json_values,
            "user_code": st.text(max_size=70) | json_values,
            "verification_uri": urlish | json_values,
            "verification_url": urlish,
            "verification_uri_complete": urlish | json_values,
            "expires_in": json_values,
            "interval": json_values,
        },
    )
)
def test_device_reply_parser(data: dict[str, Any]) -> None:
    try:
        grant = parse_device_reply(data, "h")
    except MisconfiguredError as exc:
        assert "\n" not in exc.message
        return
    assert grant.user_code.isprintable() and 0 < len(grant.user_code) <= 64
    for link in (grant.verification_uri, grant.verification_uri_complete):
        if link is not None:
            assert all("!" <= c <= "~" for c in link)
    assert 1 <= grant.interval <= 60 and grant.expires_in > 0
    assert grant.device_code not in repr(grant)


@given(urlish)
def test_redirect_uri_field(value: str) -> None:
    try:
        target = oauth_interactive.redirect_target(value)
    except UsageError:
        return
    assert target.bind in ("127.0.0.1", "::1") and target.path.startswith("/")


@given(st.text(max_size=80))
def test_authorization_params_field(value: str) -> None:
    try:
        extra = oauth_interactive.extra_parameters(value)
    except UsageError:
        return
    assert not set(extra) & oauth_interactive.OWN_PARAMETERS


def test_pkce_s256() -> None:
    # RFC 7636 appendix B.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert oauth_interactive.s256(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    pkce = make_pkce()
    allowed = set(string.ascii_letters + string.digits + "-._~")
    assert len(pkce.verifier) == 64 and set(pkce.verifier) <= allowed
    assert pkce.challenge == oauth_interactive.s256(pkce.verifier)
    assert pkce.verifier not in repr(pkce) and make_pkce().verifier != pkce.verifier
