"""AccountStore: the metadata file accounts.json (DESIGN.md section 4).

Plain temporary folders, no keyring, except the CLI checks (the `cli` fixture needs the
private session that scripts/test starts, and skips outside it).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import pwd
import re
import stat
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import REPO, Cli
from vault_app.core.account_store import SCHEMA_VERSION, AccountStore, VaultDoc
from vault_app.core.errors import UserFacingError, VaultFileError
from vault_app.core.model import Account


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _adder(name: str) -> Callable[[VaultDoc], None]:
    def change(doc: VaultDoc) -> None:
        doc.accounts.append(Account(id=uuid.uuid4().hex, name=name, provider="static"))

    return change


def _names(store: AccountStore) -> list[str]:
    return sorted(a.name for a in store.load().accounts)


def _temp_leftovers(home: Path) -> list[str]:
    return sorted(p.name for p in home.iterdir() if p.name.endswith(".tmp"))


# -- missing file ----------------------------------------------------------------------------


def test_missing_file_is_an_empty_vault_and_load_does_not_create_it(tmp_path: Path) -> None:
    home = tmp_path / "vault"
    store = AccountStore(home)

    doc = store.load()

    assert doc.accounts == []
    assert doc.settings == {}
    assert doc.vault_id
    assert not store.path.exists()
    assert not home.exists(), "load() must not create the vault folder either"


def test_ensure_created_writes_the_vault_once_and_keeps_its_id(tmp_path: Path) -> None:
    store = AccountStore(tmp_path / "vault")

    created = store.ensure_created()
    assert store.path.exists()
    again = store.ensure_created()

    assert again.vault_id == created.vault_id
    assert store.load().vault_id == created.vault_id
    assert not store.backup_path.exists(), "ensure_created on an existing vault rewrote it"


# -- atomic writes, modes, backup ---------------------------------------------------------------


def test_update_writes_mode_0600_file_in_0700_folder(tmp_path: Path) -> None:
    home = tmp_path / "vault"
    home.mkdir(mode=0o755)
    os.chmod(home, 0o755)  # a folder made by someone else, too open
    store = AccountStore(home)

    store.update(_adder("first"))

    assert _mode(store.path) == 0o600
    assert _mode(home) == 0o700
    data = json.loads(store.path.read_text())
    assert data["schema"] == SCHEMA_VERSION
    assert [a["name"] for a in data["accounts"]] == ["first"]
    assert _temp_leftovers(home) == []

    store.update(_adder("second"))
    assert _mode(store.path) == 0o600
    assert _mode(store.backup_path) == 0o600
    assert _temp_leftovers(home) == []


def test_update_creates_missing_folders_with_mode_0700(tmp_path: Path) -> None:
    home = tmp_path / "deep" / "vault"
    store = AccountStore(home)

    store.update(_adder("first"))

    assert _mode(home) == 0o700
    assert _mode(store.lock_dir) == 0o700
    assert _mode(store.path) == 0o600


def test_previous_version_is_kept_as_bak(tmp_path: Path) -> None:
    store = AccountStore(tmp_path / "vault")

    store.update(_adder("one"))
    assert not store.backup_path.exists(), "the first write has no previous version"
    version1 = store.path.read_bytes()

    store.update(_adder("two"))
    version2 = store.path.read_bytes()
    assert store.backup_path.read_bytes() == version1

    store.update(_adder("three"))
    assert store.backup_path.read_bytes() == version2
    assert _names(store) == ["one", "three", "two"]


def test_failed_replace_leaves_the_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write is atomic: when the final rename fails, the old file is intact and no
    temporary file is left behind."""
    store = AccountStore(tmp_path / "vault")
    store.update(_adder("one"))
    store.update(_adder("two"))
    before = store.path.read_bytes()
    backup_before = store.backup_path.read_bytes()

    real_replace = os.replace

    def failing_replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if Path(dst) == store.path:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(VaultFileError) as caught:
        store.update(_adder("three"))
    assert str(caught.value) == (
        f"cannot write {store.path}: No space left on device; it was left as it was"
    )
    monkeypatch.undo()

    assert store.path.read_bytes() == before
    assert _temp_leftovers(store.home) == []
    # The backup now holds the same version as the file (or the one before): never garbage.
    assert store.backup_path.read_bytes() in (before, backup_before)
    assert _names(store) == ["one", "two"]


