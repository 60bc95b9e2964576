"""The running app serves the CLI over its socket (issue 13): `token-vault serve` as a real
process on the real Secret Service, CLI calls as real processes whose own keyring is unusable,
OAuth2 refreshes against the loopback fake."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.support import add_static, assert_error, assert_ok, non_log_lines, quiet
from tests.conftest import REPO, Cli
from tests.fakes.cached import issued_ago
from tests.fakes.oauth2 import OAuth2Fake
from tests.fakes.server import Fault
from tests.service.support import loop_thread, serving, without_keyring
from vault_app.service import client, paths, protocol
from vault_app.service import server as server_module


def _add_oauth(cli: Cli, fake: OAuth2Fake, name: str = "cc") -> None:
    assert_ok(
        cli(
            "add",
            name,
            "--provider",
            "oauth2",
            "--set",
            f"token_url={fake.token_url}",
            "--set",
            "client_id=svc-client",
            "--secret",
            "client_secret",
            stdin="svc-secret-0001\n",
        )
    )


@pytest.fixture
def oauth() -> Iterator[OAuth2Fake]:
    with OAuth2Fake(access_lifetime=600) as fake:
        fake.add_client("svc-client", "svc-secret-0001")
        yield fake


def _exchange_raw(path: Path, data: bytes) -> bytes:
    """Send `data` as it is and read until the server closes."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(30)
        sock.connect(str(path))
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered early and closed; its reply is still to be read
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def test_tokens_come_from_the_app_not_the_keyring(cli: Cli, tmp_path: Path) -> None:
    token = "served-from-memory-0001"
    assert_ok(add_static(cli, "st", token))
    assert_ok(
        add_static(cli, "key", "api-key-0002", "--set", "header_name=X-Api-Key", "--set", "scheme=")
    )
    blind = without_keyring(cli)
    # Without an app, this CLI cannot read its keyring: the setting bites.
    assert_error(blind("token", "st"), 6)
    with serving(cli, tmp_path / "serve.log") as served:
        assert served.proc.poll() is None
        assert assert_ok(blind("token", "st")).out == token + "\n"
        assert assert_ok(blind("token", "st", "--format", "bearer")).out == f"Bearer {token}\n"
        assert assert_ok(blind("token", "key", "--format", "header")).out == (
            "X-Api-Key: api-key-0002\n"
        )
        data = json.loads(assert_ok(blind("token", "st", "--format", "json")).out)
        assert data == {"access_token": token, "token_type": "Bearer", "expires_at": None}
        assert assert_ok(blind("token", "st", "--format", "env")).out == (
            f"export ACCESS_TOKEN={token}\n"
        )
        assert assert_ok(blind("token", "key", "--format", "curl")).out == (
            'header = "X-Api-Key: api-key-0002"\n'
        )
        listed = json.loads(assert_ok(blind("list", "--json")).out)
        assert sorted(a["name"] for a in listed) == ["key", "st"]
        assert "st" in assert_ok(blind("list")).out
        ran = assert_ok(
            blind(
                "exec",
                "st",
                "--",
                sys.executable,
                "-c",
                "import os; print(os.environ['ACCESS_TOKEN'])",
            )
        )
        assert ran.out == token + "\n"
        assert_error(blind("token", "nope"), 3, contains="no account named 'nope'")
        hello = client.hello(cli.home)
        assert hello is not None and hello["app"] == "headless"
        assert hello["pid"] == served.proc.pid
        assert served.stop() == 0
    assert token not in served.log.read_text()
    assert not paths.socket_path(cli.home).exists()  # removed on the way out


def test_a_served_token_loads_no_keyring_event_loop_or_network(cli: Cli, tmp_path: Path) -> None:
    assert_ok(add_static(cli, "st", "light-path-token-0001"))
    with serving(cli, tmp_path / "serve.log"):
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "vault_app", "token", "st"],
            capture_output=True,
            text=True,
            env=cli.env,
            cwd=REPO,
            timeout=60,
            check=False,
        )
    assert proc.returncode == 0 and proc.stdout == "light-path-token-0001\n"
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in proc.stderr.splitlines()
        if line.startswith("import time:")
    }
    heavy = {"keyring", "secretstorage", "jeepney", "asyncio", "httpx", "filelock", "PySide6"}
    # Nor the CLI package itself: the app answered before argparse was needed.
    heavy |= {"argparse", "logging", "dataclasses"}
    assert imported & heavy == set()


