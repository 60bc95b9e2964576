"""The metadata file's schema (core/vault_schema.py): the whole document is typed on load, odd
times read as unknown, and nothing that would fail the next load is ever written (issue 10.1,
10.2). Property tests feed it arbitrary JSON and mutated valid documents."""

from __future__ import annotations

import copy
import json
import math
import typing
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vault_app.core import bounds, vault_schema
from vault_app.core.model import ACCOUNT_TIMES, Account, Leftover, Status
from vault_app.core.settings import DEFAULT_SETTINGS, SETTINGS
from vault_app.core.vault_schema import SchemaError

NOW = 1_800_000_000.0


def _account(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "a1b2c3",
        "name": "alor",
        "provider": "alor",
        "fields": {"environment": "test"},
        "status": "ok",
        "access_expires_at": NOW + 600,
        "refresh_expires_at": NOW + 86400,
        "refresh_obtained_at": NOW - 60,
        "last_refresh_at": NOW - 60,
        "last_error": None,
        "generation": 3,
        "secret_fields": ["refresh_token"],
        "created_at": NOW - 3600,
    }
    data.update(extra)
    return data


def _doc(*accounts: dict[str, Any], **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "schema": 1,
        "vault_id": "0123abcd",
        "accounts": list(accounts) or [_account()],
        "settings": {"refresh_ahead_fraction": 0.3},
    }
    data.update(extra)
    return data


def _raw(data: Any) -> bytes:
    return json.dumps(data).encode()


def test_a_valid_document_reads_as_written() -> None:
    decoded = vault_schema.decode(_raw(_doc()), NOW)
    assert decoded.vault_id == "0123abcd"
    [account] = decoded.accounts
    assert account.status is Status.OK
    assert account.generation == 3
    assert account.access_expires_at == NOW + 600
    assert decoded.settings == {"refresh_ahead_fraction": 0.3}
    assert decoded.leftovers == []


# -- wrong types and shapes: refused, with the field path ------------------------------------

DAMAGED: dict[str, tuple[dict[str, Any], str]] = {
    "generation-as-text": (_doc(_account(generation="1")), "accounts[0].generation"),
    "expiry-as-iso-text": (
        _doc(_account(access_expires_at="2030-01-01T00:00:00Z")),
        "accounts[0].access_expires_at",
    ),
    "fraction-as-words": (
        _doc(settings={"refresh_ahead_fraction": "a quarter"}),
        "settings.refresh_ahead_fraction",
    ),
    "unknown-status": (_doc(_account(status="dancing")), "accounts[0].status"),
    "field-value-number": (_doc(_account(fields={"environment": 3})), "accounts[0].fields"),
    "fields-a-list": (_doc(_account(fields=["environment"])), "accounts[0].fields"),
    "secret-fields-text": (_doc(_account(secret_fields="token")), "accounts[0].secret_fields"),
    "negative-generation": (_doc(_account(generation=-1)), "accounts[0].generation"),
    "boolean-generation": (_doc(_account(generation=True)), "accounts[0].generation"),
    "id-with-slash": (_doc(_account(id="../../etc")), "accounts[0].id"),
    "empty-name": (_doc(_account(name="")), "accounts[0].name"),
    "no-name": (_doc({"id": "x", "provider": "static"}), "accounts[0]"),
    "duplicate-ids": (
        _doc(_account(), _account(name="other")),
        "accounts[1].id",
    ),
    "duplicate-names": (_doc(_account(), _account(id="other")), "accounts[1].name"),
    "accounts-an-object": (_doc(accounts={"a": 1}), "accounts"),
    "settings-a-list": (_doc(settings=[1]), "settings"),
    "clipboard-negative": (_doc(settings={"clipboard_seconds": -5}), "settings.clipboard_seconds"),
    "clipboard-null": (_doc(settings={"clipboard_seconds": None}), "settings.clipboard_seconds"),
    "copy-format-unknown": (_doc(settings={"copy_format": "morse"}), "settings.copy_format"),
    "notifications-as-text": (_doc(settings={"notifications": "yes"}), "settings.notifications"),
    "vault-id-number": (_doc(vault_id=5), "vault_id"),
    "no-vault-id": ({"schema": 1, "accounts": []}, "vault_id"),
    "leftover-bad": (_doc(leftovers=[{"id": "x", "name": "n", "first": "1", "last": 2}]), "left"),
    "schema-zero": (_doc(schema=0), "schema"),
}


@pytest.mark.parametrize("kind", sorted(DAMAGED))
def test_wrong_types_are_refused_naming_the_field(kind: str) -> None:
    data, where = DAMAGED[kind]
    with pytest.raises(SchemaError) as caught:
        vault_schema.decode(_raw(data), NOW)
    assert caught.value.problem.startswith("damaged at "), caught.value.problem
    assert where in caught.value.problem
    assert "\n" not in caught.value.problem