def test_a_failing_change_writes_nothing(tmp_path: Path) -> None:
    store = AccountStore(tmp_path / "vault")
    store.update(_adder("one"))
    before = store.path.read_bytes()

    def broken(doc: VaultDoc) -> None:
        doc.accounts.clear()
        raise RuntimeError("change failed halfway")

    with pytest.raises(RuntimeError):
        store.update(broken)

    assert store.path.read_bytes() == before
    assert not store.backup_path.exists()


# -- damaged or newer files are refused and left untouched ----------------------------------

CORRUPT_FILES: dict[str, bytes] = {
    "not-json": b'{"schema": 1, "vault_id": "abc", "accounts": [',
    "not-utf8": b"\xff\xfe\x00garbage\x81",
    "json-list": b'[{"schema": 1}]\n',
    "json-string": b'"accounts"\n',
    "no-schema": b'{"vault_id": "abc", "accounts": []}\n',
    "newer-schema": json.dumps(
        {
            "schema": SCHEMA_VERSION + 1,
            "vault_id": "abc",
            "accounts": [{"id": "x", "name": "from-the-future", "provider": "static"}],
            "settings": {},
            "new_feature": True,
        }
    ).encode(),
}


def _with_account(**fields: object) -> bytes:
    account = {"id": "a1", "name": "api", "provider": "static", **fields}
    return json.dumps({"schema": 1, "vault_id": "abc", "accounts": [account]}).encode()


# Valid JSON of the wrong types (issue 10.2): refused like a file that does not parse.
DAMAGED_FILES: dict[str, bytes] = {
    "generation-text": _with_account(generation="1"),
    "expiry-iso-text": _with_account(access_expires_at="2030-01-01T00:00:00Z"),
    "status-unknown": _with_account(status="sleeping"),
    "fields-not-text": _with_account(fields={"header_name": ["X-Key"]}),
    "id-path": _with_account(id="../escape"),
    "fraction-words": json.dumps(
        {"schema": 1, "vault_id": "abc", "settings": {"refresh_ahead_fraction": "a quarter"}}
    ).encode(),
    "duplicate-names": json.dumps(
        {
            "schema": 1,
            "vault_id": "abc",
            "accounts": [
                {"id": "a", "name": "twin", "provider": "static"},
                {"id": "b", "name": "twin", "provider": "static"},
            ],
        }
    ).encode(),
}
CORRUPT_FILES.update(DAMAGED_FILES)


def _corrupt_vault(home: Path, content: bytes, *, with_backup: bool) -> AccountStore:
    store = AccountStore(home)
    store.update(_adder("one"))
    if with_backup:
        store.update(_adder("two"))
        assert store.backup_path.exists()
    store.path.write_bytes(content)
    return store


@pytest.mark.parametrize("with_backup", [True, False], ids=["backup", "no-backup"])
@pytest.mark.parametrize("kind", sorted(CORRUPT_FILES))
@pytest.mark.parametrize("operation", ["load", "update", "ensure_created"])
def test_corrupt_or_newer_file_is_refused_and_left_untouched(
    tmp_path: Path, kind: str, with_backup: bool, operation: str
) -> None:
    store = _corrupt_vault(tmp_path / "vault", CORRUPT_FILES[kind], with_backup=with_backup)
    before = store.path.read_bytes()
    backup_before = store.backup_path.read_bytes() if with_backup else None
    called: list[bool] = []

    def change(doc: VaultDoc) -> None:
        called.append(True)
        doc.accounts.append(Account(id="new", name="new", provider="static"))

    with pytest.raises(VaultFileError) as caught:
        if operation == "load":
            store.load()
        elif operation == "update":
            store.update(change)
        else:
            store.ensure_created()

    message = str(caught.value)
    assert str(store.path) in message
    assert "\n" not in message
    if with_backup:
        assert str(store.backup_path) in message
    else:
        assert "no backup" in message
    assert called == [], "the change ran against a file that could not be read"
    assert store.path.read_bytes() == before
    if with_backup:
        assert store.backup_path.read_bytes() == backup_before
    else:
        assert not store.backup_path.exists()
    assert _temp_leftovers(store.home) == []


