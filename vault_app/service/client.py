"""The CLI's side of the socket: ask the running app of this vault first, over one blocking
Unix socket (no event loop, no typing, dataclasses or logging at import: `token-vault token`
asks before anything else is loaded).

Every call returns None when no app serves this vault, and the caller takes the direct path it
always had: no socket file, a stale one (the app was killed: nobody accepts), a runtime folder
that is not private to this user, a server of another user (its uid, read with SO_PEERCRED, is
not ours), an app that speaks another protocol version, or a system without Unix sockets
(Windows). A failure the app reports (no such account, sign-in needed, ...) raises the same
UserFacingError the direct path would; an app that accepted the request but does not answer
within `reply_timeout` seconds is an error too, since falling back then would make a second
refresher; for the same reason an app too busy for one more connection is asked again.
With `quiet`, the reasons for not asking are not logged (the caller will ask again through a
path that logs them)."""

from __future__ import annotations

import os
import socket
import struct
import sys

from vault_app.core import bounds, token_formats
from vault_app.core.errors import MisconfiguredError, TransientError, UserFacingError
from vault_app.service import paths, protocol

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from typing import Any

# A live app's kernel accepts at once; this only bounds a wedged accept queue.
CONNECT_TIMEOUT = 0.5
# Longer than the server's own deadline for a request (server.REQUEST_DEADLINE).
REPLY_TIMEOUT = 150.0
# Seconds before asking a busy app again, doubling up to BUSY_PAUSE_MAX.
BUSY_PAUSE = 0.02
BUSY_PAUSE_MAX = 0.5
_RECV = 65536


class AppSilentError(UserFacingError):
    """The running app took the request but did not answer in time."""

    exit_code = 5


class ServedToken:
    """A token as the running app served it (the fields `token --format` needs)."""

    __slots__ = ("access_token", "expires_at", "header_name", "token_type", "warning")

    def __init__(
        self,
        access_token: str,
        token_type: str,
        expires_at: float | None,
        header_name: str,
        warning: str | None = None,
    ) -> None:
        self.access_token = access_token
        self.token_type = token_type
        self.expires_at = expires_at  # POSIX seconds, UTC; None: unknown
        self.header_name = header_name
        self.warning = warning  # one line for stderr (the account needs a new sign-in)

    def __repr__(self) -> str:
        return f"ServedToken(token_type={self.token_type!r}, expires_at={self.expires_at!r})"


class RefreshResult:
    """One account's outcome of a `refresh` the app did."""

    __slots__ = ("exit_code", "expires_at", "message", "name", "ok")

    def __init__(
        self,
        name: str,
        ok: bool,
        expires_at: float | None = None,
        message: str = "",
        exit_code: int = 0,
    ) -> None:
        self.name = name
        self.ok = ok
        self.expires_at = expires_at
        self.message = message
        self.exit_code = exit_code


# Socket path -> why this process does not use the app there, and since when (monotonic):
# for PASS_OVER_SECONDS, so `token`'s early question and the CLI's own do not both connect
# (and both time out); not longer, so a process that lives on (`token-vault proxy`) uses an
# app started after the one it passed over (say, killed mid-request).
_passed_over: dict[str, tuple[str, float]] = {}
PASS_OVER_SECONDS = 10.0


def _warn(message: str, quiet: bool) -> None:
    if not quiet:
        import logging

        logging.getLogger(__name__).warning("%s", message)


def _pass_over(path: str, message: str, quiet: bool) -> None:
    import time

    _passed_over[path] = (message, time.monotonic())
    _warn(message, quiet)


def _still_passed_over(path: str) -> str | None:
    """Why the app on `path` was passed over moments ago, or None."""
    import time

    found = _passed_over.get(path)
    if found is None:
        return None
    if time.monotonic() - found[1] >= PASS_OVER_SECONDS:
        del _passed_over[path]
        return None
    return found[0]


