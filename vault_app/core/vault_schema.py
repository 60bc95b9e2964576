"""The metadata file's schema (DESIGN.md section 4), in one place, checked with msgspec.

`accounts.json` is `{"schema": 1, "vault_id", "accounts": [AccountRecord], "settings": {...},
"leftovers": [LeftoverRecord]}`. Loading validates the whole document: every type, the id
patterns (ids name keyring items and lock files), non-negative generations, unique ids and
names, and the known settings (typed and range-checked; unknown ones are kept untouched, so a
newer Token Vault's settings survive an older one). A document that fails is a SchemaError
naming the field path; the store refuses the file and never overwrites it.

Times (UTC POSIX seconds) that have the right type but are not sane (not finite, not after
1970, more than 10 years ahead: core/bounds.py's `moment`) are read as "unknown" (None), so
they never break a listing and are not written back as they were.

Adding a setting is one line in settings.py. The records check one account as well as the whole
file (`account_from_row`), for a store that keeps one record per account.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from vault_app.core import bounds
from vault_app.core.model import ACCOUNT_TIMES, ID_PATTERN, TEXT_MAX, Account, Leftover, Status
from vault_app.core.settings import SETTINGS, Setting

SCHEMA_VERSION = 1

Id = Annotated[str, Meta(pattern=ID_PATTERN)]
Generation = Annotated[int, Meta(ge=0, le=2**53)]
NonEmpty = Annotated[str, Meta(min_length=1, max_length=TEXT_MAX)]


class AccountRecord(Struct, kw_only=True):
    """One account as stored: the fields of model.Account, typed and limited."""

    id: Id
    name: NonEmpty
    provider: NonEmpty
    fields: dict[str, str] = {}
    status: Status = Status.SIGNED_OUT
    access_expires_at: float | None = None
    refresh_expires_at: float | None = None
    refresh_obtained_at: float | None = None
    last_refresh_at: float | None = None
    last_error: str | None = None
    generation: Generation = 0
    secret_fields: list[str] = []
    created_at: float | None = None


class LeftoverRecord(Struct):
    """Keyring items of a removed account still to delete (model.Leftover)."""

    id: Id
    name: str
    first: Generation
    last: Generation


class VaultRecord(Struct, kw_only=True):
    schema: Annotated[int, Meta(ge=1)]
    vault_id: Id
    accounts: list[AccountRecord] = []
    settings: dict[str, Any] = {}
    leftovers: list[LeftoverRecord] = []


# -- settings (the table is in settings.py) -------------------------------------------------


def _setting_type(spec: Setting) -> Any:
    """The msgspec type of one settings.py entry, with its limits."""
    if spec.choices:
        return Literal[spec.choices]
    if spec.low is None and spec.high is None:
        return spec.kind
    return Annotated[spec.kind, Meta(ge=spec.low, le=spec.high)]


_SettingsRecord = msgspec.defstruct(
    "SettingsRecord",
    # UNSET: a setting may be missing (it defaults), never null.
    [(name, _setting_type(spec) | UnsetType, UNSET) for name, spec in SETTINGS.items()],
)


# -- errors --------------------------------------------------------------------------------


class SchemaError(ValueError):
    """The document does not fit the schema: `problem` says what, in one line."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


# -- reading -------------------------------------------------------------------------------


@dataclass
class Decoded:
    vault_id: str
    accounts: list[Account]
    settings: dict[str, Any]
    leftovers: list[Leftover]


_DECODER = msgspec.json.Decoder(VaultRecord)


def decode(raw: bytes, now: float | None = None) -> Decoded:
    """The metadata file's bytes as accounts and settings; SchemaError when they are not a
    Token Vault file of this schema or older, or any part has the wrong type or shape."""
    record = _validate(raw)
    now = time.time() if now is None else now
    return Decoded(
        record.vault_id,
        [_account(item, now) for item in record.accounts],
        record.settings,
        [Leftover(item.id, item.name, item.first, item.last) for item in record.leftovers],
    )


def _validate(raw: bytes) -> VaultRecord:
    try:
        record = _DECODER.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        # Not our own compact JSON: a file written by an older version (which wrote Infinity
        # and NaN as bare words) or edited by hand. Parse it leniently, then check it; every
        # reason to refuse it is found here, off the fast path.
        record = _validate_slowly(raw)
    if record.schema > SCHEMA_VERSION:
        raise SchemaError(_newer(record.schema))
    _check_unique(record)
    check_settings(record.settings)
    return record


