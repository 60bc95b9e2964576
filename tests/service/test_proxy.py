"""The local proxy (issue 13, "The local proxy"), against a loopback upstream that echoes what
it received. Tokens come from a real VaultService over a real Vault on the Secret Service, with
an OAuth2 account whose refreshes the loopback fake counts."""

from __future__ import annotations

import ipaddress
import json
import logging
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.cli.support import add_static, assert_error, assert_ok, quiet
from tests.conftest import REPO, Cli
from tests.fakes.echo import EchoUpstream, download_digest
from tests.fakes.oauth2 import OAuth2Fake
from tests.fakes.server import Fault
from tests.service.support import LoopThread, loop_thread, serving, without_keyring
from vault_app.core.engine import Refresher
from vault_app.core.errors import UsageError
from vault_app.core.model import Account
from vault_app.core.proxy_env import is_loopback_host
from vault_app.core.vault import Vault
from vault_app.service import proxy as proxy_module
from vault_app.service.proxy import (
    KEY_HEADER,
    LocalProxy,
    _dot_segments,
    _environment_proxy,
    _loopback_host,
    parse_listen,
    parse_upstream,
)
from vault_app.service.vault_service import VaultService

MiB = 1024 * 1024


@dataclass
class Rig:
    thread: LoopThread
    vault: Vault
    service: VaultService
    proxy: LocalProxy
    upstream: EchoUpstream
    oauth: OAuth2Fake
    account: Account

    @property
    def key(self) -> str:
        return self.proxy.config.key

    def token(self) -> str:
        return self.thread.run(self.service.token("api", min_valid=0))[1].access_token

    def refreshes(self) -> int:
        return len(self.oauth.requests_to("/token"))

    def request(
        self,
        method: str,
        path: str,
        *,
        proxy: LocalProxy | None = None,
        key: bool = True,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        sent = {KEY_HEADER: self.key} if key else {}
        sent.update(headers or {})
        address = (proxy or self.proxy).address
        with httpx.Client(timeout=30, trust_env=False) as client:
            return client.request(method, address + path, headers=sent, content=content)


@pytest.fixture
def rig(vault_home: Path, secret_service: None) -> Iterator[Rig]:
    with (
        OAuth2Fake(access_lifetime=3600) as oauth,
        EchoUpstream() as upstream,
        loop_thread() as thread,
    ):
        oauth.add_client("proxy-client", "proxy-secret-0001")

        async def start() -> Rig:
            vault = Vault(vault_home)
            account, failure = await vault.add(
                "api",
                "oauth2",
                {"token_url": oauth.token_url, "client_id": "proxy-client"},
                {"client_secret": "proxy-secret-0001"},
            )
            assert failure is None
            service = VaultService(vault, Refresher(vault), app="test")
            proxy = await service.start_proxy(account, upstream.url + "/base/")
            return Rig(thread, vault, service, proxy, upstream, oauth, account)

        rig = thread.run(start())
        try:
            yield rig
        finally:

            async def stop() -> None:
                await rig.service.stop()
                await rig.service.engine.stop()
                await rig.vault.aclose()

            thread.run(stop())


def _raw(address: str, data: bytes) -> bytes:
    """Send bytes as they are to the proxy; everything it answers until it closes."""
    host, port = address.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        return b"".join(iter(lambda: sock.recv(65536), b""))


def test_the_accounts_header_goes_in_and_the_key_never_goes_out(rig: Rig) -> None:
    response = rig.request(
        "GET",
        "/items/7?fields=a,b",
        headers={"Authorization": "Bearer the-clients-own", "X-Custom": "kept"},
    )
    assert response.status_code == 200
    echo = response.json()
    seen = rig.upstream.seen[-1]
    assert echo["target"] == "/base/items/7?fields=a,b"
    assert seen.all("Authorization") == [f"Bearer {rig.token()}"]
    assert seen.all(KEY_HEADER) == []
    assert rig.key not in json.dumps(seen.headers)
    assert seen.header("X-Custom") == "kept"
    assert seen.header("Host") == rig.upstream.url.removeprefix("http://")
    # Two requests on one kept-alive connection, and a HEAD.
    with httpx.Client(timeout=30, trust_env=False, headers={KEY_HEADER: rig.key}) as client:
        assert client.get(rig.proxy.address + "/a").status_code == 200
        assert client.head(rig.proxy.address + "/b").status_code == 200
    # A transparent hop: nothing the client did not send (no Accept-Encoding, so the body
    # comes back as the upstream sent it); hop-by-hop headers stay on their hop.
    port = rig.proxy.port
    raw = _raw(
        rig.proxy.address,
        f"GET /plain HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{KEY_HEADER}: {rig.key}\r\n"
        "Connection: close, X-Hop\r\nX-Hop: 1\r\nTE: trailers\r\n\r\n".encode(),
    )
    assert raw.startswith(b"HTTP/1.1 200 ")
    names = {name.lower() for name, _ in rig.upstream.seen[-1].headers}
    assert names.isdisjoint({"accept-encoding", "accept", "user-agent", "x-hop", "te"})
    assert "authorization" in names


@pytest.mark.parametrize(
    ("headers", "key", "status", "words"),
    [
        ({}, False, 403, "missing or wrong X-Token-Vault-Key"),
        ({KEY_HEADER: "guessed"}, False, 403, "missing or wrong"),
        ({"Origin": "https://evil.example"}, True, 403, "Origin"),
        ({"Origin": "null"}, True, 403, "Origin"),
        ({"Host": "evil.example"}, True, 403, "Host is not a loopback"),
        ({"Host": "127.0.0.1.evil.example:80"}, True, 403, "Host is not a loopback"),
        ({"Host": "localhost.evil.example:8080"}, True, 403, "Host is not a loopback"),
    ],
)
def test_refused_requests_never_reach_the_upstream(
    rig: Rig, headers: dict[str, str], key: bool, status: int, words: str
) -> None:
    response = rig.request("GET", "/x", key=key, headers=headers)
    assert response.status_code == status
    assert words in response.text
    assert "access-control-allow-origin" not in response.headers
    assert rig.upstream.seen == []


def test_preflights_absolute_targets_and_duplicate_keys_are_refused(rig: Rig) -> None:
    host = f"Host: 127.0.0.1:{rig.proxy.port}\r\n"
    key = f"{KEY_HEADER}: {rig.key}\r\n"
    for request, status in (
        # A CORS preflight: refused whatever else it carries.
        (f"OPTIONS /x HTTP/1.1\r\n{host}{key}Access-Control-Request-Method: GET\r\n\r\n", 403),
        (f"GET /x HTTP/1.1\r\n{host}{key}{key}\r\n", 403),
        (f"GET http://evil.example/x HTTP/1.1\r\n{host}{key}\r\n", 400),
        (f"CONNECT evil.example:443 HTTP/1.1\r\n{host}{key}\r\n", 400),
        ("GET /x HTTP/1.0\r\n" + key + "\r\n", 403),  # no Host at all
        ("NOT HTTP\r\n\r\n", 400),
    ):
        answer = _raw(rig.proxy.address, request.encode())
        assert answer.startswith(f"HTTP/1.1 {status} ".encode()), (request, answer[:200])
    assert rig.upstream.seen == []


@pytest.mark.parametrize(
    ("target", "words"),
    [
        # Dot segments, in any spelling an upstream may decode, would climb out of the
        # upstream's base path (httpx itself resolves "/base/../admin" to "/admin").
        ("/../admin", "dot segment"),
        ("/a/../../admin", "dot segment"),
        ("/..", "dot segment"),
        ("/./x", "dot segment"),
        ("/%2e%2e/admin", "dot segment"),
        ("/%2E./admin", "dot segment"),
        ("/..%2fadmin", "dot segment"),
        ("/..%5cadmin", "dot segment"),
        ("/..\\admin", "dot segment"),
        # A fragment is never part of a request target (RFC 9112 section 3.2).
        ("/a#frag", "fragment"),
        ("/a?q=1#frag", "fragment"),
    ],
)
def test_targets_that_leave_the_base_path_are_refused(rig: Rig, target: str, words: str) -> None:
    answer = _raw(
        rig.proxy.address,
        f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{rig.proxy.port}\r\n"
        f"{KEY_HEADER}: {rig.key}\r\nConnection: close\r\n\r\n".encode(),
    )
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert words.encode() in answer
    assert rig.upstream.seen == []


def test_paths_that_only_look_like_dots_pass(rig: Rig) -> None:
    for target in ("/a..b/c", "/.well-known/x", "/...", "/x?next=../y", "//evil.example/x"):
        response = rig.request("GET", target)
        assert response.status_code == 200, target
        assert rig.upstream.seen[-1].target == "/base" + target


def test_content_length_beside_chunked_is_refused(rig: Rig) -> None:
    """RFC 9112 section 6.1: a request with both framings is a smuggling attempt; forwarding
    its Content-Length beside the chunked body would frame it differently upstream."""
    head = f"POST /x HTTP/1.1\r\nHost: 127.0.0.1:{rig.proxy.port}\r\n{KEY_HEADER}: {rig.key}\r\n"
    for framing in (
        "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    ):
        answer = _raw(rig.proxy.address, (head + framing).encode())
        assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
        assert b"Content-Length and Transfer-Encoding" in answer
    assert rig.upstream.seen == []


def _drip_until_closed(port: int, head: bytes) -> float:
    """Send `head`, then one more byte of a header every 0.1 s (a slowloris client), until
    the proxy closes the connection; the seconds that took (at most 30)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        sock.settimeout(0.1)  # the pace of the drip
        while time.monotonic() - started < 30:
            try:
                if sock.recv(65536) == b"":
                    break
            except TimeoutError:
                pass
            except ConnectionError:
                break
            try:
                sock.sendall(b"z")
            except ConnectionError:
                break
    return time.monotonic() - started


def test_a_slowloris_client_is_cut_off(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    """A request head must be all there within HEAD_TIMEOUT of the connection, however it
    trickles in: anyone on the machine can connect, key or not, and each connection it holds
    is a file descriptor of the app."""
    monkeypatch.setattr(proxy_module, "HEAD_TIMEOUT", 0.5)
    taken = _drip_until_closed(rig.proxy.port, b"GET /x HTTP/1.1\r\nX-Slow: ")
    assert taken < 10
    assert rig.upstream.seen == []


def test_connections_beyond_the_limit_push_out_the_ones_still_to_speak(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At MAX_CONNECTIONS the oldest connection that has not sent a whole head yet makes room,
    so silent connections never lock out a client with the key."""
    monkeypatch.setattr(proxy_module, "MAX_CONNECTIONS", 4)
    silent = [socket.create_connection(("127.0.0.1", rig.proxy.port), timeout=30) for _ in range(8)]
    try:
        for sock in silent:
            sock.sendall(b"GET /x HTTP/1.1\r\n")
        assert rig.request("GET", "/through").status_code == 200
        assert len(rig.proxy._connections) <= 4
        # The oldest were closed to make room for the newer ones.
        silent[0].settimeout(30)
        assert silent[0].recv(100) == b""
    finally:
        for sock in silent:
            sock.close()


def test_a_401_refreshes_once_and_repeats_once(rig: Rig) -> None:
    first = rig.token()
    before = rig.refreshes()
    rig.upstream.rejected.add(first)
    response = rig.request("PUT", "/things/1", content=b'{"a": 1}')
    assert response.status_code == 200
    assert [s.header("Authorization") for s in rig.upstream.seen] == [
        f"Bearer {first}",
        f"Bearer {rig.token()}",
    ]
    assert rig.token() != first
    assert rig.refreshes() == before + 1 and rig.proxy.refreshes == 1
    assert rig.upstream.seen[1].body_sha256 == rig.upstream.seen[0].body_sha256  # same body

    # Rejected again, with the token that refresh gave moments ago: that 401 goes back as it
    # is; refreshing at every request would not help and would hammer the token endpoint.
    rig.upstream.seen.clear()
    rig.upstream.reject_all = True
    assert rig.request("GET", "/things/2").status_code == 401
    assert len(rig.upstream.seen) == 1 and rig.refreshes() == before + 1


def test_a_repeat_rejected_again_goes_back_as_it_is(rig: Rig) -> None:
    before = rig.refreshes()
    rig.upstream.reject_all = True
    assert rig.request("GET", "/things/1").status_code == 401
    assert len(rig.upstream.seen) == 2 and rig.refreshes() == before + 1
    assert rig.request("DELETE", "/things/1").status_code == 401
    assert len(rig.upstream.seen) == 3 and rig.refreshes() == before + 1


def test_a_failed_refresh_after_a_401_is_not_tried_again_at_every_request(rig: Rig) -> None:
    """The cooldown after a 401's refresh holds when that refresh failed too: a client that
    retries in a loop against an upstream that rejects the token must not turn each retry
    into a request to a token endpoint that is failing already."""
    before = rig.refreshes()
    rig.oauth.inject("/token", Fault.server_error(), times=None)
    rig.upstream.reject_all = True
    for _ in range(5):
        assert rig.request("GET", "/things").status_code == 401
    assert rig.proxy.refreshes == 1
    assert rig.refreshes() == before + 1


def test_a_post_is_never_repeated(rig: Rig) -> None:
    first = rig.token()
    before = rig.refreshes()
    rig.upstream.rejected.add(first)
    response = rig.request("POST", "/orders", content=b'{"buy": 1}')
    assert response.status_code == 401
    assert len(rig.upstream.seen) == 1
    # The token was renewed all the same, so the client's own retry goes through.
    assert rig.refreshes() == before + 1
    assert rig.request("POST", "/orders", content=b'{"buy": 1}').status_code == 200
    assert rig.upstream.seen[-1].header("Authorization") == f"Bearer {rig.token()}"


def test_large_bodies_stream_both_ways(rig: Rig) -> None:
    """The first chunk of a body must pass the proxy before the rest is sent: a proxy that
    buffered whole bodies would hold it back, and the gates below would never open."""
    port, key = rig.proxy.port, rig.key
    head = (
        f"PUT /upload HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{KEY_HEADER}: {key}\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    ).encode()
    block = b"z" * (256 * 1024)
    chunk = f"{len(block):x}\r\n".encode() + block + b"\r\n"
    rounds = 64  # 16 MiB
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head + chunk)
        assert rig.upstream.first_chunk.wait(30), "the upload's first chunk did not come through"
        for _ in range(rounds - 1):
            sock.sendall(chunk)
        sock.sendall(b"0\r\n\r\n")
        answer = b"".join(iter(lambda: sock.recv(65536), b""))
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert rig.upstream.seen[-1].body_size == rounds * len(block)

    # A body of known length beyond the replay limit streams too.
    rig.upstream.first_chunk.clear()
    size = 8 * MiB
    head = (
        f"PUT /upload HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{KEY_HEADER}: {key}\r\n"
        f"Content-Length: {size}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head + b"y" * MiB)
        assert rig.upstream.first_chunk.wait(30)
        sock.sendall(b"y" * (size - MiB))
        answer = b"".join(iter(lambda: sock.recv(65536), b""))
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert rig.upstream.seen[-1].body_size == size
    assert rig.upstream.seen[-1].header("Content-Length") == str(size)

    # Downloads: the first chunk reaches the client while the upstream still holds the rest.
    size = 24 * MiB
    received = 0
    with (
        httpx.Client(timeout=30, trust_env=False) as client,
        client.stream(
            "GET", f"{rig.proxy.address}/download?size={size}&gate=1", headers={KEY_HEADER: key}
        ) as response,
    ):
        assert response.status_code == 200
        import hashlib

        digest = hashlib.sha256()
        for piece in response.iter_raw():
            if received == 0:
                rig.upstream.download_gate.set()
            received += len(piece)
            digest.update(piece)
    assert rig.upstream.gate_opened_in_time is True
    assert received == size and digest.hexdigest() == download_digest(size)


def test_cookies_pass_through_and_are_never_kept(rig: Rig) -> None:
    """The proxy keeps no cookie jar: a session one client got is never sent for another."""
    response = rig.request("GET", "/set-cookie")
    assert response.headers["set-cookie"] == "session=upstream-session-0001; Path=/"
    rig.request("GET", "/next")
    assert rig.upstream.seen[-1].all("Cookie") == []
    rig.request("GET", "/mine", headers={"Cookie": "mine=1"})
    assert rig.upstream.seen[-1].all("Cookie") == ["mine=1"]


def test_proxies_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"):
        for spelling in (name, name.lower()):
            monkeypatch.delenv(spelling, raising=False)
    api = httpx.URL("https://api.example.com/v1")
    assert _environment_proxy(api) is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    assert _environment_proxy(api) == "http://proxy.corp:3128"
    assert _environment_proxy(httpx.URL("http://127.0.0.1:8080")) is None  # never loopback
    assert _environment_proxy(httpx.URL("http://localhost:8080")) is None
    monkeypatch.setenv("NO_PROXY", "example.com")
    assert _environment_proxy(api) is None


def test_redirects_are_passed_back_not_followed(rig: Rig) -> None:
    response = rig.request("GET", "/redirect")
    assert response.status_code == 302
    assert response.headers["location"] == "http://elsewhere.invalid/landing"
    assert len(rig.upstream.seen) == 1


def test_redirects_within_the_upstream_point_back_at_the_proxy(rig: Rig) -> None:
    """A Location in the upstream's base is said in the proxy's terms (as nginx's
    proxy_redirect does), so a client that follows it (curl -L, Postman by default) comes
    back through the proxy to the same place, token added: followed as it was, an absolute
    path came back with the base twice (/base/base/...), and a URL went to the upstream
    without the token."""
    for path in ("/redirect-same", "/redirect-path"):
        response = rig.request("GET", path)
        assert response.status_code == 302
        assert response.headers["location"] in (
            rig.proxy.address + "/landing?from=1",
            "/landing?from=1",
        ), response.headers["location"]
    with httpx.Client(timeout=30, trust_env=False, follow_redirects=True) as client:
        followed = client.get(rig.proxy.address + "/redirect-path", headers={KEY_HEADER: rig.key})
    assert followed.status_code == 200
    assert followed.json()["target"] == "/base/landing?from=1"
    assert rig.upstream.seen[-1].header("Authorization") == f"Bearer {rig.token()}"


def test_a_hanging_upstream_ends_in_504(rig: Rig) -> None:
    quick = rig.thread.run(rig.service.start_proxy(rig.account, rig.upstream.url, deadline=0.5))
    response = rig.request("GET", "/hang", proxy=quick, headers={KEY_HEADER: quick.config.key})
    assert response.status_code == 504
    assert "did not answer within 0.5 s" in response.text
    # The same with a body that can be repeated, and a streamed one.
    response = rig.request(
        "PUT", "/hang", proxy=quick, headers={KEY_HEADER: quick.config.key}, content=b"x"
    )
    assert response.status_code == 504
    big = b"x" * (1 * MiB)
    response = rig.request(
        "PUT", "/hang", proxy=quick, headers={KEY_HEADER: quick.config.key}, content=big
    )
    assert response.status_code == 504
    rig.thread.run(rig.service.stop_proxy(quick))
    assert quick not in rig.service.proxies
    with pytest.raises(httpx.ConnectError):
        rig.request("GET", "/x", proxy=quick)


def test_an_upstream_dripping_its_head_ends_in_504_after_a_streamed_body_too(rig: Rig) -> None:
    """The deadline holds for the reply head whatever the request body was: one that could
    be kept, and one streamed (beyond the replay limit), counted from the body's end."""
    quick = rig.thread.run(rig.service.start_proxy(rig.account, rig.upstream.url, deadline=0.5))
    headers = {KEY_HEADER: quick.config.key}
    for content in (b"x", b"x" * (1 * MiB)):
        response = rig.request("PUT", "/drip-head", proxy=quick, headers=headers, content=content)
        assert response.status_code == 504
        assert "did not answer within 0.5 s" in response.text
    assert [s.body_size for s in rig.upstream.seen] == [1, 1 * MiB]


def test_an_upstream_reply_framed_twice_goes_on_by_its_chunks(rig: Rig) -> None:
    """RFC 9112 section 6.3: Transfer-Encoding overrides Content-Length, and a proxy must not
    pass that Content-Length on (the client would frame the body differently)."""
    response = rig.request("GET", "/both-framings")
    assert response.status_code == 200
    assert response.content == b"hello"
    assert "content-length" not in response.headers


def test_an_unreachable_upstream_is_502_and_a_missing_account_too(rig: Rig) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    dead = rig.thread.run(rig.service.start_proxy(rig.account, f"http://127.0.0.1:{port}"))
    response = rig.request("GET", "/x", proxy=dead, headers={KEY_HEADER: dead.config.key})
    assert response.status_code == 502 and "cannot be reached" in response.text
    rig.thread.run(rig.vault.remove("api"))
    response = rig.request("GET", "/x", proxy=dead, headers={KEY_HEADER: dead.config.key})
    assert response.status_code in (502,)


def test_requests_are_logged_without_secrets(rig: Rig, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="vault_app.proxy")
    rig.request("GET", "/report?api_key=query-secret-0001")
    rig.request("GET", "/x", key=False)
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "api: GET /report -> 200" in text
    assert "-> 403" in text
    for secret in (rig.token(), rig.key, "query-secret-0001"):
        assert secret not in text


def test_a_static_key_goes_in_its_own_header(rig: Rig) -> None:
    async def add() -> Account:
        account, failure = await rig.vault.add(
            "key", "static", {"header_name": "X-Api-Key", "scheme": ""}, {"token": "k-0001-abcd"}
        )
        assert failure is None
        return account

    account = rig.thread.run(add())
    proxy = rig.thread.run(rig.service.start_proxy(account, rig.upstream.url))
    response = rig.request(
        "GET", "/x", proxy=proxy, headers={KEY_HEADER: proxy.config.key, "Authorization": "Basic x"}
    )
    assert response.status_code == 200
    seen = rig.upstream.seen[-1]
    assert seen.all("X-Api-Key") == ["k-0001-abcd"]
    assert seen.all("Authorization") == ["Basic x"]  # not the account's header: passes


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("0.0.0.0:8080", "not a loopback address"),
        ("192.168.1.5:80", "not a loopback address"),
        ("[::]:80", "not a loopback address"),
        ("example.com:80", "not an IP address"),
        ("127.0.0.1:99999", "not a port"),
        ("127.0.0.1:http", "not a port"),
    ],
)
def test_the_proxy_listens_on_loopback_only(text: str, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        parse_listen(text)


@pytest.mark.parametrize(
    "text", ["127.0.0.1:\u0668\u0660\u0668\u0660", "127.0.0.1:\u00b2", "\uff18\uff10\uff18\uff10"]
)
def test_a_port_is_ascii_digits(text: str) -> None:
    """str.isdigit() holds for other scripts' digits and superscripts, and int() reads some
    of them: Arabic-Indic digits bound port 8080 unasked, a superscript two crashed."""
    with pytest.raises(UsageError, match="not a port"):
        parse_listen(text)


def test_a_host_header_port_is_ascii_digits() -> None:
    assert _loopback_host("localhost:8080")
    assert not _loopback_host("localhost:²")
    assert not _loopback_host("127.0.0.1:\u0668\u0660")


def test_listen_addresses() -> None:
    assert parse_listen("8080") == ("127.0.0.1", 8080)
    assert parse_listen("localhost:1") == ("127.0.0.1", 1)
    assert parse_listen("[::1]:0") == ("::1", 0)
    assert parse_listen("127.0.0.2:5") == ("127.0.0.2", 5)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://api.example.com", "plain http is only allowed to loopback"),
        ("https://user:pw@api.example.com", "credentials or a query"),
        ("https://api.example.com/?k=v", "credentials or a query"),
        ("https://api.example.com/#top", "fragment"),
        ("ftp://api.example.com", "not a valid http"),
        ("https://api.example.com/a b", "spaces, control"),
        ("https://api.example.com/\r\nX: y", "spaces, control"),
    ],
)
def test_upstreams_are_checked(url: str, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        parse_upstream(url)


def test_the_proxy_command(cli: Cli, tmp_path: Path) -> None:
    """`token-vault proxy`: its address and key on stdout, a log line per request on stderr;
    tokens from the running app when one serves the vault (its own keyring unusable here)."""
    token = "proxy-cli-token-0001"
    assert_ok(add_static(cli, "st", token))
    assert_error(cli("proxy", "st", "--upstream", "http://example.com"), 2, contains="loopback")
    assert_error(cli("proxy", "st", "--upstream", "https://a.example", "--listen", "0.0.0.0:1"), 2)
    assert_error(cli("proxy", "nope", "--upstream", "https://a.example"), 3)
    blind = quiet(without_keyring(cli))
    with EchoUpstream() as upstream, serving(cli, tmp_path / "serve.log"):
        err = tmp_path / "proxy.err"
        with open(err, "w") as err_file:
            proc = subprocess.Popen(
                [sys.executable, "-m", "vault_app", "proxy", "st", "--upstream", upstream.url],
                env=blind.env,
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=err_file,
                text=True,
            )
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            key_line = proc.stdout.readline()
            assert first.startswith("proxy for st: http://127.0.0.1:"), (first, err.read_text())
            assert key_line.startswith("key: ")
            address = first.split()[3]
            key = key_line.split()[1]
            with httpx.Client(timeout=30, trust_env=False) as client:
                response = client.get(address + "/hello?q=1", headers={KEY_HEADER: key})
            assert response.status_code == 200
            assert upstream.seen[-1].all("Authorization") == [f"Bearer {token}"]
            proc.send_signal(2)
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            assert proc.stdout is not None
            proc.stdout.close()
    logged = err.read_text()
    assert "st: GET /hello -> 200" in logged
    assert token not in logged and key not in logged


def test_a_frozen_app_costs_the_proxy_its_deadline_not_a_hang(cli: Cli, tmp_path: Path) -> None:
    """`token-vault proxy` asks the running app for its token; an app that stopped answering
    (SIGSTOP, a debugger) must cost a request the proxy's deadline, then a clear error, not
    the socket client's own wait of minutes."""
    assert_ok(add_static(cli, "st", "frozen-app-token-0001"))
    with EchoUpstream() as upstream, serving(cli, tmp_path / "serve.log") as served:
        err = tmp_path / "proxy.err"
        with open(err, "w") as err_file:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "vault_app",
                    "proxy",
                    "st",
                    "--upstream",
                    upstream.url,
                    "--timeout",
                    "1",
                ],
                env=quiet(without_keyring(cli)).env,
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=err_file,
                text=True,
            )
        try:
            assert proc.stdout is not None
            address = proc.stdout.readline().split()[3]
            key = proc.stdout.readline().split()[1]
            served.proc.send_signal(signal.SIGSTOP)
            with httpx.Client(timeout=30, trust_env=False) as client:
                response = client.get(address + "/x", headers={KEY_HEADER: key})
            assert response.status_code in (502, 504)
            assert "no token within 1 s" in response.text
            assert upstream.seen == []
        finally:
            served.proc.send_signal(signal.SIGCONT)
            proc.kill()
            proc.wait()
            assert proc.stdout is not None
            proc.stdout.close()


