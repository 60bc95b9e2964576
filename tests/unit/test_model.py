"""The metadata model: Account matches its stored record, copies share nothing, and its
display helpers never raise on odd times."""

from __future__ import annotations

import dataclasses
import math

from hypothesis import given
from hypothesis import strategies as st

from vault_app.core import vault_schema
from vault_app.core.model import Account, Leftover, Status


def test_account_and_its_record_have_the_same_fields() -> None:
    assert [f.name for f in dataclasses.fields(Account)] == list(
        vault_schema.AccountRecord.__struct_fields__
    )
    assert [f.name for f in dataclasses.fields(Leftover)] == list(
        vault_schema.LeftoverRecord.__struct_fields__
    )


def test_account_round_trips_through_the_file_format() -> None:
    account = Account(
        id="i",
        name="n",
        provider="oauth2",
        fields={"a": "b"},
        status=Status.OK,
        access_expires_at=1_900_000_000.0,
        generation=3,
        secret_fields=["client_secret"],
        created_at=1_800_000_000.0,
    )
    raw = vault_schema.encode("v", [account], {}, [Leftover("j", "gone", 1, 2)])
    decoded = vault_schema.decode(raw, now=1_800_000_000.0)
    assert decoded.accounts == [account]
    assert decoded.leftovers == [Leftover("j", "gone", 1, 2)]


def test_copy_shares_nothing_mutable() -> None:
    account = Account(id="i", name="n", provider="oauth2", fields={"a": "b"}, secret_fields=["s"])
    twin = account.copy()
    twin.fields["a"] = "changed"
    twin.secret_fields.append("x")
    assert account.fields == {"a": "b"} and account.secret_fields == ["s"]


ODD_TIMES = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**30), max_value=10**30).map(float),
)


@given(access=ODD_TIMES, refresh=ODD_TIMES, status=st.sampled_from(list(Status)))
def test_display_helpers_never_raise(
    access: float | None, refresh: float | None, status: Status
) -> None:
    account = Account(
        id="i",
        name="n",
        provider="static",
        status=status,
        access_expires_at=access,
        refresh_expires_at=refresh,
    )
    assert account.display_status(1_800_000_000.0) in {s.value for s in Status} | {"expired"}
    warning = account.refresh_warning(1_800_000_000.0)
    if refresh is None or not math.isfinite(refresh):
        assert warning is None