@pytest.mark.parametrize("kind", sorted(DAMAGED_FILES))
def test_damaged_file_message_names_the_field(tmp_path: Path, kind: str) -> None:
    store = _corrupt_vault(tmp_path / "vault", DAMAGED_FILES[kind], with_backup=True)
    with pytest.raises(VaultFileError) as caught:
        store.load()
    message = str(caught.value)
    assert message.startswith(f"{store.path}: damaged at "), message
    assert f"the previous version is in {store.backup_path}" in message


def test_newer_schema_message_says_so(tmp_path: Path) -> None:
    store = _corrupt_vault(tmp_path / "vault", CORRUPT_FILES["newer-schema"], with_backup=True)
    with pytest.raises(VaultFileError, match="newer"):
        store.load()


def _quiet(cli: Cli) -> Cli:
    """The CLI without the DEBUG log lines the shared fixture turns on: only what a user sees."""
    env = dict(cli.env)
    env["TOKEN_VAULT_LOG"] = "WARNING"
    return dataclasses.replace(cli, env=env)


@pytest.mark.parametrize("kind", ["not-json", "json-list", "newer-schema"])
@pytest.mark.parametrize("command", ["list", "add"])
def test_cli_refuses_corrupt_file_and_leaves_it_untouched(
    cli: Cli, vault_home: Path, kind: str, command: str
) -> None:
    store = _corrupt_vault(vault_home, CORRUPT_FILES[kind], with_backup=True)
    before = store.path.read_bytes()
    backup_before = store.backup_path.read_bytes()

    if command == "list":
        result = _quiet(cli)("list")
    else:
        result = _quiet(cli)(
            "add", "api", "--provider", "static", "--secret", "token", stdin="tok-corrupt-test\n"
        )

    assert result.code != 0
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    assert str(store.path) in lines[0]
    assert "backup" in lines[0] or str(store.backup_path) in lines[0]
    assert "Traceback" not in result.err
    assert store.path.read_bytes() == before
    assert store.backup_path.read_bytes() == backup_before


# -- odd stored values (issue 10.1) ------------------------------------------------------------


def test_out_of_range_times_read_as_unknown_and_are_not_written_back(tmp_path: Path) -> None:
    store = AccountStore(tmp_path / "vault")
    store.update(_adder("api"))
    store.update(_adder("other"))
    raw = store.path.read_text()
    data = json.loads(raw)
    data["accounts"][0]["access_expires_at"] = 1e300
    data["accounts"][0]["refresh_expires_at"] = -5
    data["accounts"][0]["last_refresh_at"] = time.time() * 1000
    # What an older version wrote for float("inf"): not JSON, but it has to read.
    text = json.dumps(data).replace("1e+300", "Infinity")
    store.path.write_text(text)

    account = store.load().accounts[0]
    assert (account.access_expires_at, account.refresh_expires_at) == (None, None)
    assert account.last_refresh_at is None

    store.update(_adder("third"))
    written = store.path.read_text()
    assert "Infinity" not in written and "e+300" not in written
    stored = json.loads(written)["accounts"][0]
    assert stored["access_expires_at"] is None and stored["refresh_expires_at"] is None