def test_the_damaged_account_is_named() -> None:
    with pytest.raises(SchemaError, match=r"accounts\[0\]\.generation \(account 'alor'\)"):
        vault_schema.decode(_raw(_doc(_account(generation="1"))), NOW)


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"", "not valid JSON"),
        (b'{"schema": 1, "vault_id": "abc", "accounts": [', "not valid JSON"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"[1]", "top level is not an object"),
        (b'{"vault_id": "abc"}', "no schema version"),
        (b'{"schema": "1", "vault_id": "abc"}', "no schema version"),
        (b'{"schema": 2, "vault_id": 5, "accounts": "new"}', "written by a newer Token Vault"),
        (b"[" * 100_000, "not valid JSON"),
        (
            b'{"schema": 1, "vault_id": "abc", "accounts": [{"id": "x", "name": "n", '
            b'"provider": "p", "generation": 1' + b"0" * 5000 + b"}]}",
            "not valid JSON",
        ),
    ],
)
def test_files_that_are_not_ours(raw: bytes, says: str) -> None:
    with pytest.raises(SchemaError, match=says):
        vault_schema.decode(raw, NOW)


def test_newer_schema_is_refused_even_when_its_types_fit() -> None:
    with pytest.raises(SchemaError, match="newer"):
        vault_schema.decode(_raw(_doc(schema=2)), NOW)


# -- odd times: read as unknown, never written back ------------------------------------------

ODD_TIMES = [1e300, -5, 0, -1e-9, NOW * 1000, NOW + 11 * 366 * 86400]


@pytest.mark.parametrize("value", ODD_TIMES)
@pytest.mark.parametrize("name", ACCOUNT_TIMES)
def test_out_of_range_times_read_as_unknown(name: str, value: float) -> None:
    [account] = vault_schema.decode(_raw(_doc(_account(**{name: value}))), NOW).accounts
    assert getattr(account, name) is None


@pytest.mark.parametrize("word", [b"Infinity", b"-Infinity", b"NaN", b"1e400", b"-1e400"])
def test_non_finite_numbers_of_older_files_read_as_unknown(word: bytes) -> None:
    """Older versions wrote float('inf') as the bare word Infinity (not JSON, but Python's
    json module's default): such a file reads, with the value unknown."""
    raw = _raw(_doc(_account(access_expires_at=123456789))).replace(b"123456789", word)
    [account] = vault_schema.decode(raw, NOW).accounts
    assert account.access_expires_at is None
    assert account.refresh_expires_at == NOW + 86400


def test_encode_writes_non_finite_times_as_null() -> None:
    account = Account(id="i", name="n", provider="static", access_expires_at=math.inf)
    raw = vault_schema.encode("v", [account], {}, [])
    assert b"Infinity" not in raw
    assert json.loads(raw)["accounts"][0]["access_expires_at"] is None


def test_insane_times_names_the_fields() -> None:
    account = Account(
        id="i", name="n", provider="static", access_expires_at=NOW * 1000, created_at=NOW
    )
    assert vault_schema.insane_times(account, NOW) == ["access_expires_at"]


# -- writing: what would not read back is never written ----------------------------------------


def test_encode_refuses_what_the_next_load_would_refuse() -> None:
    one = Account(id="a", name="same", provider="static")
    two = Account(id="b", name="same", provider="static")
    with pytest.raises(SchemaError, match=r"accounts\[1\]\.name"):
        vault_schema.encode("v", [one, two], {}, [])
    with pytest.raises(SchemaError, match=r"settings\.clipboard_seconds"):
        vault_schema.encode("v", [one], {"clipboard_seconds": "30"}, [])
    with pytest.raises(SchemaError, match=r"accounts\[0\]\.id"):
        vault_schema.encode("v", [Account(id="a/b", name="x", provider="static")], {}, [])
    with pytest.raises(SchemaError, match="cannot be stored as JSON"):
        vault_schema.encode("v", [one], {"window": object()}, [])


def test_round_trip_keeps_leftovers_and_unknown_settings() -> None:
    settings = {
        "refresh_ahead_fraction": 0.5,
        "from_a_newer_version": [1, 2, 3],
        "future": {"x": 1},
    }
    raw = vault_schema.encode(
        "v", [Account(id="a", name="n", provider="static")], settings, [Leftover("b", "m", 1, 2)]
    )
    decoded = vault_schema.decode(raw, NOW)
    assert decoded.settings == settings
    assert decoded.leftovers == [Leftover("b", "m", 1, 2)]


# -- settings ------------------------------------------------------------------------------


