"""Secret values never come from argv (DESIGN.md sections 6 and 7): `--secret FIELD` reads a
hidden prompt or one stdin line per option, `--secret-file FIELD=PATH` reads a file, and no
option anywhere takes a secret value."""

from __future__ import annotations

import argparse
import os
import pty
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.support import (
    assert_error,
    assert_ok,
    json_out,
    memory_limit,
    random_secret,
    run_cli,
    run_with_multi,
)
from tests.conftest import REPO, Cli, Result
from vault_app.cli import build_parser
from vault_app.core.providers.base import get_provider, kinds

# Secret field names of every provider in DESIGN.md section 2, present or still to come.
KNOWN_SECRET_FIELDS = {
    "token",
    "password",
    "client_secret",
    "refresh_token",
    "private_key",
    "certificate",
}


def _parsers(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield parser.prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _parsers(sub)


def test_no_option_takes_a_secret_value() -> None:
    registered = {f.name for kind in kinds() for f in get_provider(kind).fields if f.secret}
    assert "token" in registered
    forbidden = KNOWN_SECRET_FIELDS | registered | {"value", "secret_value"}
    offenders = []
    seen: dict[str, set[str]] = {}
    for prog, parser in _parsers(build_parser()):
        for action in parser._actions:
            names = {action.dest} | {o.lstrip("-").replace("-", "_") for o in action.option_strings}
            seen.setdefault(prog, set()).update(names)
            if names & forbidden:
                offenders.append(f"{prog}: {sorted(action.option_strings) or action.dest}")
    assert offenders == []
    # The walk did reach the subcommands that take secrets, and there `--secret` names a field.
    for prog in ("token-vault add", "token-vault edit"):
        assert {"secret", "secret_file", "set"} <= seen[prog]
    add = dict(_parsers(build_parser()))["token-vault add"]
    secret = next(a for a in add._actions if "--secret" in a.option_strings)
    assert secret.metavar == "FIELD"


def test_secret_option_takes_a_field_name_not_a_value(cli: Cli) -> None:
    result = cli("add", "demo", "--provider", "static", "--secret", "token=abc", stdin="abc\n")
    assert_error(result, 2, contains="token=abc")
    assert not (cli.home / "accounts.json").exists()


@pytest.mark.parametrize("flag", ["--token", "--password"])
def test_secret_value_options_do_not_exist(cli: Cli, flag: str) -> None:
    result = cli("add", "demo", "--provider", "static", flag, "abc", stdin="abc\n")
    assert_error(result, 2, contains=flag)
    assert not (cli.home / "accounts.json").exists()


def test_secret_for_a_non_secret_field_exits_2(cli: Cli) -> None:
    result = cli("add", "d", "--provider", "static", "--secret", "header_name", stdin="X\n")
    assert_error(result, 2, contains="header_name")


def test_secret_line_from_stdin_is_stored(cli: Cli) -> None:
    value = random_secret()
    assert_ok(cli("add", "d", "--provider", "static", "--secret", "token", stdin=value + "\r\n"))
    assert assert_ok(cli("token", "d")).out == value + "\n"


def test_several_secrets_read_one_line_each_in_order(cli: Cli) -> None:
    first, second = random_secret(), random_secret()
    args = ["add", "m", "--provider", "multi", "--set", "login=me"]
    args += ["--secret", "client_secret", "--secret", "password"]
    assert_ok(run_with_multi(cli, *args, stdin=f"{first}\r\n{second}\nunused-line\n"))
    # multi's access token is "<password>|<client_secret>".
    assert assert_ok(run_with_multi(cli, "token", "m")).out == f"{second}|{first}\n"
    shown = json_out(run_with_multi(cli, "show", "m", "--json"))
    assert shown["secrets_stored"] == ["client_secret", "password"]


def test_missing_stdin_line_for_a_later_secret_exits_2(cli: Cli) -> None:
    args = ["add", "m", "--provider", "multi", "--set", "login=me"]
    args += ["--secret", "password", "--secret", "client_secret"]
    result = run_with_multi(cli, *args, stdin="only-one-line\n")
    assert_error(result, 2, contains="client_secret")
    assert not (cli.home / "accounts.json").exists()


def test_missing_stdin_line_exits_2(cli: Cli) -> None:
    result = cli("add", "d", "--provider", "static", "--secret", "token", stdin="")
    assert_error(result, 2, contains="--secret token")
    assert not (cli.home / "accounts.json").exists()


def test_missing_stdin_line_message_is_readable(cli: Cli) -> None:
    """The message says what was expected: the redaction must not mask ordinary words."""
    result = cli("add", "d", "--provider", "static", "--secret", "token", stdin="")
    assert_error(result, 2, contains="expected one line on standard input")


def test_empty_secret_line_exits_2(cli: Cli) -> None:
    result = cli("add", "d", "--provider", "static", "--secret", "token", stdin="\n")
    assert_error(result, 2, contains="empty")
    assert not (cli.home / "accounts.json").exists()


def test_secret_file_is_read_whole(cli: Cli, tmp_path: Path) -> None:
    value = random_secret()
    path = tmp_path / "token.txt"
    path.write_text(f"{value}\n")
    result = cli("add", "f", "--provider", "static", "--secret-file", f"token={path}")
    assert_ok(result)
    assert assert_ok(cli("token", "f")).out == value + "\n"
    # edit takes a file too.
    newer = random_secret()
    path.write_text(newer)
    assert_ok(cli("edit", "f", "--secret-file", f"token={path}"))
    assert assert_ok(cli("token", "f")).out == newer + "\n"


def _unreadable(tmp_path: Path, kind: str) -> Path:
    if kind == "missing":
        return tmp_path / "absent.txt"
    if kind == "directory":
        folder = tmp_path / "a-folder"
        folder.mkdir()
        return folder
    if kind == "not-utf8":
        path = tmp_path / "binary.bin"
        path.write_bytes(b"\xff\xfe\x00\x9c")
        return path
    path = tmp_path / "empty.txt"
    path.write_text("\n")
    return path


@pytest.mark.parametrize("kind", ["missing", "directory", "not-utf8", "empty"])
def test_unreadable_secret_file_exits_2(cli: Cli, tmp_path: Path, kind: str) -> None:
    path = _unreadable(tmp_path, kind)
    result = cli("add", "f", "--provider", "static", "--secret-file", f"token={path}")
    assert_error(result, 2, contains="--secret-file token")
    assert not (cli.home / "accounts.json").exists()


def test_an_endless_secret_file_is_cut_at_the_cap(cli: Cli) -> None:
    """`--secret-file token=/dev/zero` (or any wrong, huge file) once read until memory ran
    out: it is one line, exit 2, after reading at most the cap."""
    result = run_cli(
        cli, "add", "z", "--provider", "static", "--secret-file", "token=/dev/zero",
        preexec=memory_limit(1 << 30),
    )  # fmt: skip
    assert_error(result, 2, contains="/dev/zero is larger than 1024 KiB")
    assert not (cli.home / "accounts.json").exists()


def test_an_endless_secret_line_is_cut_at_the_cap(cli: Cli) -> None:
    with open("/dev/zero", "rb") as zeros:
        proc = subprocess.run(
            [sys.executable, "-m", "vault_app", "add", "z", "--provider", "static",
             "--secret", "token"],
            stdin=zeros, capture_output=True, text=True, timeout=60, env=cli.env, cwd=REPO,
            preexec_fn=memory_limit(1 << 30), check=False,
        )  # fmt: skip
    assert_error(Result(proc.returncode, proc.stdout, proc.stderr), 2, contains="1024 KiB")
    assert not (cli.home / "accounts.json").exists()


def test_a_secret_file_may_be_a_pipe(cli: Cli, tmp_path: Path) -> None:
    """`--secret-file token=<(pass show api)`: the shell hands over a pipe."""
    value = random_secret()
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo, 0o600)

    def write() -> None:
        with open(fifo, "w") as out:
            out.write(value + "\n")

    writer = threading.Thread(target=write)
    writer.start()
    result = cli("add", "p", "--provider", "static", "--secret-file", f"token={fifo}")
    writer.join(10)
    assert_ok(result)
    assert assert_ok(cli("token", "p")).out == value + "\n"