def test_a_bad_time_set_in_memory_is_stored_as_unknown(tmp_path: Path) -> None:
    store = AccountStore(tmp_path / "vault")
    store.update(_adder("api"))

    def odd(doc: VaultDoc) -> None:
        doc.find("api").access_expires_at = math.inf

    store.update(odd)
    assert json.loads(store.path.read_text())["accounts"][0]["access_expires_at"] is None


def test_a_change_that_breaks_the_schema_is_not_written(tmp_path: Path) -> None:
    store = AccountStore(tmp_path / "vault")
    store.update(_adder("api"))
    before = store.path.read_bytes()

    def bad_setting(doc: VaultDoc) -> None:
        doc.settings["clipboard_seconds"] = "thirty"

    with pytest.raises(VaultFileError, match=r"settings\.clipboard_seconds"):
        store.update(bad_setting)
    with pytest.raises(VaultFileError, match=r"accounts\[1\]\.name"):
        store.update(_adder("api"))
    assert store.path.read_bytes() == before


def test_unknown_settings_are_kept(tmp_path: Path) -> None:
    store = AccountStore(tmp_path / "vault")
    store.update(_adder("api"))
    data = json.loads(store.path.read_text())
    data["settings"] = {
        "window_geometry": "AdnQywADAAA",
        "columns": [120, 80],
        "notifications": False,
    }
    store.path.write_text(json.dumps(data))

    store.update(_adder("other"))

    assert json.loads(store.path.read_text())["settings"] == data["settings"]


# -- permissions and ownership (issue 10.13) ----------------------------------------------------


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o702, 0o720])
def test_a_vault_folder_others_can_write_is_refused(tmp_path: Path, mode: int) -> None:
    store = AccountStore(tmp_path / "vault")
    store.update(_adder("api"))
    os.chmod(store.home, mode)
    before = store.path.read_bytes()

    for operation in (store.load, lambda: store.update(_adder("other"))):
        with pytest.raises(VaultFileError) as caught:
            operation()
        assert str(caught.value) == (
            f"{store.home} can be changed by other users (mode {mode:04o}): refusing to use "
            f"it; fix it with: chmod 700 {store.home}"
        )
    assert store.path.read_bytes() == before
    os.chmod(store.home, 0o700)
    assert _names(store) == ["api"]


def test_a_vault_file_others_can_write_is_refused(tmp_path: Path) -> None:
    store = AccountStore(tmp_path / "vault")
    store.update(_adder("api"))
    os.chmod(store.path, 0o666)
    with pytest.raises(VaultFileError, match=re.escape(f"fix it with: chmod 600 {store.path}")):
        store.load()


def test_an_empty_vault_folder_others_can_write_is_refused_too(tmp_path: Path) -> None:
    home = tmp_path / "vault"
    home.mkdir()
    os.chmod(home, 0o777)
    with pytest.raises(VaultFileError, match="chmod 700"):
        AccountStore(home).load()


def test_a_path_with_spaces_is_quoted_in_the_fix(tmp_path: Path) -> None:
    store = AccountStore(tmp_path / "my vault")
    store.update(_adder("api"))
    os.chmod(store.home, 0o777)
    with pytest.raises(VaultFileError, match=re.escape(f"chmod 700 '{store.home}'")):
        store.load()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a folder to another user")
def test_a_vault_folder_of_another_user_is_refused(tmp_path: Path) -> None:
    store = AccountStore(tmp_path / "vault")
    store.update(_adder("api"))
    os.chown(store.home, 65534, 65534)
    with pytest.raises(VaultFileError) as caught:
        store.load()
    owner = pwd.getpwuid(65534).pw_name
    me = pwd.getpwuid(os.getuid()).pw_name
    assert str(caught.value).startswith(f"{store.home} belongs to {owner}, not to {me}")
    assert str(caught.value).endswith(f"run: sudo chown -R {me}: {store.home}")


# -- operating-system errors (issue 10.11) ----------------------------------------------------