def test_every_default_fits_its_own_setting() -> None:
    vault_schema.check_settings(DEFAULT_SETTINGS)
    for name, value in DEFAULT_SETTINGS.items():
        assert vault_schema.check_setting(name, value) == value
    assert set(DEFAULT_SETTINGS) <= set(SETTINGS)


def test_check_setting() -> None:
    assert vault_schema.check_setting("refresh_ahead_fraction", 0.5) == 0.5
    assert vault_schema.check_setting("some_new_key", {"anything": True}) == {"anything": True}
    with pytest.raises(SchemaError, match=r"settings\.refresh_ahead_fraction"):
        vault_schema.check_setting("refresh_ahead_fraction", 2.0)
    with pytest.raises(SchemaError, match=r"settings\.keyring_chunk_limit"):
        vault_schema.check_setting("keyring_chunk_limit", 5)


def test_account_from_row() -> None:
    account = vault_schema.account_from_row(_account(access_expires_at=math.inf), NOW)
    assert account.name == "alor" and account.access_expires_at is None
    with pytest.raises(SchemaError, match="damaged at generation"):
        vault_schema.account_from_row(_account(generation="1"), NOW)


# -- properties ------------------------------------------------------------------------------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def _assert_well_typed(decoded: vault_schema.Decoded) -> None:
    """What a successful load hands out is exactly the promised types, and every time sane."""
    assert isinstance(decoded.vault_id, str) and decoded.vault_id
    assert isinstance(decoded.settings, dict)
    for name, spec in SETTINGS.items():
        if name in decoded.settings:
            value = decoded.settings[name]
            origin = typing.get_origin(spec.kind) or spec.kind  # dict[str, int] -> dict
            assert type(value) is origin or (spec.kind is float and type(value) is int)
            for key, item in value.items() if isinstance(value, dict) else ():
                assert type(key) is str and type(item) is int
            for item in value if isinstance(value, list) else ():
                assert type(item) is str
    names, ids = set(), set()
    for account in decoded.accounts:
        assert isinstance(account, Account)
        for text in (account.id, account.name, account.provider):
            assert isinstance(text, str) and text
        assert "/" not in account.id
        assert account.id not in ids and account.name not in names
        ids.add(account.id)
        names.add(account.name)
        assert isinstance(account.status, Status)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in account.fields.items())
        assert all(isinstance(n, str) for n in account.secret_fields)
        assert type(account.generation) is int and account.generation >= 0
        assert account.last_error is None or isinstance(account.last_error, str)
        for name in ACCOUNT_TIMES:
            value = getattr(account, name)
            assert value is None or bounds.moment(value, NOW) == value
    for item in decoded.leftovers:
        assert isinstance(item, Leftover) and type(item.first) is int


def _decode_or_refuse(raw: bytes) -> None:
    try:
        decoded = vault_schema.decode(raw, NOW)
    except SchemaError as exc:
        assert exc.problem and "\n" not in exc.problem
        return
    _assert_well_typed(decoded)


@given(JSON)
def test_arbitrary_json_never_crashes_the_loader(document: Any) -> None:
    _decode_or_refuse(json.dumps(document).encode())


@given(st.binary(max_size=64))
def test_arbitrary_bytes_never_crash_the_loader(raw: bytes) -> None:
    _decode_or_refuse(raw)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(data, dict):
        for key, value in data.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            out += _paths(value, (*prefix, index))
    return out


VALID = _doc(
    _account(),
    _account(id="second", name="second", status="sign_in_needed", last_error="rejected"),
    settings=dict(DEFAULT_SETTINGS),
    leftovers=[{"id": "gone", "name": "gone", "first": 1, "last": 3}],
)
VALID_PATHS = _paths(VALID)[1:]


@given(path=st.sampled_from(VALID_PATHS), value=JSON, drop=st.booleans())
def test_a_mutated_valid_document_never_passes_with_a_wrong_type(
    path: tuple[Any, ...], value: Any, drop: bool
) -> None:
    document = copy.deepcopy(VALID)
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    if drop and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    _decode_or_refuse(json.dumps(document).encode())


def test_a_setting_can_be_a_typed_container() -> None:
    from vault_app.core.settings import Setting

    widths = vault_schema._setting_type(Setting({}, dict[str, int]))
    pinned = vault_schema._setting_type(Setting([], list[str]))
    order = vault_schema._setting_type(Setting("up", str, choices=("up", "down")))
    assert msgspec.convert({"Name": 120}, widths) == {"Name": 120}
    assert msgspec.convert(["a1", "b2"], pinned) == ["a1", "b2"]
    for value, kind in (({"Name": "wide"}, widths), ([1], pinned), ("sideways", order)):
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert(value, kind)
