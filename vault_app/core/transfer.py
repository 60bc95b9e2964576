"""Export and import of account definitions: names, provider kinds and non-secret fields, never
secrets or tokens. The CLI's `export` / `import` and the window's File menu share this.

The export is a JSON object `{"format": "token-vault-accounts", "version": 1, "accounts":
[{"name", "provider", "fields"}]}`. An import is all or nothing: every entry is checked (name,
provider kind, field names and values) before any is added, and all are added in one metadata
write; entries whose name exists already are skipped and reported.

An export file is outside data: at most MAX_IMPORT_BYTES and MAX_IMPORT_ACCOUNTS, strict JSON
(no NaN or Infinity, no key given twice: which one would count?), names as `add` takes them,
field values printable text with dates and lifetimes within core/bounds.py's horizon.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vault_app.core import files
from vault_app.core.account_store import AccountStore, VaultDoc, check_name
from vault_app.core.errors import UsageError, UserFacingError
from vault_app.core.model import Account
from vault_app.core.text import check_printable, printable

EXPORT_FORMAT = "token-vault-accounts"
EXPORT_VERSION = 1
# An export of thousands of accounts is a few MiB at most; anything far larger is not one.
MAX_IMPORT_BYTES = 16 * 1024 * 1024
MAX_IMPORT_ACCOUNTS = 10_000


@dataclass(frozen=True)
class Definition:
    """One account as exported: no secrets, no tokens, no state."""

    name: str
    provider: str
    fields: dict[str, str]


@dataclass
class ImportResult:
    added: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # names that exist already


def export_document(store: AccountStore, names: list[str] | None = None) -> dict[str, Any]:
    """The export of the vault's accounts (all, or those named), as a JSON-ready object."""
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "accounts": store.export_definitions(names),
    }


def write_export(path: Path, data: dict[str, Any]) -> None:
    """Write an export through files.write_atomically (a temporary file beside it, then a
    rename), mode 0600 from creation: definitions name servers and users. The CLI's
    `export FILE` and the window's File ▸ Export both write through here. UserFacingError
    naming the file and the reason when the system refuses; no temporary file is left and a
    file there before is left as it was."""
    text = json.dumps(data, indent=2).encode() + b"\n"
    try:
        files.write_atomically(path, text)
    except OSError as exc:
        raise UserFacingError(
            f"cannot write {path}: {exc.strerror or type(exc).__name__}"
        ) from None


def read_export(path: Path) -> list[Definition]:
    """The checked definitions of an export file; UsageError naming the file and the first
    thing wrong (nothing is imported then)."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_IMPORT_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    if len(raw) > MAX_IMPORT_BYTES:
        raise UsageError(f"{path} is larger than {MAX_IMPORT_BYTES // 2**20} MiB: not an export")
    try:
        data = strict_json(raw)
    except UsageError as exc:
        raise UsageError(f"{path}: {exc.message}; nothing was imported") from None
    try:
        return parse_export(data)
    except UsageError as exc:
        raise UsageError(f"{path}: {exc.message}; nothing was imported") from None


def strict_json(raw: bytes) -> Any:
    """UTF-8 JSON (a byte-order mark allowed) without NaN, Infinity or a key given twice in
    one object; UsageError saying what is wrong."""

    def no_constant(word: str) -> Any:
        raise UsageError(f"not JSON ({word} is not a JSON number)")

    def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                raise UsageError(f"the key {key!r} appears twice in one object")
            out[key] = value
        return out

    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError("not UTF-8 text") from None
    try:
        return json.loads(text, parse_constant=no_constant, object_pairs_hook=unique_keys)
    except json.JSONDecodeError as exc:
        raise UsageError(f"not JSON ({exc.msg} at line {exc.lineno})") from None
    except (ValueError, RecursionError) as exc:  # a 5,000-digit number, nesting too deep
        raise UsageError(f"not JSON ({type(exc).__name__})") from None


def parse_export(data: Any) -> list[Definition]:
    """Definitions from a parsed export; UsageError for the first entry that is not valid."""
    from vault_app.core.field_values import check_field_values
    from vault_app.core.providers.base import get_provider, normalize_fields

    if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
        raise UsageError("not a Token Vault export")
    version = data.get("version", EXPORT_VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version > EXPORT_VERSION:
        raise UsageError(f"export version {version!r} is newer than this Token Vault reads")
    entries = data.get("accounts")
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise UsageError("'accounts' must be a list of objects")
    if len(entries) > MAX_IMPORT_ACCOUNTS:
        raise UsageError(f"more than {MAX_IMPORT_ACCOUNTS} accounts: not an export")
    out: list[Definition] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, 1):
        where = f"entry {number}"
        unknown = set(entry) - {"name", "provider", "fields"}
        if unknown:
            raise UsageError(f"{where}: unknown keys {', '.join(sorted(map(repr, unknown)))}")
        name, kind, fields = entry.get("name"), entry.get("provider"), entry.get("fields", {})
        if not isinstance(name, str) or not isinstance(kind, str):
            raise UsageError(f"{where}: 'name' and 'provider' must be text")
        if not isinstance(fields, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in fields.items()
        ):
            raise UsageError(f"{where}: 'fields' must map names to text")
        try:
            name = check_name(name)
            provider = get_provider(kind)
            for field_name, value in fields.items():
                check_printable(f"field '{printable(field_name)}'", field_name)
                check_printable(field_name, value)
            clean = normalize_fields(provider, fields, complete=True)
            check_field_values(provider, clean)
        except UsageError as exc:
            raise UsageError(f"{where}: {exc.message}") from None
        if name in seen:
            raise UsageError(f"{where}: the name {name!r} appears twice")
        seen.add(name)
        out.append(Definition(name, provider.kind, clean))
    return out


def import_definitions(store: AccountStore, definitions: list[Definition]) -> ImportResult:
    """Add the definitions as signed-out accounts without secrets, in one metadata write.
    Names that exist already are skipped. Raises VaultFileError (nothing written) when the
    metadata file cannot be used."""
    import uuid

    from vault_app.core.providers.base import parse_date

    result = ImportResult()

    def insert(doc: VaultDoc) -> None:
        existing = {a.name for a in doc.accounts}
        for definition in definitions:
            if definition.name in existing:
                result.skipped.append(definition.name)
                continue
            account = Account(
                id=uuid.uuid4().hex,
                name=definition.name,
                provider=definition.provider,
                fields=dict(definition.fields),
            )
            typed = account.fields.get("refresh_token_expires")  # ALOR's, typed by the user
            if typed:
                account.refresh_expires_at = parse_date("refresh_token_expires", typed)
            doc.accounts.append(account)
            result.added.append(definition.name)

    if definitions:
        store.update(insert)
    return result
