"""Where sockets live, and which folders are trusted with them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vault_app.core.account_store import default_home
from vault_app.service import paths


def test_the_light_default_home_is_the_account_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKEN_VAULT_HOME", "~/somewhere/vault")
    assert paths.default_home() == str(default_home())
    monkeypatch.delenv("TOKEN_VAULT_HOME")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert paths.default_home() == str(default_home())


def test_one_vault_one_key_whatever_the_spelling(tmp_path: Path) -> None:
    home = tmp_path / "vault"
    home.mkdir()
    (tmp_path / "link").symlink_to(home)
    key = paths.vault_key(home)
    assert len(key) == 16 and int(key, 16) >= 0
    assert paths.vault_key(str(home) + "/") == key
    assert paths.vault_key(tmp_path / "link") == key
    assert paths.vault_key(tmp_path / "x" / ".." / "vault") == key
    assert paths.vault_key(tmp_path / "other") != key
    assert paths.socket_file(home).endswith(f"/token-vault/{key}.sock")
    assert paths.lock_file(home).endswith(f"/token-vault/{key}.lock")


def test_the_runtime_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    assert paths.runtime_folder() == "/run/user/1000/token-vault"
    for unusable in ("", "relative/dir"):
        monkeypatch.setenv("XDG_RUNTIME_DIR", unusable)
        monkeypatch.setenv("TMPDIR", "/var/tmp")
        assert paths.runtime_folder() == f"/var/tmp/token-vault-{os.getuid()}"
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    monkeypatch.delenv("TMPDIR")
    assert paths.runtime_folder() == f"/tmp/token-vault-{os.getuid()}"


def test_only_a_private_folder_of_ours_is_trusted(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    paths.make_private(folder)
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    paths.make_private(folder)  # there already: fine
    os.chmod(folder, 0o750)
    with pytest.raises(paths.UnsafeFolderError, match="mode 0750, needs 0700"):
        paths.check_private(folder)
    os.chmod(folder, 0o700)
    link = tmp_path / "link"
    link.symlink_to(folder)
    with pytest.raises(paths.UnsafeFolderError, match="not a directory"):
        paths.check_private(link)
    afile = tmp_path / "file"
    afile.write_text("")
    with pytest.raises(paths.UnsafeFolderError, match="not a directory"):
        paths.make_private(afile)
    with pytest.raises(FileNotFoundError):
        paths.check_private(tmp_path / "missing")
    if os.geteuid() == 0:
        os.chown(folder, 65534, -1)
        with pytest.raises(paths.UnsafeFolderError, match="belongs to another user"):
            paths.check_private(folder)