@pytest.mark.parametrize(
    ("errno", "reason"), [(28, "No space left on device"), (30, "Read-only file system")]
)
def test_a_write_the_system_refuses_is_one_line_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, errno: int, reason: str
) -> None:
    store = AccountStore(tmp_path / "vault")
    store.update(_adder("one"))
    before = store.path.read_bytes()

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(errno, reason)

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(VaultFileError) as caught:
        store.update(_adder("two"))
    monkeypatch.undo()

    assert str(caught.value) == f"cannot write {store.path}: {reason}; it was left as it was"
    assert store.path.read_bytes() == before
    assert _names(store) == ["one"]


def test_an_unreadable_file_says_why(tmp_path: Path) -> None:
    store = AccountStore(tmp_path / "vault")
    store.home.mkdir(mode=0o700)
    store.path.mkdir()  # reading a folder fails whoever we are (root reads any file)
    with pytest.raises(VaultFileError, match=re.escape(f"cannot read {store.path}: Is a dir")):
        store.load()


@pytest.mark.parametrize("kind", ["fifo", "device", "device-symlink"])
def test_a_file_that_is_not_a_file_is_refused_at_once(tmp_path: Path, kind: str) -> None:
    """A named pipe in the file's place would block every command and the window's start
    for ever (no writer ever comes); a device such as /dev/zero would fill memory."""
    store = AccountStore(tmp_path / "vault")
    store.home.mkdir(mode=0o700)
    if kind == "fifo":
        os.mkfifo(store.path, 0o600)
        what = "a named pipe"
    else:
        store.path.symlink_to("/dev/zero" if kind == "device-symlink" else "/dev/null")
        what = "a device"
    message = f"cannot read {store.path}: {what}, not a regular file"
    with pytest.raises(VaultFileError, match=re.escape(message)):
        store.load()
    with pytest.raises(VaultFileError, match=re.escape(message)):
        store.update(_adder("one"))
    assert not store.path.is_file() and not store.backup_path.exists()


def test_a_huge_file_is_refused_unread_and_left_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vault_app.core import account_store

    monkeypatch.setattr(account_store, "MAX_FILE_BYTES", 4096)
    store = AccountStore(tmp_path / "vault")
    store.update(_adder("one"))
    doc = json.loads(store.path.read_text())
    doc["accounts"][0]["last_error"] = "x" * 5000
    store.path.write_text(json.dumps(doc))
    before = store.path.read_bytes()
    with pytest.raises(VaultFileError, match="larger than 4 KiB, which no vault needs"):
        store.update(_adder("two"))
    assert store.path.read_bytes() == before


def test_a_vault_home_that_cannot_be_created_says_why(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    store = AccountStore(tmp_path / "file" / "vault")
    with pytest.raises(VaultFileError, match=r"^cannot create .*/file/vault: Not a directory$"):
        store.update(_adder("one"))


def test_a_metadata_lock_held_too_long_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from filelock import FileLock

    from vault_app.core import account_store

    store = AccountStore(tmp_path / "vault")
    store.update(_adder("one"))
    monkeypatch.setattr(account_store, "LOCK_TIMEOUT", 0.2)
    with (
        FileLock(store.lock_dir / "accounts.lock"),
        pytest.raises(UserFacingError, match="another Token Vault process has held"),
    ):
        store.update(_adder("two"))


# -- concurrent updates ------------------------------------------------------------------------


@pytest.mark.parametrize("shared", [True, False], ids=["one-store", "store-per-thread"])
def test_concurrent_updates_lose_no_change(tmp_path: Path, shared: bool) -> None:
    home = tmp_path / "vault"
    common = AccountStore(home)
    count = 20
    start = threading.Barrier(count)
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        store = common if shared else AccountStore(home)
        try:
            start.wait(timeout=10)
            store.update(_adder(f"acct-{index:02d}"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert _names(common) == [f"acct-{i:02d}" for i in range(count)]
    assert _temp_leftovers(home) == []


_PROCESS_WORKER = """
import sys, uuid
from pathlib import Path
from vault_app.core.account_store import AccountStore
from vault_app.core.model import Account

store = AccountStore(Path(sys.argv[1]))
for i in range(int(sys.argv[3])):
    name = f"{sys.argv[2]}-{i:02d}"
    store.update(lambda doc: doc.accounts.append(
        Account(id=uuid.uuid4().hex, name=name, provider="static")))
"""


def test_concurrent_processes_lose_no_change(tmp_path: Path) -> None:
    home = tmp_path / "vault"
    per_process = 10
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _PROCESS_WORKER, str(home), f"p{n}", str(per_process)],
            cwd=REPO,
        )
        for n in range(4)
    ]
    codes = [p.wait(timeout=60) for p in procs]

    assert codes == [0, 0, 0, 0]
    expected = sorted(f"p{n}-{i:02d}" for n in range(4) for i in range(per_process))
    assert _names(AccountStore(home)) == expected


