"""The real OpenID Connect provider (node oidc-provider, tests/oidc/server.mjs) on 127.0.0.1,
its registered clients, and the scripted browser (browser.py) set as $BROWSER."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

HERE = Path(__file__).resolve().parent
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
GRANT_TYPES = ["authorization_code", "refresh_token", DEVICE_GRANT]
BASIC_SECRET = "basic-client-secret-0123456789abcdef"
POST_SECRET = "post-client-secret-0123456789abcdef"
INTROSPECTOR_SECRET = "introspector-secret-0123456789abcdef"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class OidcServer:
    issuer: str
    fixed_redirect: str  # the registered redirect of the "tv-fixed" client
    process: subprocess.Popen[str]

    def introspect(self, token: str) -> dict[str, Any]:
        """RFC 7662 introspection as a separate confidential client: is `token` alive?"""
        reply = httpx.post(
            self.issuer + "/token/introspection",
            data={"token": token},
            auth=("tv-introspector", INTROSPECTOR_SECRET),
            trust_env=False,
        )
        reply.raise_for_status()
        data: dict[str, Any] = reply.json()
        return data


def _clients(fixed_redirect: str) -> list[dict[str, Any]]:
    native = {
        "application_type": "native",
        "redirect_uris": ["http://127.0.0.1/"],
        "grant_types": GRANT_TYPES,
        "response_types": ["code"],
    }
    return [
        {"client_id": "tv-public", "token_endpoint_auth_method": "none", **native},
        {
            "client_id": "tv-basic",
            "client_secret": BASIC_SECRET,
            "token_endpoint_auth_method": "client_secret_basic",
            **native,
        },
        {
            "client_id": "tv-post",
            "client_secret": POST_SECRET,
            "token_endpoint_auth_method": "client_secret_post",
            **native,
        },
        {
            "client_id": "tv-fixed",
            "token_endpoint_auth_method": "none",
            **native,
            "application_type": "web",  # exact match: port and path as registered
            "redirect_uris": [fixed_redirect],
        },
        {
            "client_id": "tv-introspector",
            "client_secret": INTROSPECTOR_SECRET,
            "redirect_uris": ["https://introspector.example/cb"],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
        },
    ]


@pytest.fixture(scope="module")
def oidc() -> Iterator[OidcServer]:
    node = shutil.which("node")
    if node is None or not (HERE / "node_modules" / "oidc-provider").is_dir():
        if os.environ.get("TOKEN_VAULT_TEST_SESSION"):
            pytest.fail("node or tests/oidc/node_modules missing: scripts/test installs them")
        pytest.skip("needs node and 'npm ci' in tests/oidc (scripts/test does both)")
    fixed = f"http://127.0.0.1:{_free_port()}/callback"
    proc = subprocess.Popen(
        [node, str(HERE / "server.mjs"), json.dumps(_clients(fixed))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=HERE,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        pytest.fail("the OpenID Connect test server did not start")
    try:
        yield OidcServer(json.loads(line)["issuer"], fixed, proc)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()  # the server exits when its stdin closes
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@dataclass
class Browser:
    """The scripted browser's settings and what it recorded."""

    log: Path
    env: dict[str, str]

    def runs(self) -> list[str]:
        if not self.log.exists():
            return []
        return self.log.read_text().splitlines()


@pytest.fixture
def browser(tmp_path: Path) -> Browser:
    log = tmp_path / "browser.log"
    # webbrowser runs $BROWSER as one program name (no arguments): a small wrapper it is.
    program = tmp_path / "scripted-browser"
    program.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{HERE / "browser.py"}" "$@"\n')
    program.chmod(0o755)
    return Browser(log, {"BROWSER": str(program), "TV_BROWSER_LOG": str(log)})
