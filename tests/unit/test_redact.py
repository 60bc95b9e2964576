from __future__ import annotations

import logging

import pytest

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
