"""The CLI socket's wire format, version 1.

One exchange per connection: the client sends one request line, the server answers with one
reply line and closes. A line is one JSON object in UTF-8 (RFC 8259) with no newline inside,
ended by "\\n". A request is at most MAX_REQUEST bytes, newline included; a reply at most
MAX_REPLY. Fields not listed here are refused, so a mistake is never silently ignored.

Requests, each with `"v": 1`:

    {"v": 1, "op": "hello"}
    {"v": 1, "op": "token", "name": NAME, "min_valid": SECONDS, "force": BOOL}
    {"v": 1, "op": "list"}
    {"v": 1, "op": "refresh", "names": [NAME, ...]}     or  {"v": 1, "op": "refresh", "all": true}

Replies:

    {"v": 1, "ok": true, ...}    hello:   "app" ("window" or "headless"), "pid", "version"
                                 token:   "access_token", "token_type", "expires_at" (POSIX
                                          seconds, UTC, or null when unknown), "header_name",
                                          and "warning" (one line) when there is one
                                 list:    "accounts": [account metadata as in accounts.json]
                                 refresh: "results": [{"name", "ok": true, "expires_at"} or
                                          {"name", "ok": false, "message", "exit"}]
    {"v": 1, "ok": false, "error": {"code": CODE, "message": ONE_LINE, "exit": N}}

`exit` is the CLI exit code the failure maps to (DESIGN.md section 6). Codes: `bad_request`,
`too_large`, `unsupported_version`, `unknown_op`, `forbidden` (a peer of another user),
`busy`, `timeout`, and for failures of the operation itself `usage`, `no_such_account`,
`rejected`, `network`, `keyring`, `vault_file`, `failed`.

Imported by `token-vault token` before anything heavy: json and the error classes only (no
typing, dataclasses or logging)."""

from __future__ import annotations

import json

from vault_app.core import bounds
from vault_app.core.errors import (
    KeyringUnavailableError,
    NoSuchAccountError,
    RejectedError,
    TransientError,
    UsageError,
    UserFacingError,
    VaultFileError,
)

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

VERSION = 1
MAX_REQUEST = 64 * 1024
MAX_REPLY = 32 * 1024 * 1024  # `list` of many thousand accounts fits
MAX_NAME = 200
MAX_NAMES = 10_000
MAX_MESSAGE = 1000


class AppBusyError(TransientError):
    """The app had no room for one more connection (`busy`): ask again shortly."""


class ProtocolError(Exception):
    """A request or reply that breaks the format; `code` is the reply's error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _Message:
    """A request: compared by kind and fields (no dataclasses: `token` imports this early)."""

    __slots__: tuple[str, ...] = ()

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and all(
            getattr(self, name) == getattr(other, name) for name in self.__slots__
        )

    def __hash__(self) -> int:
        return hash((type(self), *(getattr(self, name) for name in self.__slots__)))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"


class Hello(_Message):
    __slots__ = ()


class TokenRequest(_Message):
    __slots__ = ("force", "min_valid", "name")

    def __init__(self, name: str, min_valid: float, force: bool) -> None:
        self.name = name
        self.min_valid = min_valid  # seconds, 0 <= min_valid <= bounds.HORIZON
        self.force = force


class ListRequest(_Message):
    __slots__ = ()


class RefreshRequest(_Message):
    __slots__ = ("everything", "names")

    def __init__(self, names: tuple[str, ...], everything: bool) -> None:
        self.names = names  # empty when `everything`
        self.everything = everything


Request = Hello | TokenRequest | ListRequest | RefreshRequest

_FIELDS: dict[str, tuple[set[str], set[str]]] = {  # op: (required, optional) beyond v and op
    "hello": (set(), set()),
    "token": ({"name", "min_valid", "force"}, set()),
    "list": (set(), set()),
    "refresh": (set(), {"names", "all"}),
}


def encode(message: Mapping[str, Any]) -> bytes:
    """One line: compact JSON, ASCII only (so no raw newline or invalid UTF-8 can appear)."""
    return (
        json.dumps(message, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode(
            "ascii"
        )
        + b"\n"
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _object(line: bytes, limit: int, what: str) -> dict[str, Any]:
    """The JSON object on `line` (its trailing newline optional); ProtocolError otherwise."""
    if len(line) > limit:
        raise ProtocolError("too_large", f"{what} is larger than {limit} bytes")
    if line.endswith(b"\n"):
        line = line[:-1]
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("bad_request", f"{what} is not UTF-8") from None
    if "\n" in text:
        raise ProtocolError("bad_request", f"{what} spans more than one line")
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ProtocolError("bad_request", f"{what} is not valid JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError("bad_request", f"{what} is not a JSON object")
    version = data.get("v")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ProtocolError("bad_request", f'{what} has no protocol version ("v")')
    if version != VERSION:
        raise ProtocolError(
            "unsupported_version",
            f"protocol version {version} is not supported (this side speaks {VERSION})",
        )
    return data


def _name(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ProtocolError("bad_request", f'"{field}" must be a non-empty string')
    if len(value) > MAX_NAME or not value.isprintable():
        raise ProtocolError("bad_request", f'"{field}" is not an account name')
    return value


def parse_request(line: bytes) -> Request:
    """A request from its line (trailing newline optional); ProtocolError saying what is
    wrong with it. The source of the format is this module's docstring."""
    data = _object(line, MAX_REQUEST, "the request")
    op = data.get("op")
    if not isinstance(op, str):
        raise ProtocolError("bad_request", 'the request has no "op"')
    if op not in _FIELDS:
        shown = op if len(op) <= 40 and op.isprintable() else op[:40].encode().hex()
        raise ProtocolError("unknown_op", f"unknown operation {shown!r}")
    required, optional = _FIELDS[op]
    given = set(data) - {"v", "op"}
    if required - given:
        raise ProtocolError("bad_request", f"{op}: missing {', '.join(sorted(required - given))}")
    if given - required - optional:
        extra = ", ".join(sorted(given - required - optional))[:200]
        raise ProtocolError("bad_request", f"{op}: unknown fields {extra}")
    if op == "hello":
        return Hello()
    if op == "list":
        return ListRequest()
    if op == "token":
        min_valid = bounds.number(data["min_valid"])
        if min_valid is None or min_valid < 0 or min_valid > bounds.HORIZON:
            raise ProtocolError(
                "bad_request", '"min_valid" must be a number of seconds from 0 to 10 years'
            )
        if not isinstance(data["force"], bool):
            raise ProtocolError("bad_request", '"force" must be true or false')
        return TokenRequest(_name(data["name"], "name"), min_valid, data["force"])
    everything = data.get("all", False)
    if everything is not False and everything is not True:
        raise ProtocolError("bad_request", '"all" must be true or false')
    names = data.get("names", [])
    if not isinstance(names, list) or len(names) > MAX_NAMES:
        raise ProtocolError("bad_request", '"names" must be a list of account names')
    if everything == bool(names):
        raise ProtocolError("bad_request", 'refresh takes "names" or "all", one of them')
    return RefreshRequest(tuple(_name(n, "names") for n in names), everything)