@given(st.text(max_size=40))
def test_any_listen_text_is_loopback_or_a_usage_error(text: str) -> None:
    try:
        host, port = parse_listen(text)
    except UsageError:
        return
    assert ipaddress.ip_address(host).is_loopback and 0 <= port <= 65535


@given(st.text(max_size=60))
def test_any_upstream_text_is_a_checked_url_or_a_usage_error(text: str) -> None:
    try:
        url = parse_upstream(text)
    except UsageError:
        return
    parts = urlsplit(url)
    assert parts.scheme in ("http", "https") and parts.hostname
    assert not (parts.username or parts.password or parts.query or parts.fragment)
    assert parts.scheme == "https" or is_loopback_host(parts.hostname)
    assert all(c.isprintable() and not c.isspace() for c in url)


@given(st.text(max_size=40))
def test_any_host_header_is_judged_without_error(host: str) -> None:
    if _loopback_host(host):
        name = host.strip()
        name = name[1 : name.index("]")] if name.startswith("[") else name.partition(":")[0]
        assert is_loopback_host(name)


@given(st.text(alphabet=st.sampled_from("/.%2eEfF5cC\\a?"), max_size=24))
def test_a_target_without_dot_segments_stays_below_the_base(path: str) -> None:
    """What _dot_segments lets pass, httpx never resolves out of the base path."""
    target = ("/" + path).encode()
    if _dot_segments(target):
        return
    base = httpx.URL("https://api.example.com/base")
    url = base.copy_with(raw_path=b"/base" + target)
    assert url.raw_path.startswith(b"/base/"), (target, url.raw_path)


