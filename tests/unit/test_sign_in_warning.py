"""The warning `token` gives with the last good token of an account that needs a new sign-in:
one text for the CLI's own path and the running app's answer (core/sign_in.py)."""

from __future__ import annotations

import pytest

from vault_app.core.model import Account, Status
from vault_app.core.sign_in import sign_in_warning


@pytest.mark.parametrize(
    ("fields", "how"),
    [
        (
            {"grant": "client_credentials"},
            "run 'token-vault edit api' or 'token-vault refresh api'",
        ),
        ({"grant": "authorization_code"}, "run 'token-vault login api'"),
        ({"grant": "device_code"}, "run 'token-vault login api'"),
    ],
)
def test_the_warning_names_the_command_that_brings_the_account_back(
    fields: dict[str, str], how: str
) -> None:
    account = Account(
        id="a" * 32,
        name="api",
        provider="oauth2",
        status=Status.SIGN_IN_NEEDED,
        fields={"token_url": "https://auth.example/token", "client_id": "c", **fields},
    )
    warning = sign_in_warning(account, "invalid_grant", 90)
    assert warning.startswith("api needs a new sign-in (invalid_grant); ")
    assert "still works for 1m 30s" in warning
    assert warning.endswith(how)
    assert sign_in_warning(account, None, None).endswith(how)