def ok(**result: Any) -> dict[str, Any]:
    return {"v": VERSION, "ok": True, **result}


def error(code: str, message: str, exit_code: int = 1) -> dict[str, Any]:
    one_line = " ".join(message.split())[:MAX_MESSAGE]
    return {
        "v": VERSION,
        "ok": False,
        "error": {"code": code, "message": one_line, "exit": exit_code},
    }


# A failure's class, its code on the wire, and back: the CLI exits as if it had failed itself.
_CODES: tuple[tuple[type[UserFacingError], str], ...] = (
    (UsageError, "usage"),
    (NoSuchAccountError, "no_such_account"),
    (RejectedError, "rejected"),
    (TransientError, "network"),
    (KeyringUnavailableError, "keyring"),
    (VaultFileError, "vault_file"),
)
_BY_EXIT: dict[int, type[UserFacingError]] = {
    2: UsageError,
    3: NoSuchAccountError,
    4: RejectedError,
    5: TransientError,
    6: KeyringUnavailableError,
}


def error_from(exc: UserFacingError, message: str) -> dict[str, Any]:
    """The error reply for a failed operation (`message`: its text, secrets masked)."""
    code = next((c for cls, c in _CODES if isinstance(exc, cls)), "failed")
    return error(code, message, exc.exit_code)


def failure(message: str, exit_code: int) -> UserFacingError:
    """The exception the CLI raises for a failure the app reported with this exit code."""
    cls = _BY_EXIT.get(exit_code, UserFacingError)
    made = cls(message)
    if cls is UserFacingError and exit_code != made.exit_code:
        made.exit_code = exit_code
    return made


def parse_reply(line: bytes) -> dict[str, Any]:
    """A reply's object. A success is returned as it is; a failure raises the UserFacingError
    of its exit code, AppBusyError for `busy` (a reply that breaks the format raises
    ProtocolError)."""
    data = _object(line, MAX_REPLY, "the reply")
    if data.get("ok") is True:
        return data
    if data.get("ok") is not False:
        raise ProtocolError("bad_request", 'the reply has no "ok"')
    problem = data.get("error")
    if not isinstance(problem, dict):
        raise ProtocolError("bad_request", "the reply's error is not an object")
    message, exit_code = problem.get("message"), problem.get("exit")
    if not isinstance(message, str) or isinstance(exit_code, bool):
        raise ProtocolError("bad_request", "the reply's error has no message")
    if not isinstance(exit_code, int) or not 1 <= exit_code <= 125:
        exit_code = 1
    text = "".join(c if c.isprintable() else " " for c in message[:MAX_MESSAGE])
    if problem.get("code") == "busy":
        raise AppBusyError(text or "the running app is busy")
    raise failure(text or "the running app reported a failure", exit_code)