# -- the first frame's preview ---------------------------------------------------------------


def test_preview_reads_what_load_reads(tmp_path: Path) -> None:
    """The window's first frame is filled by preview() (json alone, no schema check): for a
    file the store wrote it gives the very accounts and settings load() gives, odd times
    read as unknown the same way."""
    store = AccountStore(tmp_path / "vault")
    now = time.time()

    def fill(doc: VaultDoc) -> None:
        for i in range(5):
            doc.accounts.append(
                Account(
                    id=f"id-{i}",
                    name=f"acct-{i}",
                    provider="oauth2",
                    fields={"token_url": "https://example.test/token"},
                    access_expires_at=now + 60 * i,
                    last_refresh_at=now - 10,
                    last_error="x" if i == 2 else None,
                    generation=i,
                    secret_fields=["client_secret"],
                )
            )
        doc.settings["colour_scheme"] = "dark"

    store.update(fill)
    data = json.loads(store.path.read_text())
    data["accounts"][3]["access_expires_at"] = 1e300  # hand-edited: unknown for both
    store.path.write_text(json.dumps(data))
    previewed = AccountStore(store.home).preview()
    assert previewed is not None
    accounts, settings = previewed
    loaded = AccountStore(store.home).load()
    assert accounts == loaded.accounts
    assert accounts[3].access_expires_at is None
    assert settings == loaded.settings


def test_preview_refuses_what_load_refuses_and_never_guesses(tmp_path: Path) -> None:
    store = AccountStore(tmp_path / "vault")
    assert store.preview() == ([], {})  # no vault yet: empty, as load() says
    store.update(_adder("one"))
    good = store.path.read_text()
    for damaged in (
        "{not json",
        json.dumps({"schema": SCHEMA_VERSION + 1, "vault_id": "v", "accounts": []}),
        json.dumps({"schema": SCHEMA_VERSION, "accounts": [{"id": 5, "name": "x"}]}),
        json.dumps({"schema": SCHEMA_VERSION, "accounts": [{"id": "a", "name": "b"}]}),
        json.dumps(
            {
                "schema": SCHEMA_VERSION,
                "accounts": [{"id": "a", "name": "b", "provider": "p", "status": "bogus"}],
            }
        ),
        json.dumps([1, 2]),
    ):
        store.path.write_text(damaged)
        assert store.preview() is None, damaged
    store.path.write_text(good)
    assert store.preview() is not None
    os.chmod(store.home, 0o770)  # others could point an account elsewhere: refused
    try:
        assert store.preview() is None
        with pytest.raises(VaultFileError, match="can be changed by other users"):
            AccountStore(store.home).load()
    finally:
        os.chmod(store.home, 0o700)


def _previewed_file(home: Path, doc: object) -> tuple[object, object]:
    """preview() and load() of `doc` written as accounts.json: (None or the accounts and
    settings previewed, the error load() raised or the accounts and settings it read)."""
    home.mkdir(mode=0o700, exist_ok=True)
    path = home / "accounts.json"
    path.write_text(json.dumps(doc))
    os.chmod(path, 0o600)
    previewed = AccountStore(home).preview()
    try:
        loaded = AccountStore(home).load()
    except UserFacingError as exc:
        return previewed, exc
    return previewed, (loaded.accounts, loaded.settings)