def test_secret_file_for_unknown_or_plain_field_exits_2(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_text("X-Key\n")
    assert_error(cli("add", "f", "--provider", "static", "--secret-file", f"header_name={path}"), 2)
    assert_error(cli("add", "f", "--provider", "static", "--secret-file", str(path)), 2)


def test_every_secret_name_is_checked_before_any_is_read(cli: Cli, tmp_path: Path) -> None:
    """One check for `--secret` and `--secret-file` names (the vault's): a wrong name is
    refused before a secret is asked for, and says which names there are."""
    path = tmp_path / "x.txt"
    path.write_text("X-Key\n")
    args = ["add", "f", "--provider", "static", "--secret", "token"]
    result = cli(*args, "--secret-file", f"header_name={path}", stdin="")
    assert_error(result, 2, contains="static has no secret field 'header_name' (secret fields:")
    result = cli(*args, "--secret", "nope", stdin="")  # not "expected one line …" for token
    assert_error(result, 2, contains="no secret field 'nope'")
    assert not (cli.home / "accounts.json").exists()


def _read_pty(fd: int, until: bytes | None, timeout: float = 30) -> bytes:
    """Read the terminal until `until` shows up (or the end when None)."""
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        data += chunk
        if until is not None and until in data:
            break
    return data


def test_secret_prompt_on_a_terminal_does_not_echo(cli: Cli) -> None:
    value = random_secret()
    argv = [sys.executable, "-m", "vault_app", "add", "tty", "--provider", "static"]
    argv += ["--secret", "token"]
    pid, fd = pty.fork()
    if pid == 0:  # the child: its controlling terminal is the pty
        try:
            os.chdir(REPO)
            os.execve(sys.executable, argv, cli.env)
        finally:
            os._exit(127)
    try:
        transcript = _read_pty(fd, b"(token): ")
        assert b"(token): " in transcript, transcript
        os.write(fd, value.encode() + b"\n")
        transcript += _read_pty(fd, None)
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, transcript
    assert value.encode() not in transcript
    assert b"added tty" in transcript
    assert assert_ok(cli("token", "tty")).out == value + "\n"
