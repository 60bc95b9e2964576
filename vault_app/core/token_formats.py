"""How a token is written out for other programs (`token --format`): the bare token, `Scheme
token`, a header line, a POSIX shell `export` line and a curl config line. Plain functions with
no imports beyond the standard library's shlex: `token-vault token` uses them before the CLI
is loaded."""

from __future__ import annotations

from vault_app.core.errors import UserFacingError

# RFC 9110 section 5.6.2: the characters of a token, which a field (header) name is.
_TCHAR = frozenset("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def is_field_name(name: str) -> bool:
    """Whether `name` can be an HTTP header's name (RFC 9110 section 5.1: a token)."""
    return bool(name) and set(name) <= _TCHAR


# What render() writes; `json` is the CLI's own (it carries the expiry as ISO 8601).
FORMATS = ("raw", "bearer", "header", "env", "curl")


def header_value(access_token: str, token_type: str | None) -> str:
    """`Scheme token`, or the bare token when the scheme is empty (a static key)."""
    return f"{token_type} {access_token}" if token_type else access_token


def shell_export(variable: str, value: str) -> str:
    """`export VARIABLE=VALUE`, the value quoted for any POSIX shell (shlex.quote)."""
    import shlex

    return f"export {variable}={shlex.quote(value)}"


def curl_header(line: str) -> str:
    """`header = "LINE"` for a curl config file (curl(1), -K/--config: within double quotes
    `\\\\` and `\\"` are escapes). A header line never holds a control character (RFC 9110
    section 5.5), so one here is refused rather than escaped."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in line):
        raise UserFacingError("the token holds a control character and cannot go into a header")
    return 'header = "' + line.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(
    access_token: str,
    token_type: str | None,
    header_name: str | None,
    fmt: str,
    variable: str = "ACCESS_TOKEN",
) -> str:
    """The token in one of FORMATS (ValueError for another). `header_name` defaults to
    Authorization; `variable` is what `env` exports."""
    header = f"{header_name or 'Authorization'}: {header_value(access_token, token_type)}"
    if fmt == "raw":
        return access_token
    if fmt == "bearer":
        return header_value(access_token, token_type)
    if fmt == "header":
        return header
    if fmt == "env":
        return shell_export(variable, access_token)
    if fmt == "curl":
        return curl_header(header)
    raise ValueError(f"unknown token format {fmt!r}")
