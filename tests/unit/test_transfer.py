"""Export files are outside data (issue 10.7): strict JSON, names and field values checked,
all or nothing; any document either parses into valid definitions or is a UsageError."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vault_app.core.account_store import check_name
from vault_app.core.errors import UsageError
from vault_app.core.transfer import (
    EXPORT_FORMAT,
    MAX_IMPORT_ACCOUNTS,
    parse_export,
    read_export,
    strict_json,
    write_export,
)


def _export(*accounts: dict[str, Any]) -> dict[str, Any]:
    return {"format": EXPORT_FORMAT, "version": 1, "accounts": list(accounts)}


def _static(name: str = "api", **fields: str) -> dict[str, Any]:
    return {"name": name, "provider": "static", "fields": fields}


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b'{"format": "token-vault-accounts", "format": "x"}', "the key 'format' appears twice"),
        (b'{"a": NaN}', "NaN is not a JSON number"),
        (b'{"a": -Infinity}', "-Infinity is not a JSON number"),
        (b"[" * 50_000 + b"]" * 50_000, "not JSON (RecursionError)"),
        (b'{"a": 1' + b"0" * 5000 + b"}", "not JSON (ValueError)"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"{", "not JSON (Expecting"),
    ],
)
def test_strict_json(raw: bytes, says: str) -> None:
    with pytest.raises(UsageError) as caught:
        strict_json(raw)
    assert says in caught.value.message


def test_a_byte_order_mark_is_fine() -> None:
    assert strict_json(b"\xef\xbb\xbf{}") == {}


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        (_static("red\x1b[31m"), "invalid account name"),
        (_static("a\u202eb"), "invalid account name"),
        (_static(header_name="X\r\nY: 1"), "header_name: control and format characters"),
        (_static(scheme="\u200bBearer"), "scheme: control and format characters"),
        (_static(expires_at="9999-01-01"), "not a date between 1970 and 10 years ahead"),
        ({"name": "api", "provider": "static", "fields": {"a\x1b": "x"}}, "field 'a\\x1b'"),
        ({"name": "api", "provider": "static", "fields": {"header_name": 5}}, "map names to"),
        ({"name": 5, "provider": "static"}, "must be text"),
    ],
)
def test_a_bad_entry_imports_nothing(entry: dict[str, Any], says: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_export(_export(_static("fine"), entry))
    assert caught.value.message.startswith("entry 2: ")
    assert says in caught.value.message


def test_too_many_accounts() -> None:
    many = [_static(f"a{i}") for i in range(MAX_IMPORT_ACCOUNTS + 1)]
    with pytest.raises(UsageError, match="more than"):
        parse_export(_export(*many))


def test_read_export_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"format": "token-vault-accounts", "accounts": [], "accounts": []}')
    with pytest.raises(UsageError) as caught:
        read_export(path)
    assert caught.value.message == (
        f"{path}: the key 'accounts' appears twice in one object; nothing was imported"
    )


def test_write_export_is_private_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    data = _export(_static("api", header_name="X-Key"))
    write_export(path, data)
    assert path.stat().st_mode & 0o777 == 0o600
    assert [d.name for d in read_export(path)] == ["api"]
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=15,
)
ENTRY = st.fixed_dictionaries(
    {"name": st.text(max_size=12), "provider": st.sampled_from(["static", "oauth2", "nope"])},
    optional={"fields": st.dictionaries(st.sampled_from(["header_name", "scheme"]), JSON)},
)


@given(st.one_of(JSON, st.builds(lambda entries: _export(*entries), st.lists(ENTRY, max_size=4))))
def test_any_document_parses_or_is_refused(document: Any) -> None:
    try:
        definitions = parse_export(document)
    except UsageError as exc:
        assert exc.message and "\n" not in exc.message
        return
    names = [d.name for d in definitions]
    assert len(names) == len(set(names))
    for definition in definitions:
        assert check_name(definition.name) == definition.name
        assert all(v.isprintable() for v in definition.fields.values())


@given(st.binary(max_size=80))
def test_any_bytes_parse_or_are_refused(raw: bytes) -> None:
    try:
        data = strict_json(raw)
    except UsageError as exc:
        assert exc.message and "\n" not in exc.message
        return
    # What passes is JSON that the strict encoder writes back unchanged.
    assert json.loads(json.dumps(data, allow_nan=False)) == data