def _validate_slowly(raw: bytes) -> VaultRecord:
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise SchemaError("not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise SchemaError(f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except (ValueError, RecursionError) as exc:
        raise SchemaError(f"not valid JSON ({type(exc).__name__})") from None
    if not isinstance(data, dict):
        raise SchemaError("not a Token Vault file (top level is not an object)")
    schema = data.get("schema")
    if not isinstance(schema, int) or isinstance(schema, bool):
        raise SchemaError("not a Token Vault file (no schema version)")
    if schema > SCHEMA_VERSION:
        raise SchemaError(_newer(schema))
    try:
        return msgspec.convert(data, VaultRecord)
    except msgspec.ValidationError as exc:
        raise SchemaError(_damaged(exc, data)) from None


def _newer(schema: int) -> str:
    return f"written by a newer Token Vault (schema {schema}, this one reads {SCHEMA_VERSION})"


def _damaged(exc: msgspec.ValidationError, data: Any = None, prefix: str = "") -> str:
    """msgspec's "Expected `int`, got `str` - at `$.accounts[0].generation`" as "damaged at
    accounts[0].generation (account 'x'): expected int, got str"."""
    text = str(exc).replace("`", "")
    reason, _, where = text.partition(" - at ")
    path = prefix + where.removeprefix("$").lstrip(".")
    return f"damaged at {path or 'the top level'}{_which(path, data)}: {_lower(reason)}"


def _which(path: str, data: Any) -> str:
    """ " (account 'name')" for a path inside one account, when its name can be read."""
    if not path.startswith("accounts[") or not isinstance(data, dict):
        return ""
    try:
        index = int(path[len("accounts[") : path.index("]")])
        name = data["accounts"][index]["name"]
    except (ValueError, LookupError, TypeError):
        return ""
    return f" (account {name!r})" if isinstance(name, str) else ""


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _check_unique(record: VaultRecord) -> None:
    ids: dict[str, int] = {}
    names: dict[str, int] = {}
    for index, account in enumerate(record.accounts):
        for seen, value, what in ((ids, account.id, "id"), (names, account.name, "name")):
            first = seen.setdefault(value, index)
            if first != index:
                raise SchemaError(
                    f"damaged at accounts[{index}].{what}: {value!r} is also the {what} of "
                    f"accounts[{first}]"
                )


def check_settings(settings: Mapping[str, Any]) -> None:
    """SchemaError when a known setting has the wrong type or is out of range; unknown
    settings are not looked at (they belong to a newer version or another front end)."""
    try:
        msgspec.convert(settings, _SettingsRecord)
    except msgspec.ValidationError as exc:
        raise SchemaError(_damaged(exc, prefix="settings.")) from None


def check_setting(name: str, value: Any) -> Any:
    """`value` when it is valid for setting `name` (any value for an unknown name); else
    SchemaError naming the setting."""
    spec = SETTINGS.get(name)
    if spec is None:
        return value
    try:
        return msgspec.convert(value, _setting_type(spec))
    except msgspec.ValidationError as exc:
        raise SchemaError(_damaged(exc, prefix=f"settings.{name}")) from None


def _account(record: AccountRecord, now: float) -> Account:
    sane = bounds.moment
    return Account(
        id=record.id,
        name=record.name,
        provider=record.provider,
        fields=record.fields,
        status=record.status,
        access_expires_at=sane(record.access_expires_at, now),
        refresh_expires_at=sane(record.refresh_expires_at, now),
        refresh_obtained_at=sane(record.refresh_obtained_at, now),
        last_refresh_at=sane(record.last_refresh_at, now),
        last_error=record.last_error,
        generation=record.generation,
        secret_fields=record.secret_fields,
        created_at=sane(record.created_at, now),
    )


def account_from_row(data: Mapping[str, Any], now: float | None = None) -> Account:
    """One account from a mapping (a row of a per-account store), checked like an entry of
    the file; SchemaError naming the field otherwise."""
    try:
        record = msgspec.convert(dict(data), AccountRecord)
    except msgspec.ValidationError as exc:
        raise SchemaError(_damaged(exc)) from None
    return _account(record, time.time() if now is None else now)


# -- writing -------------------------------------------------------------------------------

_ENCODER = msgspec.json.Encoder()


def insane_times(account: Account, now: float) -> list[str]:
    """The names of the account's time fields that hold a value bounds.moment refuses."""
    bad = []
    for name in ACCOUNT_TIMES:
        value = getattr(account, name)
        if value is not None and bounds.moment(value, now) is None:
            bad.append(name)
    return bad


def encode(
    vault_id: str,
    accounts: Sequence[Account],
    settings: Mapping[str, Any],
    leftovers: Sequence[Leftover],
) -> bytes:
    """The file's bytes (compact JSON, one line). Checked by reading them back with the same
    schema: what would be refused on the next load is never written (SchemaError)."""
    document = {
        "schema": SCHEMA_VERSION,
        "vault_id": vault_id,
        "accounts": accounts,
        "settings": settings,
        "leftovers": leftovers,
    }
    try:
        data = _ENCODER.encode(document) + b"\n"
    except (TypeError, UnicodeEncodeError, OverflowError) as exc:
        raise SchemaError(f"cannot be stored as JSON ({type(exc).__name__}: {exc})") from None
    try:
        record = _DECODER.decode(data)
    except msgspec.ValidationError as exc:
        raise SchemaError(_damaged(exc)) from None
    _check_unique(record)
    check_settings(record.settings)
    return data
