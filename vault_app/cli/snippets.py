"""Token formats for other programs: a POSIX shell `export` line (`token --format env`) and a
curl config line (`token --format curl`, read with `curl -K -`)."""

from __future__ import annotations

import shlex

from vault_app.core.errors import UserFacingError


def shell_export(variable: str, value: str) -> str:
    """`export VARIABLE=VALUE`, the value quoted for any POSIX shell (shlex.quote)."""
    return f"export {variable}={shlex.quote(value)}"


def curl_header(line: str) -> str:
    """`header = "LINE"` for a curl config file (curl(1), -K/--config: within double quotes
    `\\\\` and `\\"` are escapes). A header line never holds a control character (RFC 9110
    section 5.5), so one here is refused rather than escaped."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in line):
        raise UserFacingError("the token holds a control character and cannot go into a header")
    return 'header = "' + line.replace("\\", "\\\\").replace('"', '\\"') + '"'