def test_each_request_reports_activity_to_the_window(rig: Rig) -> None:
    """The window collects Python's garbage on its own thread (gui/collector.py) and looks
    after each proxied request: a client hammering the proxy with the window hidden would
    otherwise leave minutes of garbage between looks."""
    seen: list[int] = []
    all_seen = threading.Event()

    def activity() -> None:
        seen.append(1)
        if len(seen) == 3:
            all_seen.set()

    rig.proxy.activity = activity
    for _ in range(3):
        assert rig.request("GET", "/ping").status_code == 200
    # The look comes once the reply is written, which the client may read first.
    assert all_seen.wait(30)
    assert len(seen) == 3


@pytest.mark.parametrize("sent", [b"", b"NOT HTTP\r\n\r\n", b"GET /ping HTTP/1.1\r\nHost: x\r\n"])
def test_a_connection_without_a_whole_request_reports_activity_too(rig: Rig, sent: bytes) -> None:
    """A client that connects and goes away, or sends no proper request, leaves garbage as
    well (its task, streams, the error): each such connection is a look as well, or a local
    process opening connections in a loop grows memory for minutes with the window hidden."""
    seen: list[int] = []
    rig.proxy.activity = lambda: seen.append(1)
    _raw(rig.proxy.address, sent)  # returns once the proxy has closed the connection
    assert seen