_GOOD_ACCOUNT = {"id": "a1", "name": "one", "provider": "static", "generation": 1}
_GOOD_FILE = {"schema": SCHEMA_VERSION, "vault_id": "v1", "accounts": [_GOOD_ACCOUNT]}


@pytest.mark.parametrize(
    "change",
    [
        {"vault_id": "../elsewhere"},
        {"vault_id": None},
        {"schema": 0},
        {"schema": True},
        {"settings": {"request_deadline": "soon"}},
        {"settings": {"colour_scheme": "purple"}},
        {"settings": {"clipboard_seconds": 1.5}},
        {"settings": {"pinned_accounts": [1]}},
        {"leftovers": 5},
        {"leftovers": [{"id": "x"}]},
        {"accounts": [{**_GOOD_ACCOUNT, "id": "../../x"}]},
        {"accounts": [{**_GOOD_ACCOUNT, "name": "n" * 2000}]},
        {"accounts": [_GOOD_ACCOUNT, {**_GOOD_ACCOUNT, "id": "a2"}]},  # one name twice
        {"accounts": [_GOOD_ACCOUNT, {**_GOOD_ACCOUNT, "name": "two"}]},  # one id twice
        {"accounts": [{**_GOOD_ACCOUNT, "access_expires_at": "soon"}]},
        {"accounts": [{**_GOOD_ACCOUNT, "access_expires_at": True}]},
        {"accounts": [{**_GOOD_ACCOUNT, "created_at": 10**400}]},
        {"accounts": [{**_GOOD_ACCOUNT, "generation": -1}]},
        {"accounts": [{**_GOOD_ACCOUNT, "generation": True}]},
        {"accounts": [{**_GOOD_ACCOUNT, "secret_fields": [1]}]},
        {"accounts": [{**_GOOD_ACCOUNT, "fields": {"token_url": None}}]},
        {"accounts": [{**_GOOD_ACCOUNT, "status": None}]},
    ],
)
def test_preview_shows_nothing_of_a_file_load_refuses(
    tmp_path: Path, change: dict[str, object]
) -> None:
    """The first frame never shows a damaged file as if it were fine: whatever load()
    refuses, preview() gives None (the window then waits for load's word)."""
    previewed, loaded = _previewed_file(tmp_path / "vault", {**_GOOD_FILE, **change})
    assert isinstance(loaded, UserFacingError)
    assert previewed is None


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)
_KEYS = st.sampled_from(
    [
        "schema", "vault_id", "accounts", "settings", "leftovers",
        "id", "name", "provider", "fields", "status", "access_expires_at",
        "refresh_expires_at", "last_refresh_at", "created_at", "last_error", "generation",
        "secret_fields", "request_deadline", "colour_scheme", "column_widths",
    ]
)  # fmt: skip


@given(where=st.integers(0, 2), key=_KEYS, value=_JSON)
def test_preview_agrees_with_load_on_any_edit(
    tmp_path_factory: pytest.TempPathFactory, where: int, key: str, value: object
) -> None:
    """One hand edit anywhere (top level, an account, the settings): preview() gives None
    or exactly what load() reads."""
    account = dict(_GOOD_ACCOUNT)
    doc: dict[str, object] = {**_GOOD_FILE, "settings": {}}
    target = (doc, account, doc["settings"])[where]
    assert isinstance(target, dict)
    target[key] = value
    doc["accounts"] = [account, {**_GOOD_ACCOUNT, "id": "a2", "name": "two"}]
    previewed, loaded = _previewed_file(tmp_path_factory.mktemp("edit") / "vault", doc)
    if previewed is not None:
        assert previewed == loaded
