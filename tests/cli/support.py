"""Helpers shared by the CLI tests: JWTs and distinctive secrets, error-line checks, and a
runner for a test-only provider with two secret fields."""

from __future__ import annotations

import json
import os
import re
import resource
import secrets
import shutil
import string
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Any

import jwt
import pytest

from tests.conftest import REPO, Cli, Result

# One log record as cli._setup_logging formats it: "2026-01-01 10:00:00,123 DEBUG name: ...".
LOG_LINE = re.compile(
    r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) "
)
ISO_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
ERROR_PREFIX = "token-vault: error: "


def make_jwt(expires_in: float, **claims: Any) -> str:
    """An HS256 JWT whose `exp` is `expires_in` seconds from now; a random `jti` makes every
    token distinct, so a leak check can never match some other test's token."""
    payload: dict[str, Any] = {
        "sub": "cli-tests",
        "jti": secrets.token_hex(12),
        "exp": int(time.time() + expires_in),
        **claims,
    }
    return jwt.encode(payload, "k" * 32, algorithm="HS256")


def jwt_exp(token: str) -> int:
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    assert isinstance(exp, int)
    return exp


def random_secret(length: int = 40) -> str:
    """A random letters-and-digits value: nothing else in any output can contain it."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso_z(text: str) -> float:
    assert ISO_Z.match(text), f"not an ISO 8601 UTC time ending in Z: {text!r}"
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def non_log_lines(err: str) -> list[str]:
    """stderr without the DEBUG log records the `cli` fixture turns on."""
    return [line for line in err.splitlines() if not LOG_LINE.match(line)]


def assert_error(result: Result, code: int, *, contains: str | None = None) -> str:
    """The exit code, and exactly one line on stderr (besides log records) that starts with
    `token-vault: error:`; returns that line."""
    lines = non_log_lines(result.err)
    assert result.code == code, f"exit {result.code}, wanted {code}; stderr: {lines}"
    assert len(lines) == 1, f"wanted exactly one error line, got {lines}"
    assert lines[0].startswith(ERROR_PREFIX), f"error line has the wrong prefix: {lines[0]!r}"
    if contains is not None:
        assert contains in lines[0], f"{contains!r} not in {lines[0]!r}"
    return lines[0]


def assert_ok(result: Result) -> Result:
    lines = non_log_lines(result.err)
    assert result.code == 0, f"exit {result.code}; stdout {result.out!r}; stderr {lines}"
    return result


def json_out(result: Result) -> Any:
    assert_ok(result)
    return json.loads(result.out)


def add_static(cli: Cli, name: str, token: str, *options: str) -> Result:
    """`add NAME --provider static --secret token [options]` with the token on stdin."""
    return cli(
        "add", name, "--provider", "static", "--secret", "token", *options, stdin=token + "\n"
    )


def quiet(cli: Cli) -> Cli:
    """The same vault with the default log level: what a user sees on stderr."""
    env = {k: v for k, v in cli.env.items() if k != "TOKEN_VAULT_LOG"}
    return Cli(cli.home, env)


# `python -m vault_app` with one extra provider kind registered first: `multi` has two secret
# fields, which static (one secret field) cannot show for "one line per --secret, in order".
_BOOT = (
    "import sys\n"
    "from vault_app.core.providers import base\n"
    "base.REGISTRY['multi'] = 'tests.cli.multi_provider:MultiSecretProvider'\n"
    "from vault_app.cli import main\n"
    "raise SystemExit(main(sys.argv[1:]))\n"
)


def run_with_multi(cli: Cli, *args: str, stdin: str = "") -> Result:
    proc = subprocess.run(
        [sys.executable, "-c", _BOOT, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=cli.env,
        cwd=REPO,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


# -- running the CLI in a harder world: limits, fewer privileges, odd standard streams ----------


def run_cli(
    cli: Cli,
    *args: str,
    stdin: str = "",
    preexec: Callable[[], None] | None = None,
    prefix: Sequence[str] = (),
    env: dict[str, str] | None = None,
) -> Result:
    """`python -m vault_app ARGS` like the `cli` fixture, with a `preexec` hook run in the
    child (resource limits) and a `prefix` command (setpriv) in front."""
    proc = subprocess.run(
        [*prefix, sys.executable, "-m", "vault_app", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**cli.env, **(env or {})},
        cwd=REPO,
        check=False,
        preexec_fn=preexec,  # a resource limit for the child only
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def file_size_limit(limit: int) -> Callable[[], None]:
    """A preexec hook: no file the child writes may grow past `limit` bytes (RLIMIT_FSIZE);
    Python ignores SIGXFSZ, so a write past it fails with EFBIG ("File too large"), as a
    full disk or a quota fails it."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def memory_limit(limit: int) -> Callable[[], None]:
    """A preexec hook: the child's address space is at most `limit` bytes (RLIMIT_AS), so a
    read that would fill memory fails in the child instead of swamping the machine."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def obeying_file_modes() -> list[str]:
    """A command prefix under which file modes apply: for root, setpriv drops the two
    capabilities that let root read and write past them; anyone else obeys them anyway."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: file modes cannot be made to apply")
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]


def all_printable(text: str) -> list[str]:
    """The lines of `text` that hold a character a terminal would act on (anything
    str.isprintable() refuses); [] when none does."""
    return [line for line in text.split("\n") if not line.isprintable()]
