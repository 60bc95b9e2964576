"""The core's messages in a person's words: without internal prefixes, field names or
command-line advice; the field to replace after a rejection. Advice by kind of failure is
tested with gui/failures.py (tests/gui/test_failures.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vault_app.core.providers.base import get_provider, kinds
from vault_app.gui.plain_words import field_to_replace, in_user_words


@pytest.mark.parametrize(
    ("message", "kind", "said"),
    [
        (
            "oauth2: client_auth basic needs a client_id",
            "oauth2",
            "Client authentication basic needs a Client ID.",
        ),
        (
            "oauth2: no refresh token stored; set one with --secret",
            "oauth2",
            "No refresh token stored.",
        ),
        (
            "static: the stored token expired at 2024-01-01 10:00 UTC; store a new one with "
            "edit NAME --secret token",
            "static",
            "The stored token expired at 2024-01-01 10:00 UTC.",
        ),
        (
            "alor: refresh: rejected by oauth.alor.ru (HTTP 401)",
            "alor",
            "Refresh: rejected by oauth.alor.ru (HTTP 401).",
        ),
        ("  spread\nover\tlines  ", None, "Spread over lines."),
        (
            "oauth2: client_credentials grant: rejected by a.example.com (HTTP 401)",
            "oauth2",
            "client_credentials grant: rejected by a.example.com (HTTP 401).",
        ),
        ("https://x.example.com is down", None, "https://x.example.com is down."),
        ("done!", None, "Done!"),
        ("", None, ""),
    ],
)
def test_in_user_words(message: str, kind: str | None, said: str) -> None:
    provider = get_provider(kind) if kind else None
    assert in_user_words(message, provider) == said


@given(st.text(max_size=200), st.sampled_from([None, *kinds()]))
def test_in_user_words_is_one_clean_line(message: str, kind: str | None) -> None:
    provider = get_provider(kind) if kind else None
    said = in_user_words(message, provider)
    assert all(ch.isprintable() for ch in said)
    assert "  " not in said and said == said.strip()
    if said:
        assert said.endswith((".", "!", "?"))


@pytest.mark.parametrize(
    ("kind", "fields", "message", "field"),
    [
        ("alor", {}, None, "refresh_token"),
        ("static", {}, None, "token"),
        ("traderevolution", {}, None, "password"),
        ("apirone", {}, None, "password"),
        ("oauth2", {"grant": "client_credentials"}, None, "client_secret"),
        ("oauth2", {"grant": "password"}, "invalid_grant", "password"),
        ("oauth2", {"grant": "password"}, "(invalid_client: …)", "client_secret"),
        ("oauth2", {"grant": "refresh_token"}, None, "refresh_token"),
        ("oauth2", {"grant": "jwt_bearer"}, None, "private_key"),
    ],
)
def test_the_field_to_replace(
    kind: str, fields: dict[str, str], message: str | None, field: str
) -> None:
    assert field_to_replace(get_provider(kind), fields, message) == field


def test_a_choice_value_is_not_taken_for_the_field_of_the_same_name() -> None:
    """oauth2's grant `refresh_token` is also the name of its Refresh token field: the list
    of grants read "jwt_bearer, Refresh token, authorization_code", one choice in words and
    the others as values."""
    oauth2 = get_provider("oauth2")
    text = in_user_words(
        "grant: must be one of client_credentials, password, jwt_bearer, refresh_token, "
        "authorization_code, device_code, not 'implicit'",
        oauth2,
    )
    assert "jwt_bearer, refresh_token, authorization_code" in text
    assert "Refresh token" not in text
    # Other field names still read as their labels.
    assert in_user_words("client_auth basic needs a client_id", oauth2) == (
        "Client authentication basic needs a Client ID."
    )