def peer_uid(sock: socket.socket) -> int | None:
    """The uid of the process at the other end (SO_PEERCRED), or None where unsupported."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    raw = sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", raw)
    return int(uid)


def exchange(
    request: dict[str, Any],
    home: str | os.PathLike[str] | None = None,
    *,
    reply_timeout: float = REPLY_TIMEOUT,
    quiet: bool = False,
) -> dict[str, Any] | None:
    """Send `request` (protocol.py) to this vault's app and return its successful reply; None
    when no app serves the vault; the reported failure's UserFacingError otherwise. An app
    that answers `busy` is asked again until `reply_timeout` seconds have passed."""
    if sys.platform == "win32" or not hasattr(socket, "AF_UNIX"):
        return None
    path = paths.socket_file(paths.default_home() if home is None else home)
    passed = _still_passed_over(path)
    if passed is not None:
        _warn(passed, quiet)
        return None
    try:
        paths.check_private(os.path.dirname(path))
    except FileNotFoundError:
        return None
    except (OSError, paths.UnsafeFolderError) as exc:
        _pass_over(path, f"not asking the running app: {exc}", quiet)
        return None
    if len(os.fsencode(path)) > paths.MAX_SOCKET_PATH:
        return None
    import time

    deadline = time.monotonic() + reply_timeout
    pause = BUSY_PAUSE
    while True:
        try:
            return _ask(path, request, reply_timeout, quiet)
        except protocol.AppBusyError:
            # Too many callers at once (a parallel build): the app serves them in turn. Going
            # our own way meanwhile would make a second refresher.
            left = deadline - time.monotonic()
            if left <= 0:
                raise
            jitter = 0.5 + os.urandom(1)[0] / 510  # 0.5 to 1: callers spread out
            time.sleep(min(pause * jitter, left))
            pause = min(pause * 2, BUSY_PAUSE_MAX)


def _ask(
    path: str, request: dict[str, Any], reply_timeout: float, quiet: bool
) -> dict[str, Any] | None:
    """One exchange with the app on `path`, as exchange() answers."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(CONNECT_TIMEOUT)
        try:
            sock.connect(path)
        except OSError:
            return None  # none there, or a stale socket of an app that was killed
        uid = peer_uid(sock)
        if uid is not None and uid != os.getuid():
            _pass_over(
                path, f"not asking the running app: its socket is served by uid {uid}", quiet
            )
            return None
        sock.settimeout(reply_timeout)
        try:
            sock.sendall(protocol.encode(request))
            line = _read_line(sock)
        except TimeoutError:
            raise AppSilentError(
                f"the running Token Vault app did not answer within {reply_timeout:g} s"
            ) from None
        except OSError as exc:
            _pass_over(path, f"the running app dropped the connection ({exc}); not using it", quiet)
            return None
    if line is None:
        _pass_over(
            path, "the running app closed the connection without an answer; not using it", quiet
        )
        return None
    try:
        return protocol.parse_reply(line)
    except protocol.ProtocolError as exc:
        if exc.code == "unsupported_version":
            _pass_over(path, "the running app speaks another protocol version; restart it", quiet)
            return None
        raise UserFacingError(
            f"the running Token Vault app sent an unreadable reply: {exc}"
        ) from None