def test_many_concurrent_calls_make_one_refresh(
    cli: Cli, oauth: OAuth2Fake, tmp_path: Path
) -> None:
    # The first token is a cached one, issued a minute before it arrived with 30 s left of
    # its 90: every call below wants 120 s (or, as its server's tokens live less than that,
    # half their life), so each needs a refresh; the refreshed one lives an hour. Done by
    # the app's engine: once, whatever the arrival order.
    oauth.access_lifetime = 90
    oauth.inject("/token", issued_ago(oauth, 60))
    _add_oauth(cli, oauth)
    oauth.access_lifetime = 3600
    assert len(oauth.requests_to("/token")) == 1
    blind = without_keyring(cli)
    with serving(cli, tmp_path / "serve.log"):
        calls = [
            subprocess.Popen(
                [sys.executable, "-m", "vault_app", "token", "cc", "--min-valid", "120"],
                env=blind.env,
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(8)
        ]
        outputs = [call.communicate(timeout=120) for call in calls]
        for call, (_out, err) in zip(calls, outputs, strict=True):
            assert call.returncode == 0, non_log_lines(err)
        assert len({out for out, _err in outputs}) == 1
        assert len(oauth.requests_to("/token")) == 2  # the sign-in and one refresh
        # Forced: one more refresh, and refresh NAME through the engine: one more.
        forced = assert_ok(blind("token", "cc", "--force-refresh")).out
        assert forced != outputs[0][0]
        assert len(oauth.requests_to("/token")) == 3
        line = assert_ok(blind("refresh", "cc")).out
        assert line.startswith("cc: refreshed, expires in ")
        assert len(oauth.requests_to("/token")) == 4
        assert_error(blind("refresh", "cc", "nope"), 3)
        assert len(oauth.requests_to("/token")) == 4


def test_asking_for_more_than_the_servers_tokens_live_is_not_a_request_per_call(
    cli: Cli, oauth: OAuth2Fake, tmp_path: Path
) -> None:
    """Tokens that live 10 minutes, a script asking for 50 before every call: a fresh token
    is served (a refresh would bring another 10 minutes), not one request per call, with the
    app serving and without it."""
    _add_oauth(cli, oauth)
    first = assert_ok(cli("token", "cc", "--min-valid", "3000")).out
    assert assert_ok(cli("token", "cc", "--min-valid", "3000")).out == first
    assert len(oauth.requests_to("/token")) == 1  # the sign-in
    blind = without_keyring(cli)
    with serving(cli, tmp_path / "serve.log"):
        for _ in range(3):
            assert assert_ok(blind("token", "cc", "--min-valid", "3000")).out == first
        assert len(oauth.requests_to("/token")) == 1
        assert assert_ok(blind("token", "cc", "--force-refresh")).out != first
    assert len(oauth.requests_to("/token")) == 2


def test_failures_reach_the_cli_with_their_exit_codes(
    cli: Cli, oauth: OAuth2Fake, tmp_path: Path
) -> None:
    _add_oauth(cli, oauth)
    blind = without_keyring(cli)
    with serving(cli, tmp_path / "serve.log"):
        oauth.inject("/token", Fault.server_error())
        assert_error(blind("token", "cc", "--force-refresh"), 5, contains="HTTP 500")
        oauth.inject("/token", Fault.server_error())
        result = blind("refresh", "--all")
        assert result.code == 5
        assert non_log_lines(result.err)[0].startswith("token-vault: error: cc: ")
        # Rejected, and rejected again when the engine signs in anew: sign-in needed.
        oauth.inject("/token", Fault.status(401, {"error": "invalid_client"}), times=2)
        assert_error(blind("token", "cc", "--force-refresh"), 4, contains="invalid_client")


def test_a_stale_socket_is_ignored_then_replaced(cli: Cli, tmp_path: Path) -> None:
    token = "stale-socket-token-0003"
    assert_ok(add_static(cli, "st", token))
    with serving(cli, tmp_path / "first.log") as first:
        first.proc.kill()  # no clean-up: the socket file stays behind
        first.proc.wait(timeout=10)
    sock = paths.socket_path(cli.home)
    assert sock.exists()
    # Nobody accepts on it: the CLI notices at once and reads its own keyring.
    result = assert_ok(quiet(cli)("token", "st"))
    assert result.out == token + "\n" and result.err == ""
    assert client.hello(cli.home) is None
    with serving(cli, tmp_path / "second.log") as second:
        assert assert_ok(without_keyring(cli)("token", "st")).out == token + "\n"
        assert second.stop(signal.SIGINT) == 0


def test_one_app_per_vault_and_one_socket_per_vault(cli: Cli, tmp_path: Path) -> None:
    assert_ok(add_static(cli, "st", "vault-one-token-0004"))
    other = Cli(
        tmp_path / "other-vault", {**cli.env, "TOKEN_VAULT_HOME": str(tmp_path / "other-vault")}
    )
    assert_ok(add_static(other, "st", "vault-two-token-0005"))
    with serving(cli, tmp_path / "one.log") as one, serving(other, tmp_path / "two.log"):
        second = quiet(cli)("serve")
        assert second.code == 1
        assert f"already serves this vault (pid {one.proc.pid})" in second.err
        assert assert_ok(without_keyring(cli)("token", "st")).out == "vault-one-token-0004\n"
        assert assert_ok(without_keyring(other)("token", "st")).out == "vault-two-token-0005\n"
    assert paths.socket_path(cli.home) != paths.socket_path(other.home)


def test_bad_requests_get_a_refusal_and_the_server_goes_on(cli: Cli, tmp_path: Path) -> None:
    assert_ok(add_static(cli, "st", "bad-request-token-0006"))
    with serving(cli, tmp_path / "serve.log"):
        path = paths.socket_path(cli.home)
        # A client that connects and says nothing holds up nobody else.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as silent:
            silent.connect(str(path))
            for data, code in (
                (b"hello\n", "bad_request"),
                (b'{"v": 1, "op": "token"}\n', "bad_request"),
                (b'{"v": 7, "op": "list"}\n', "unsupported_version"),
                (b'{"v": 1, "op": "format_disk"}\n', "unknown_op"),
                (b'{"v": 1, "op": "list"}', "bad_request"),  # no newline before the end
                (b"x" * (protocol.MAX_REQUEST + 10), "too_large"),
                (b"[" * (4 * 1024 * 1024) + b"\n", "too_large"),
            ):
                reply = json.loads(_exchange_raw(path, data))
                assert reply["ok"] is False and reply["error"]["code"] == code, (data[:40], reply)
                assert reply["error"]["message"]
            assert assert_ok(without_keyring(cli)("token", "st")).out == "bad-request-token-0006\n"


def _nobody() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user 'nobody' to connect as")


@pytest.fixture
def short_run_dir() -> Iterator[Path]:
    """A runtime folder of the test's own with a short path (a socket path holds 107 bytes):
    changing its permissions touches no other test."""
    run = Path(tempfile.mkdtemp(prefix="tv-run-", dir="/tmp"))
    try:
        yield run
    finally:
        shutil.rmtree(run, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to another uid needs root")
def test_another_users_connection_is_refused(cli: Cli, tmp_path: Path, short_run_dir: Path) -> None:
    """Even with the folder opened up (the first line of defence gone), the peer's uid is
    checked on the connection itself."""
    nobody = _nobody()
    token = "other-user-token-0007"
    assert_ok(add_static(cli, "st", token))
    env = ("XDG_RUNTIME_DIR", str(short_run_dir))
    with serving(cli, tmp_path / "serve.log", env) as served:
        folder = short_run_dir / "token-vault"
        sock = next(folder.glob("*.sock"))
        for opened in (short_run_dir, folder):
            os.chmod(opened, 0o711)
        os.chmod(sock, 0o666)
        request = protocol.encode(
            {"v": 1, "op": "token", "name": "st", "min_valid": 0, "force": False}
        )
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: become nobody, then connect
            try:
                os.close(read)
                os.setgroups([])
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
                os.write(write, _exchange_raw(sock, request) or b"(nothing)")
            except BaseException as exc:
                os.write(write, f"child failed: {exc!r}".encode())
            finally:
                os._exit(0)
        os.close(write)
        with os.fdopen(read, "rb") as pipe:
            answer = pipe.read()
        os.waitpid(pid, 0)
        assert token.encode() not in answer
        reply = json.loads(answer)
        assert reply["ok"] is False and reply["error"]["code"] == "forbidden", reply
        assert served.stop() == 0
    assert f"refused a CLI socket connection from uid {nobody.pw_uid}" in served.log.read_text()


class _OddApp:
    """A server on the vault's socket path that answers as told: another protocol version,
    a hang-up, garbage, or nothing at all."""

    def __init__(self, home: Path, answer: bytes | None) -> None:
        self.path = paths.socket_path(home)
        paths.make_private(self.path.parent)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(self.path))
        self.sock.listen()
        self.answer = answer
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            conn.recv(65536)
            if self.answer is None:
                self.release.wait(30)
            else:
                conn.sendall(self.answer)

    def close(self) -> None:
        self.release.set()
        self.thread.join(timeout=30)
        self.sock.close()
        self.path.unlink()


@pytest.mark.parametrize(
    ("answer", "falls_back"),
    [
        (b'{"v": 2, "ok": true}\n', True),  # a newer app: use the direct path, say so
        (b"", True),  # hung up without an answer
        (b"garbage\n", False),  # an app that talks nonsense is an error, not a fallback
    ],
)
def test_an_odd_app_on_the_socket(cli: Cli, answer: bytes, falls_back: bool) -> None:
    assert_ok(add_static(cli, "st", "odd-app-token-0008"))
    odd = _OddApp(cli.home, answer)
    try:
        result = quiet(cli)("token", "st")
    finally:
        odd.close()
    if falls_back:
        assert assert_ok(result).out == "odd-app-token-0008\n"
        assert "not using it" in result.err or "another protocol version" in result.err
    else:
        assert_error(result, 1, contains="unreadable reply")


def test_an_app_that_takes_the_request_and_never_answers(cli: Cli) -> None:
    odd = _OddApp(cli.home, None)
    try:
        with pytest.raises(client.AppSilentError, match=r"did not answer within 0\.5 s"):
            client.exchange({"v": 1, "op": "list"}, cli.home, reply_timeout=0.5)
    finally:
        odd.close()


def test_a_folder_open_to_others_is_not_used(cli: Cli, short_run_dir: Path) -> None:
    assert_ok(add_static(cli, "st", "open-folder-token-0009"))
    local = quiet(Cli(cli.home, {**cli.env, "XDG_RUNTIME_DIR": str(short_run_dir)}))
    (short_run_dir / "token-vault").mkdir(mode=0o755)
    os.chmod(short_run_dir / "token-vault", 0o755)  # whatever the umask
    started = local("serve")
    assert started.code == 1
    assert "is open to other users (mode 0755, needs 0700)" in started.err
    result = local("token", "st")  # and the CLI does not trust it either
    assert result.out == "open-folder-token-0009\n"
    assert "not asking the running app" in result.err


def test_a_rejected_refresh_still_serves_the_unexpired_token_with_a_warning(
    cli: Cli, oauth: OAuth2Fake, tmp_path: Path
) -> None:
    """As the CLI's own path does: the server refused the refresh, but the token held has not
    expired; `token` prints it with one warning line (not for --force-refresh)."""
    # Issued 500 s before it arrived, 100 s left of 600: wanting 3000 s (or half its life,
    # as its server's tokens live less than that) needs a refresh.
    oauth.inject("/token", issued_ago(oauth, 500))
    _add_oauth(cli, oauth)
    blind = without_keyring(cli)
    with serving(cli, tmp_path / "serve.log"):
        before = assert_ok(blind("token", "cc")).out
        oauth.inject("/token", Fault.status(401, {"error": "invalid_client"}), times=2)
        result = assert_ok(blind("token", "cc", "--min-valid", "3000"))  # wants a refresh
        assert result.out == before
        warnings = [ln for ln in non_log_lines(result.err) if "warning" in ln]
        assert len(warnings) == 1 and "cc needs a new sign-in" in warnings[0]
        assert "this access token still works for" in warnings[0]
        # Marked "sign-in needed" now: every served token says so, until the user acts.
        again = assert_ok(blind("token", "cc"))
        assert again.out == before and "needs a new sign-in" in again.err


def test_names_from_the_app_are_escaped_like_the_clis_own(
    cli: Cli, oauth: OAuth2Fake, tmp_path: Path
) -> None:
    """A name a hand edit gave a terminal escape (the file's schema takes any text): the
    direct path escapes it, and `refresh` through the running app once wrote it raw (a
    window title and a colour change, from a file)."""
    _add_oauth(cli, oauth)
    path = cli.home / "accounts.json"
    data = json.loads(path.read_text())
    data["accounts"][0]["name"] = "cc\x1b]0;pwned\x07\x1b[31mRED"
    path.write_text(json.dumps(data))
    blind = without_keyring(cli)
    with serving(cli, tmp_path / "serve.log"):
        done = assert_ok(blind("refresh", "--all"))
        oauth.inject("/token", Fault.status(400, {"error": "invalid_client"}), times=None)
        failed = blind("refresh", "--all")
    assert done.out.startswith("cc\\x1b]0;pwned\\x07\\x1b[31mRED: refreshed")
    assert failed.code == 4
    for text in (done.out, done.err, failed.out, failed.err):
        assert "\x1b" not in text and "\x07" not in text


def test_a_busy_app_is_asked_again_not_passed_over(
    tmp_path: Path, short_run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beyond MAX_CONNECTIONS the server answers `busy`; the CLI must read that answer (it
    lost it when the server closed before reading its request) and ask again shortly, never
    go its own way meanwhile: that would be the second refresher and a keyring read."""
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(short_run_dir))
    monkeypatch.setattr(server_module, "MAX_CONNECTIONS", 2)
    monkeypatch.setattr(server_module, "READ_TIMEOUT", 2.0)  # frees the silent ones' slots
    home = tmp_path / "vault"

    async def hello(request: protocol.Request) -> dict[str, Any]:
        return {"app": "test"}

    with loop_thread() as thread:
        server = server_module.SocketServer(home, hello)
        thread.run(server.start())
        silent = []
        try:
            for _ in range(3):  # three exchanges waiting for a request: the next one is busy
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.connect(str(server.path))
                silent.append(sock)
            reply = client.exchange({"v": 1, "op": "hello"}, home, reply_timeout=30)
            assert reply is not None and reply["app"] == "test"
            assert server.busy >= 1
        finally:
            for sock in silent:
                sock.close()
            thread.run(server.stop())


@pytest.mark.parametrize("exit_code", [0, -3, 256, 1000, True, "4"])
def test_a_lying_app_cannot_make_a_failed_refresh_exit_0(cli: Cli, exit_code: object) -> None:
    """A failure the app reports per account exits as the direct path would, whatever its
    `exit` says: 0, negative or beyond 255 (256 exits 0 on POSIX) would hide it."""
    answer = {
        "v": 1,
        "ok": True,
        "results": [{"name": "cc", "ok": False, "message": "failed", "exit": exit_code}],
    }
    odd = _OddApp(cli.home, protocol.encode(answer))
    try:
        result = quiet(cli)("refresh", "cc")
    finally:
        odd.close()
    assert 1 <= result.code <= 125, (result.code, result.err)


def test_a_lying_app_cannot_write_escapes_to_the_terminal(cli: Cli) -> None:
    answer = {
        "v": 1,
        "ok": True,
        "results": [
            {"name": "a\x1b]0;owned\x07", "ok": False, "message": "\x1b[2J\rgone", "exit": 5},
            {"name": "b\x1b[31m", "ok": True, "expires_at": None},
        ],
    }
    odd = _OddApp(cli.home, protocol.encode(answer))
    try:
        result = quiet(cli)("refresh", "a", "b")
    finally:
        odd.close()
    assert result.code == 5
    for stream in (result.out, result.err):
        assert not any(c in stream for c in "\x1b\x07\r"), repr(stream)


def test_an_expired_token_from_the_app_is_never_printed(cli: Cli) -> None:
    """DESIGN.md section 5: `token` never exits 0 with an expired token, whoever served it."""
    answer = {
        "v": 1,
        "ok": True,
        "access_token": "expired-served-token-0010",
        "token_type": "Bearer",
        "expires_at": 1_000_000_000,  # 2001
        "header_name": "Authorization",
    }
    for args in (("token", "st"), ("token", "st", "--format", "json")):
        odd = _OddApp(cli.home, protocol.encode(answer))
        try:
            result = quiet(cli)(*args)
        finally:
            odd.close()
        assert result.code != 0 and "expired-served-token-0010" not in result.out, result
        assert "expired" in result.err


def test_an_app_passed_over_is_asked_again_later(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process that lives on (`token-vault proxy`) and once passed an app over (it was
    killed mid-request) uses the app started after it: passing over is remembered only
    for the moments one command asks twice, never for the life of the process."""
    gone = _OddApp(cli.home, b"")  # took the request, then hung up: killed mid-request
    try:
        assert client.exchange({"v": 1, "op": "hello"}, cli.home, quiet=True) is None
    finally:
        gone.close()
    monkeypatch.setattr(client, "PASS_OVER_SECONDS", 0.0)  # those moments are over
    back = _OddApp(cli.home, protocol.encode({"v": 1, "ok": True, "app": "restarted"}))
    try:
        reply = client.exchange({"v": 1, "op": "hello"}, cli.home, quiet=True)
    finally:
        back.close()
    assert reply is not None and reply["app"] == "restarted"
