"""`token NAME` for a valid stored token: one keyring read, no network stack, no Qt."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO, Cli

HEAVY = ("PySide6", "shiboken6", "qasync", "httpx", "httpcore", "jwt")


def test_valid_token_loads_no_network_or_qt(cli: Cli) -> None:
    assert (
        cli(
            "add",
            "fast",
            "--provider",
            "static",
            "--secret",
            "token",
            stdin="fast-path-token-0001\n",
        ).code
        == 0
    )
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "vault_app", "token", "fast"],
        capture_output=True,
        text=True,
        env=cli.env,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-500:]
    assert proc.stdout == "fast-path-token-0001\n"
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "keyring" in imported  # the parse works: the keyring was read
    assert sorted(imported.intersection(HEAVY)) == []