def _read_line(sock: socket.socket) -> bytes | None:
    """One reply line (with its newline), or None at end of stream before it."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = sock.recv(_RECV)
        if not chunk:
            return None
        chunks.append(chunk)
        size += len(chunk)
        if b"\n" in chunk:
            return b"".join(chunks)
        if size > protocol.MAX_REPLY:
            raise UserFacingError(
                f"the running Token Vault app sent more than {protocol.MAX_REPLY} bytes"
            )


def _bad(what: str) -> UserFacingError:
    return UserFacingError(f"the running Token Vault app sent an unusable reply ({what})")


def _text(data: dict[str, Any], key: str, limit: int) -> str:
    value = data.get(key)
    if not isinstance(value, str) or len(value) > limit:
        raise _bad(key)
    return value


def _control(text: str) -> bool:
    return any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in text)


def token(
    name: str,
    min_valid: float,
    force: bool,
    home: str | os.PathLike[str] | None = None,
    *,
    quiet: bool = False,
) -> ServedToken | None:
    """A token valid for `min_valid` seconds from the running app, or None: no app. The token,
    its type and header name are checked as `token` checks what it prints: a control
    character (a CR LF would add a header line) or an invalid header name is refused (exit 5),
    and so is a token already expired (TransientError)."""
    reply = exchange(
        {
            "v": protocol.VERSION,
            "op": "token",
            "name": name,
            "min_valid": min_valid,
            "force": force,
        },
        home,
        quiet=quiet,
    )
    if reply is None:
        return None
    access = _text(reply, "access_token", protocol.MAX_REPLY)
    token_type = _text(reply, "token_type", 200)
    header = _text(reply, "header_name", 200)
    if not access or _control(access) or " " in access or _control(token_type):
        raise MisconfiguredError(
            "the running app holds a token with a control character or a space; refusing to "
            "print it, as it could add a header line or a terminal escape; refresh the account"
        )
    if not token_formats.is_field_name(header):
        raise MisconfiguredError(
            "the account's header name is not a valid HTTP field name; change it with: "
            "token-vault edit NAME --set header_name=..."
        )
    expires = reply.get("expires_at")
    expires_at = None if expires is None else bounds.number(expires)
    if expires is not None and expires_at is None:
        raise _bad("expires_at")
    import time

    if expires_at is not None and expires_at <= time.time():
        # DESIGN.md section 5: `token` never exits 0 with an expired token, whoever holds it.
        raise TransientError(
            "the running Token Vault app served an expired token; refresh the account "
            "(token-vault refresh NAME) or restart the app"
        )
    warning = reply.get("warning")
    if warning is not None:
        if not isinstance(warning, str):
            raise _bad("warning")
        warning = "".join(c if c.isprintable() else " " for c in warning[: protocol.MAX_MESSAGE])
    return ServedToken(access, token_type, expires_at, header, warning)


def accounts(home: str | os.PathLike[str] | None = None) -> list[dict[str, Any]] | None:
    """Every account's metadata (accounts.json's shape) from the running app, or None."""
    reply = exchange({"v": protocol.VERSION, "op": "list"}, home)
    if reply is None:
        return None
    items = reply.get("accounts")
    if not isinstance(items, list) or not all(isinstance(a, dict) for a in items):
        raise _bad("accounts")
    return items


def refresh(
    names: list[str], everything: bool, home: str | os.PathLike[str] | None = None
) -> list[RefreshResult] | None:
    """Refresh through the running app's engine; each account's outcome, or None: no app."""
    request: dict[str, Any] = {"v": protocol.VERSION, "op": "refresh"}
    if everything:
        request["all"] = True
    else:
        request["names"] = names
    reply = exchange(request, home)
    if reply is None:
        return None
    items = reply.get("results")
    if not isinstance(items, list):
        raise _bad("results")
    results = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("ok"), bool):
            raise _bad("results")
        name = _text(item, "name", protocol.MAX_NAME)
        if item["ok"]:
            expires = item.get("expires_at")
            value = None if expires is None else bounds.number(expires)
            results.append(RefreshResult(name, True, value))
        else:
            exit_code = item.get("exit")
            if isinstance(exit_code, bool) or not isinstance(exit_code, int):
                raise _bad("exit")
            if not 1 <= exit_code <= 125:  # as parse_reply: a failure never exits 0 (or 256)
                exit_code = 1
            message = _text(item, "message", protocol.MAX_MESSAGE)
            results.append(RefreshResult(name, False, None, message, exit_code))
    return results


def hello(home: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """Which app serves this vault (`app`, `pid`, `version`), or None."""
    return exchange({"v": protocol.VERSION, "op": "hello"}, home, reply_timeout=5.0)
