"""The metadata model's JSON form."""

from __future__ import annotations

from vault_app.core.model import Account


def test_account_json_covers_every_field_and_round_trips() -> None:
    account = Account(
        id="i", name="n", provider="oauth2", fields={"a": "b"}, secret_fields=["client_secret"]
    )
    data = account.to_json()
    assert set(data) == set(Account.__dataclass_fields__)
    assert Account.from_json(data) == account
    twin = account.copy()
    twin.fields["a"] = "changed"
    twin.secret_fields.append("x")
    assert account.fields == {"a": "b"} and account.secret_fields == ["client_secret"]
