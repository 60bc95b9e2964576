"""`token --format env` and `--format curl`: checked by the programs that read them, a POSIX
shell and curl itself, with tokens that hold every character a token or key may hold."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.cli.support import add_static, assert_error, assert_ok
from tests.conftest import Cli
from tests.fakes.echo import EchoUpstream
from vault_app.core.errors import UserFacingError
from vault_app.core.token_formats import curl_header, shell_export

# RFC 6750 b64token characters, plus what API keys in the wild hold (quotes, `$`, `\`, `!`).
ODD_KEY = "k3y-._~+/=$(echo no)`x`\\\"'!;&|*?#%"


def test_env_is_read_back_by_the_shell(cli: Cli) -> None:
    assert_ok(add_static(cli, "odd", ODD_KEY, "--set", "scheme="))
    line = assert_ok(cli("token", "odd", "--format", "env", "--env", "API_KEY")).out
    assert line.startswith("export API_KEY=")
    shell = subprocess.run(
        ["sh", "-c", line + 'printf %s "$API_KEY"'],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert shell.stdout == ODD_KEY
    assert assert_ok(cli("token", "odd", "--format", "env")).out.startswith("export ACCESS_TOKEN=")


def test_env_variable_names_are_checked(cli: Cli) -> None:
    assert_ok(add_static(cli, "t", "plain-token-0001"))
    assert_error(cli("token", "t", "--format", "env", "--env", "1BAD"), 2)
    assert_error(cli("token", "t", "--format", "env", "--env", "A;rm -rf /"), 2)
    assert_error(cli("token", "t", "--env", "VAR"), 2, contains="--format env")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_reads_the_config_line(cli: Cli) -> None:
    assert_ok(add_static(cli, "odd", ODD_KEY, "--set", "header_name=X-Api-Key", "--set", "scheme="))
    assert_ok(add_static(cli, "bearer", "bearer-token-0002"))
    with EchoUpstream() as upstream:
        for name, header, value in (
            ("odd", "X-Api-Key", ODD_KEY),
            ("bearer", "Authorization", "Bearer bearer-token-0002"),
        ):
            config = assert_ok(cli("token", name, "--format", "curl")).out
            done = subprocess.run(
                ["curl", "-sS", "--noproxy", "*", "-K", "-", upstream.url + "/check"],
                input=config,
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            assert done.returncode == 0, done.stderr
            assert upstream.seen[-1].all(header) == [value]


@given(st.text(min_size=1, max_size=40))
def test_shell_export_quotes_anything(value: str) -> None:
    line = shell_export("V", value)
    assert line.startswith("export V=")
    assert "\n" not in line or "'" in line  # a newline only ever inside single quotes


@given(st.text(max_size=40))
def test_curl_header_never_lets_a_line_break_through(value: str) -> None:
    try:
        line = curl_header("X: " + value)
    except UserFacingError:
        assert any(ord(c) < 0x20 or ord(c) == 0x7F for c in value)
        return
    assert "\n" not in line and "\r" not in line
    assert line.startswith('header = "') and line.endswith('"')
    # Read back as curl reads a quoted parameter: `\\` and `\"` are escapes, and an
    # unescaped quote would end the string early.
    inner, out, i = line[len('header = "') : -1], [], 0
    while i < len(inner):
        if inner[i] == "\\":
            out.append(inner[i + 1])
            i += 2
        else:
            assert inner[i] != '"', "an unescaped quote ends the value early"
            out.append(inner[i])
            i += 1
    assert "".join(out) == "X: " + value
