from __future__ import annotations

import base64
import json
import logging
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vault_app.core import redact
from vault_app.core.model import SecretBundle, TokenSet


def test_registered_values_are_masked() -> None:
    redact.register(["s3cr3t-value-for-redact-test"])
    assert "s3cr3t" not in redact.redact("sent s3cr3t-value-for-redact-test to server")


def test_token_shapes_are_masked_without_registration() -> None:
    text = "Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123 eyJhbGciOi.eyJzdWIiOiIx.sig"
    masked = redact.redact(text)
    assert "abcdefghijklmnop" not in masked
    assert "eyJzdWIiOiIx" not in masked
    assert "Authorization: Bearer " in masked


def test_filter_masks_args_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    secret = "another-secret-value-0042"
    redact.register([secret])
    logger = logging.getLogger("test.redact")
    caplog.handler.addFilter(redact.RedactingFilter())
    try:
        raise ValueError(f"bad {secret}")
    except ValueError:
        logger.exception("failed with %s", secret)
    assert secret not in caplog.text
    assert "failed with" in caplog.text


def test_reprs_hide_tokens() -> None:
    tokens = TokenSet(access_token="AT-hidden-1234", refresh_token="RT-hidden-5678")
    bundle = SecretBundle(secrets={"password": "PW-hidden-9999"}, tokens=tokens)
    for text in (repr(tokens), repr(bundle), str(bundle)):
        assert "hidden" not in text


def test_an_owner_holds_only_its_current_values() -> None:
    """A refreshed account replaces its tokens: the registry does not grow without bound."""
    redact.register(["first-value-aaaa-1111"], owner="account-1")
    assert redact.redact("x first-value-aaaa-1111 x") == f"x {redact.MASK} x"
    redact.register(["second-value-bbbb-2222"], owner="account-1")
    assert redact.redact("x second-value-bbbb-2222 x") == f"x {redact.MASK} x"
    assert "first-value-aaaa-1111" in redact.redact("x first-value-aaaa-1111 x")
    assert len(redact._held["account-1"]) == 1


def test_every_encoding_the_app_produces_is_masked() -> None:
    """An error reply that echoes our request shows the secret percent-encoded (a form),
    JSON-escaped (a JSON body) or inside Basic credentials."""
    secret = 'se/cr+et=&"é 0042'
    redact.register([secret])
    client_id = "client:id"
    redact.register_basic(client_id, secret)
    shown = [
        secret,
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        json.dumps(secret)[1:-1].replace("/", "\\/"),
        base64.b64encode(f"{client_id}:{secret}".encode()).decode(),
        base64.b64encode(f"{quote(client_id, safe='')}:{quote(secret, safe='')}".encode()).decode(),
    ]
    for form in shown:
        masked = redact.redact(f"echo: [{form}] end")
        assert form not in masked, form
        assert masked.startswith("echo: [") and masked.endswith("] end")


def test_shapes_mask_what_was_never_registered() -> None:
    text = (
        "Authorization: Basic dW5rbm93bjpjcmVkZW50aWFsczEyMw== "
        "client_secret=abc%2Bdef%2F0123 "
        '"refresh_token": "rt-unknown-98765"'
    )
    masked = redact.redact(text)
    assert "dW5rbm93bjpjcmVk" not in masked
    assert "abc%2Bdef" not in masked
    assert "rt-unknown-98765" not in masked
    assert "Authorization: Basic " in masked


def test_one_line_cleans_text_from_outside() -> None:
    secret = "one-line-secret-0042"
    redact.register([secret])
    text = f"bad\r\nline \x1b[31mred\x1b[0m \x1b]0;title\x07\x00\u202e{secret} " + "x" * 500
    clean = redact.one_line(text, 80)
    assert clean.isprintable() and len(clean) == 80 and clean.endswith("…")
    assert clean.startswith(f"bad line red {redact.MASK}")
    assert secret not in clean


@given(st.text(max_size=300), st.integers(1, 200))
def test_one_line_of_any_text_is_printable_and_bounded(text: str, limit: int) -> None:
    clean = redact.one_line(text, limit)
    assert clean.isprintable() and len(clean) <= limit
    assert "\n" not in clean and "\x1b" not in clean
