"""The CLI's side of the socket: ask the running app of this vault first, over one blocking
Unix socket (no event loop: `token-vault token` stays light).

Every call returns None when no app serves this vault, and the caller takes the direct path it
always had: no socket file, a stale one (the app was killed: nobody accepts), a runtime folder
that is not private to this user, a server of another user (its uid, read with SO_PEERCRED, is
not ours), an app that speaks another protocol version, or a system without Unix sockets
(Windows). A failure the app reports (no such account, sign-in needed, ...) raises the same
UserFacingError the direct path would; an app that accepted the request but does not answer
within `reply_timeout` seconds is an error too, since falling back then would make a second
refresher."""

from __future__ import annotations

import logging
import os
import socket
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vault_app.core import bounds
from vault_app.core.errors import UserFacingError
from vault_app.service import paths, protocol

log = logging.getLogger(__name__)

# A live app's kernel accepts at once; this only bounds a wedged accept queue.
CONNECT_TIMEOUT = 0.5
# Longer than the server's own deadline for a request (server.REQUEST_DEADLINE).
REPLY_TIMEOUT = 150.0
_RECV = 65536


class AppSilentError(UserFacingError):
    """The running app took the request but did not answer in time."""

    exit_code = 5


@dataclass(frozen=True)
class ServedToken:
    access_token: str
    token_type: str
    expires_at: float | None
    header_name: str


@dataclass(frozen=True)
class RefreshResult:
    name: str
    ok: bool
    expires_at: float | None = None
    message: str = ""
    exit_code: int = 0


def _home(home: Path | None) -> Path:
    if home is not None:
        return home
    from vault_app.core.account_store import default_home

    return default_home()


def peer_uid(sock: socket.socket) -> int | None:
    """The uid of the process at the other end (SO_PEERCRED), or None where unsupported."""
    option = getattr(socket, "SO_PEERCRED", None)
    if option is None:
        return None
    raw = sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", raw)
    return int(uid)


def exchange(
    request: dict[str, Any], home: Path | None = None, *, reply_timeout: float = REPLY_TIMEOUT
) -> dict[str, Any] | None:
    """Send `request` (protocol.py) to this vault's app and return its successful reply; None
    when no app serves the vault; the reported failure's UserFacingError otherwise."""
    if sys.platform == "win32" or not hasattr(socket, "AF_UNIX"):
        return None
    path = paths.socket_path(_home(home))
    try:
        paths.check_private(path.parent)
    except FileNotFoundError:
        return None
    except (OSError, paths.UnsafeFolderError) as exc:
        log.warning("not asking the running app: %s", exc)
        return None
    if len(os.fsencode(path)) > paths.MAX_SOCKET_PATH:
        return None
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(CONNECT_TIMEOUT)
        try:
            sock.connect(os.fspath(path))
        except (FileNotFoundError, ConnectionRefusedError, TimeoutError):
            return None  # none there, or a stale socket of an app that was killed
        except OSError as exc:
            log.debug("cannot reach the running app: %s", exc)
            return None
        uid = peer_uid(sock)
        if uid is not None and uid != os.getuid():
            log.warning("not asking the running app: its socket is served by uid %d", uid)
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
            log.warning("the running app dropped the connection (%s); not using it", exc)
            return None
    if line is None:
        log.warning("the running app closed the connection without an answer; not using it")
        return None
    try:
        return protocol.parse_reply(line)
    except protocol.ProtocolError as exc:
        if exc.code == "unsupported_version":
            log.warning("the running app speaks another protocol version; restart it")
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


def token(name: str, min_valid: float, force: bool, home: Path | None = None) -> ServedToken | None:
    """A token valid for `min_valid` seconds from the running app, or None: no app."""
    reply = exchange(
        {
            "v": protocol.VERSION,
            "op": "token",
            "name": name,
            "min_valid": min_valid,
            "force": force,
        },
        home,
    )
    if reply is None:
        return None
    access = _text(reply, "access_token", protocol.MAX_REPLY)
    token_type = _text(reply, "token_type", 200)
    header = _text(reply, "header_name", 200)
    # Whatever goes on to a header line must not carry a line break or another control.
    if not access or any(not c.isprintable() or c == " " for c in access):
        raise _bad("access_token")
    if any(not c.isprintable() for c in token_type + header) or not header:
        raise _bad("token_type")
    expires = reply.get("expires_at")
    expires_at = None if expires is None else bounds.number(expires)
    if expires is not None and expires_at is None:
        raise _bad("expires_at")
    return ServedToken(access, token_type, expires_at, header)


def accounts(home: Path | None = None) -> list[dict[str, Any]] | None:
    """Every account's metadata (accounts.json's shape) from the running app, or None."""
    reply = exchange({"v": protocol.VERSION, "op": "list"}, home)
    if reply is None:
        return None
    items = reply.get("accounts")
    if not isinstance(items, list) or not all(isinstance(a, dict) for a in items):
        raise _bad("accounts")
    return items


def refresh(
    names: list[str], everything: bool, home: Path | None = None
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
            message = _text(item, "message", protocol.MAX_MESSAGE)
            results.append(RefreshResult(name, False, None, message, exit_code))
    return results


def hello(home: Path | None = None) -> dict[str, Any] | None:
    """Which app serves this vault (`app`, `pid`, `version`), or None."""
    return exchange({"v": protocol.VERSION, "op": "hello"}, home, reply_timeout=5.0)
