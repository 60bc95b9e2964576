"""`token-vault --self-check` in the private keyring session: every required part present
gives exit 0; each missing part gives a FAIL line naming it and a non-zero exit."""

from __future__ import annotations

import time
from pathlib import Path

from tests.conftest import Cli
from tests.gui.xserver import private_display


def _lines(out: str) -> dict[str, str]:
    found = {}
    for line in out.splitlines():
        if ":" in line and line[:5].strip() in ("ok", "FAIL", "--"):
            name, _, detail = line[5:].partition(":")
            found[name.strip()] = f"{line[:5].strip()} {detail.strip()}"
    return found


def test_all_present_on_the_offscreen_platform(cli: Cli, vault_home: Path) -> None:
    cli.env["QT_QPA_PLATFORM"] = "offscreen"
    result = cli("--self-check")
    assert result.code == 0, result.out + result.err
    lines = _lines(result.out)
    assert lines["keyring"] == "ok SecretService.Keyring"
    assert lines["keyring read"] == "ok answered"
    assert lines["vault home"] == f"ok {vault_home} (not created yet)"
    assert lines["Qt platform"].startswith("ok offscreen (Qt 6.")
    assert lines["system tray"].startswith("-- not available")  # optional: still exit 0
    assert lines["version"].startswith("ok 0.")
    assert result.out.endswith("all required checks passed\n")


def test_keyring_items_of_an_existing_vault_are_checked(cli: Cli, vault_home: Path) -> None:
    cli.env["QT_QPA_PLATFORM"] = "offscreen"
    assert "keyring items" not in _lines(cli("--self-check").out), "no vault yet: no line"
    added = cli("add", "api", "--provider", "static", "--secret", "token", stdin="tok-12345\n")
    assert added.code == 0, added.err
    result = cli("--self-check")
    assert result.code == 0, result.out + result.err
    assert _lines(result.out)["keyring items"] == "ok 1, each owned by an account"
    assert _lines(result.out)["vault home"] == f"ok {vault_home} (1 accounts)"


def test_a_vault_open_to_other_users_fails_the_check(cli: Cli, vault_home: Path) -> None:
    vault_home.mkdir(mode=0o700)
    (vault_home / "accounts.json").write_text('{"schema": 1, "vault_id": "abc"}')
    vault_home.chmod(0o777)
    cli.env["QT_QPA_PLATFORM"] = "offscreen"
    result = cli("--self-check")
    vault_home.chmod(0o700)
    assert result.code == 1
    line = _lines(result.out)["vault home"]
    assert line.startswith("FAIL ") and line.endswith(f"fix it with: chmod 700 {vault_home}")


def test_tray_is_found_when_the_desktop_has_one(cli: Cli) -> None:
    with private_display(tray=True) as display:
        cli.env["DISPLAY"] = display
        for _ in range(40):  # until trayer has taken the tray selection
            result = cli("--self-check")
            if _lines(result.out).get("system tray") == "ok available":
                break
            time.sleep(0.25)
    assert result.code == 0, result.out + result.err
    assert _lines(result.out)["system tray"] == "ok available"
    assert _lines(result.out)["Qt platform"].startswith("ok xcb ")


def test_a_refused_keyring_fails_the_check(cli: Cli) -> None:
    cli.env.update(
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring", QT_QPA_PLATFORM="offscreen"
    )
    result = cli("--self-check")
    assert result.code == 1
    assert _lines(result.out)["keyring"].startswith(
        "FAIL no usable keyring (keyring chose null.Keyring)"
    )
    assert result.out.endswith("self-check failed: see the FAIL lines\n")


def test_a_damaged_vault_file_fails_the_check(cli: Cli, vault_home: Path) -> None:
    vault_home.mkdir(mode=0o700)
    (vault_home / "accounts.json").write_text("{not json")
    cli.env["QT_QPA_PLATFORM"] = "offscreen"
    result = cli("--self-check")
    assert result.code == 1
    assert _lines(result.out)["vault home"].startswith(f"FAIL {vault_home}: ")
    assert (vault_home / "accounts.json").read_text() == "{not json"  # left as it was


def test_a_missing_qt_platform_fails_the_check(cli: Cli) -> None:
    cli.env["QT_QPA_PLATFORM"] = "no-such-platform"
    result = cli("--self-check")
    assert result.code == 1
    line = _lines(result.out)["Qt platform"]
    assert line.startswith("FAIL cannot start: ") and "no-such-platform" in line


def test_no_display_fails_the_check(cli: Cli) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        cli.env.pop(name, None)
    result = cli("--self-check")
    assert result.code == 1
    assert _lines(result.out)["Qt platform"].startswith("FAIL cannot start: ")
