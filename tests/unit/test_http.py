"""The shared HTTP client's error mapping, against a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fakes.certs import Authority, issue_server_cert, make_authority, server_context
from tests.fakes.hostile import Raw, _zeros, gzip_bomb, gzipped
from tests.fakes.proxies import HttpProxy, Socks5Proxy
from tests.fakes.server import FakeServer, Reply
from vault_app.core import http as http_module
from vault_app.core import redact
from vault_app.core.errors import MisconfiguredError, RejectedError, TransientError
from vault_app.core.http import (
    Http,
    SentButNoAnswerError,
    UnusableReplyError,
    raise_for_status,
    retry_after,
)


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer().running() as fake:
        yield fake


def _post(url: str, *, deadline: float = 30.0, **kwargs: object) -> http_module.Reply:
    async def go() -> http_module.Reply:
        client = Http(deadline=deadline)
        try:
            return await client.request("POST", url, what="sign-in", json_body={"a": 1}, **kwargs)  # type: ignore[arg-type]
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_json_reply(server: FakeServer) -> None:
    server.route("POST", "/ok", Reply(200, {"token": "x"}))
    reply = _post(server.url + "/ok")
    assert reply.fields("sign-in") == {"token": "x"}
    assert server.requests[0].json() == {"a": 1}
    headers = server.requests[0].headers
    assert headers["user-agent"].startswith("token-vault/")
    # JSON asked for (GitHub answers a form otherwise), and only codings we decode with a cap.
    assert headers["accept"] == "application/json"
    assert headers["accept-encoding"] == "gzip, deflate"


def test_form_reply(server: FakeServer) -> None:
    body = "access_token=gho_x&scope=repo&token_type=bearer"
    server.route(
        "POST", "/form", Reply(200, body, {"Content-Type": "application/x-www-form-urlencoded"})
    )
    reply = _post(server.url + "/form")
    assert reply.fields("sign-in") == {
        "access_token": "gho_x",
        "scope": "repo",
        "token_type": "bearer",
    }


def test_html_instead_of_json(server: FakeServer) -> None:
    server.route(
        "POST",
        "/html",
        Reply(200, "<html><body>Gateway</body></html>", {"Content-Type": "text/html"}),
    )
    reply = _post(server.url + "/html")
    with pytest.raises(TransientError, match=r"sign-in: .* not valid JSON.*an HTML page"):
        reply.fields("sign-in")


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, TransientError),
        (502, TransientError),
        (429, TransientError),
        (400, RejectedError),
        (401, RejectedError),
        (403, RejectedError),
        (404, MisconfiguredError),
        (405, MisconfiguredError),
    ],
)
def test_status_mapping(server: FakeServer, status: int, error: type[Exception]) -> None:
    server.route(
        "POST",
        "/e",
        Reply(status, {"error": "invalid_grant", "error_description": "token expired"}),
    )
    reply = _post(server.url + "/e")
    with pytest.raises(error) as caught:
        raise_for_status(reply, "refresh")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("refresh: ")
    assert "invalid_grant: token expired" in message


def test_retry_after_seconds_and_date(server: FakeServer) -> None:
    server.route("POST", "/slow", Reply(429, "busy", {"Retry-After": "7"}))
    with pytest.raises(TransientError) as caught:
        raise_for_status(_post(server.url + "/slow"), "refresh")
    assert caught.value.retry_after == 7
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, now=1445412470) == 10


def test_complaint_masks_secrets(server: FakeServer) -> None:
    redact.register(["leaky-secret-value-77"])
    server.route("POST", "/e", Reply(401, {"message": "bad token leaky-secret-value-77"}))
    with pytest.raises(RejectedError) as caught:
        raise_for_status(_post(server.url + "/e"), "sign-in")
    assert "leaky-secret" not in str(caught.value)


def test_connection_refused() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    with pytest.raises(TransientError, match=r"cannot connect to 127\.0\.0\.1"):
        _post(f"http://127.0.0.1:{port}/x")


def test_dropped_after_request_arrived(server: FakeServer) -> None:
    server.route("POST", "/drop", Reply(action="drop"))
    with pytest.raises(SentButNoAnswerError, match="closed the connection"):
        _post(server.url + "/drop")
    assert len(server.requests) == 1


def test_server_never_answers(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_module, "READ_TIMEOUT", 0.5)
    server.route("POST", "/hang", Reply(action="hang"))
    with pytest.raises(SentButNoAnswerError, match="did not answer in time"):
        _post(server.url + "/hang")


def test_tls_verification_is_on(tmp_path: Path) -> None:
    authority = make_authority()
    tls = server_context(issue_server_cert(authority, ["127.0.0.1"]), tmp_path)
    with FakeServer().running(tls=tls) as fake:
        fake.route("POST", "/ok", Reply(200, {}))
        with pytest.raises(MisconfiguredError, match="TLS verification failed"):
            _post(fake.url + "/ok")
        # Trusting that authority explicitly through a per-account CA bundle works.
        bundle = tmp_path / "ca.pem"
        bundle.write_text(authority.cert_pem)
        reply = _post(fake.url + "/ok", ca_bundle=str(bundle))
        assert reply.status == 200


# -- redirects, limits, deadlines --------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_is_never_followed_nor_a_success(server: FakeServer, status: int) -> None:
    server.route(
        "POST",
        "/o/token",
        Reply(status, {"access_token": "x"}, {"Location": "/o/token/?code=secret#frag"}),
    )
    reply = _post(server.url + "/o/token")
    with pytest.raises(MisconfiguredError) as caught:
        raise_for_status(reply, "refresh")
    message = str(caught.value)
    assert f"HTTP {status}, a redirect to {server.url}/o/token/;" in message
    assert "secret" not in message and "frag" not in message
    assert len(server.requests) == 1


def _raw(server: FakeServer, path: str, raw: Raw) -> None:
    server.route("POST", path, raw.reply())


def test_a_declared_huge_body_is_refused_without_reading_it(server: FakeServer) -> None:
    _raw(server, "/huge", Raw(200, b"{", length=200 << 20, stream=_zeros(200 << 20)))
    started = time.monotonic()
    with pytest.raises(TransientError, match="larger than 1 MiB"):
        _post(server.url + "/huge")
    assert time.monotonic() - started < 10


def test_an_endless_body_stops_at_the_cap(server: FakeServer) -> None:
    _raw(server, "/endless", Raw(200, b"{", chunked=True, stream=_zeros(1 << 30)))
    with pytest.raises(UnusableReplyError, match="larger than 1 MiB"):
        _post(server.url + "/endless")


def test_a_gzip_bomb_never_expands_in_memory(server: FakeServer) -> None:
    """1 MB of gzip that would expand to 1 GiB: refused after 1 MiB decoded, and the memory
    the whole request allocates stays a few MiB."""
    bomb = gzip_bomb()
    assert len(bomb) < 1 << 20
    headers = (("Content-Type", "application/json"), ("Content-Encoding", "gzip"))
    _raw(server, "/bomb", Raw(200, bomb, headers))
    tracemalloc.start()
    try:
        with pytest.raises(UnusableReplyError, match="larger than 1 MiB"):
            _post(server.url + "/bomb")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20, peak


def test_a_dripping_reply_ends_at_the_deadline(server: FakeServer) -> None:
    """Headers, then one byte every 0.2 s: httpx's read timeout (per chunk) never fires;
    the overall deadline does."""
    body = json.dumps({"access_token": "x" * 200}).encode()
    _raw(server, "/drip", Raw(200, body, (("Content-Type", "application/json"),), drip=0.2))
    started = time.monotonic()
    with pytest.raises(SentButNoAnswerError, match=r"within 1\.5 s"):
        _post(server.url + "/drip", deadline=1.5)
    assert time.monotonic() - started < 10


def test_a_hanging_server_ends_at_the_deadline(server: FakeServer) -> None:
    server.route("POST", "/hang", Reply(action="hang"))
    started = time.monotonic()
    with pytest.raises(SentButNoAnswerError, match="did not answer in time"):
        _post(server.url + "/hang", deadline=1.0)
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    ("coding", "pack"),
    [
        ("gzip", lambda b: gzipped(b)),
        ("deflate", lambda b: gzipped(b, zlib.MAX_WBITS)),
        ("deflate", lambda b: gzipped(b, -zlib.MAX_WBITS)),
        ("gzip, gzip", lambda b: gzipped(gzipped(b))),
        ("identity", lambda b: b),
    ],
)
def test_content_codings_are_decoded(
    server: FakeServer, coding: str, pack: Callable[[bytes], bytes]
) -> None:
    body = json.dumps({"access_token": "abc"}).encode()
    headers = (("Content-Type", "application/json"), ("Content-Encoding", coding))
    _raw(server, "/c", Raw(200, pack(body), headers))
    assert _post(server.url + "/c").fields("x") == {"access_token": "abc"}


# -- proxies -----------------------------------------------------------------------------------

SITE = "api.example.test"


@pytest.fixture
def authority(tmp_path: Path) -> tuple[Authority, Path]:
    ca = make_authority()
    path = tmp_path / "ca.pem"
    path.write_text(ca.cert_pem)
    return ca, path


@pytest.fixture
def site(tmp_path: Path, authority: tuple[Authority, Path]) -> Iterator[FakeServer]:
    """An HTTPS token endpoint for api.example.test (and 127.0.0.1), signed by the test CA."""
    context = server_context(issue_server_cert(authority[0], [SITE, "127.0.0.1"]), tmp_path)
    with FakeServer().running(tls=context) as fake:
        fake.route("POST", "/token", Reply(200, {"access_token": "through"}))
        yield fake


def _port(fake: FakeServer) -> int:
    return int(fake.url.rsplit(":", 1)[1])


@pytest.fixture(autouse=True)
def _no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def test_https_through_an_http_proxy(
    site: FakeServer, authority: tuple[Authority, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    with HttpProxy().running() as proxy:
        proxy.route(SITE, 443, ("127.0.0.1", _port(site)))
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        reply = _post(f"https://{SITE}/token", ca_bundle=str(authority[1]))
    assert reply.fields("x") == {"access_token": "through"}
    assert [(p.via, p.host, p.port, p.refused) for p in proxy.passages] == [
        ("connect", SITE, 443, "")
    ]
    assert len(site.requests) == 1


@pytest.mark.parametrize("scheme", ["socks5", "socks5h"])
@pytest.mark.parametrize("credentials", [None, ("proxy-user", "proxy-pw")])
def test_https_through_a_socks5_proxy(
    site: FakeServer,
    authority: tuple[Authority, Path],
    monkeypatch: pytest.MonkeyPatch,
    scheme: str,
    credentials: tuple[str, str] | None,
) -> None:
    with Socks5Proxy(credentials).running() as proxy:
        proxy.route(SITE, 443, ("127.0.0.1", _port(site)))
        userinfo = f"{credentials[0]}:{credentials[1]}@" if credentials else ""
        monkeypatch.setenv("ALL_PROXY", f"{scheme}://{userinfo}127.0.0.1:{proxy.port}")
        reply = _post(f"https://{SITE}/token", ca_bundle=str(authority[1]))
    assert reply.fields("x") == {"access_token": "through"}
    assert [(p.via, p.host, p.port, p.user) for p in proxy.passages] == [
        ("socks5", SITE, 443, credentials[0] if credentials else None)
    ]


def test_plain_http_through_an_http_proxy_is_forwarded(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeServer().running() as origin, HttpProxy().running() as proxy:
        origin.route("POST", "/token", Reply(200, {"access_token": "fwd"}))
        proxy.route("plain.example.test", 80, ("127.0.0.1", _port(origin)))
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        reply = _post("http://plain.example.test/token")
    assert reply.fields("x") == {"access_token": "fwd"}
    (passage,) = proxy.passages
    assert passage.request_line == "POST http://plain.example.test/token HTTP/1.1"


@pytest.mark.parametrize("host", ["127.0.0.2", "127.0.0.1", "::1"])
@pytest.mark.parametrize(
    "setting",
    [
        {"HTTP_PROXY": "PROXY", "HTTPS_PROXY": "PROXY", "ALL_PROXY": "PROXY"},
        {"all_proxy": "socks5://127.0.0.1:9"},
        {"ALL_PROXY": "ftp://bad", "NO_PROXY": "fd00::/8,10.0.0.0/99"},
    ],
)
def test_loopback_bypasses_every_proxy(
    monkeypatch: pytest.MonkeyPatch, host: str, setting: dict[str, str]
) -> None:
    """The issue's case: the Basic client secret went in clear to HTTP_PROXY for an account
    at http://127.0.0.2; all of 127.0.0.0/8, ::1 and localhost bypass any proxy, and a
    setting that cannot be used does not stop them."""
    with FakeServer(host=host).running() as origin, HttpProxy().running() as proxy:
        origin.route("POST", "/token", Reply(200, {"access_token": "direct"}))
        for name, value in setting.items():
            monkeypatch.setenv(name, proxy.url if value == "PROXY" else value)
        reply = _post(
            origin.url + "/token", headers={"Authorization": "Basic c2VjcmV0OnNlY3JldA=="}
        )
    assert reply.fields("x") == {"access_token": "direct"}
    assert proxy.passages == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ALL_PROXY", "socks4://127.0.0.1:9"),
        ("HTTPS_PROXY", "http://[::1"),
        ("https_proxy", "gopher://127.0.0.1:70"),
    ],
)
def test_an_unusable_proxy_setting_is_one_misconfigured_line(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(MisconfiguredError) as caught:
        _post(f"https://{SITE}/token")
    message = str(caught.value)
    assert name in message and "\n" not in message
    assert caught.value.exit_code == 5


def test_an_ipv6_range_in_no_proxy_is_understood(
    site: FakeServer, authority: tuple[Authority, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """httpx raises InvalidURL for an IPv6 CIDR in NO_PROXY, failing every request."""
    with HttpProxy().running() as proxy:
        proxy.route(SITE, 443, ("127.0.0.1", _port(site)))
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "fd00::/8,2001:db8::/32,.internal.example")
        reply = _post(f"https://{SITE}/token", ca_bundle=str(authority[1]))
    assert reply.status == 200
    assert len(proxy.passages) == 1


# -- trust: the CA bundle is added to the system's store -----------------------------------------


def test_ca_bundle_is_added_to_the_system_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One client with an account's CA bundle trusts a server signed by that CA and, still,
    one signed by a CA of the system store (SSL_CERT_FILE stands in for the system's)."""
    bundle_ca, system_ca = make_authority("bundle CA"), make_authority("system CA")
    (tmp_path / "bundle.pem").write_text(bundle_ca.cert_pem)
    (tmp_path / "system.pem").write_text(system_ca.cert_pem)
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "system.pem"))
    ours = server_context(issue_server_cert(bundle_ca, ["127.0.0.1"]), tmp_path / "a")
    systems = server_context(issue_server_cert(system_ca, ["127.0.0.1"]), tmp_path / "b")
    with FakeServer().running(tls=ours) as first, FakeServer().running(tls=systems) as second:
        for fake in (first, second):
            fake.route("POST", "/ok", Reply(200, {}))

        async def go() -> list[int]:
            client = Http()
            try:
                bundle = str(tmp_path / "bundle.pem")
                statuses = []
                for fake in (first, second):
                    reply = await client.request(
                        "POST", fake.url + "/ok", what="t", ca_bundle=bundle
                    )
                    statuses.append(reply.status)
                # Without the bundle only the system's CA is trusted.
                statuses.append((await client.request("POST", second.url + "/ok", what="t")).status)
                with pytest.raises(MisconfiguredError, match="TLS verification failed"):
                    await client.request("POST", first.url + "/ok", what="t")
                return statuses
            finally:
                await client.aclose()

        assert asyncio.run(go()) == [200, 200, 200]


def test_an_unreadable_ca_bundle_is_misconfigured(tmp_path: Path) -> None:
    (tmp_path / "junk.pem").write_text("not a certificate")
    with pytest.raises(MisconfiguredError, match="cannot use CA bundle"):
        _post("https://127.0.0.1:9/x", ca_bundle=str(tmp_path / "junk.pem"))


def test_a_ca_bundle_replaced_by_a_named_pipe_is_refused_at_once(tmp_path: Path) -> None:
    """The bundle was a file when it was set; a pipe (or a hung mount) in its place once
    blocked every request of the account for ever, past the request deadline, holding its
    lock."""
    fifo = tmp_path / "bundle.pem"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(MisconfiguredError, match="a named pipe, not a regular file"):
        _post("https://127.0.0.1:9/x", ca_bundle=str(fifo), deadline=60)


def test_a_huge_ca_bundle_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http_module, "MAX_CA_BUNDLE_BYTES", 1024)
    big = tmp_path / "big.pem"
    big.write_text("#" * 2000)
    with pytest.raises(MisconfiguredError, match="larger than 1 KiB"):
        _post("https://127.0.0.1:9/x", ca_bundle=str(big))


def test_a_bundle_with_comments_in_other_scripts_is_used(tmp_path: Path) -> None:
    """certifi's own bundle names authorities in their languages ("Főtanúsítvány")."""
    import certifi

    bundle = tmp_path / "with-comments.pem"
    bundle.write_text("# Label: Főtanúsítvány\n" + Path(certifi.where()).read_text("utf-8"))
    context = http_module.trust_store(str(bundle))
    assert len(context.get_ca_certs()) >= 100


def test_a_client_that_cannot_be_made_ends_at_the_deadline(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Making the client reads certificate stores, which a mount that does not answer can
    block: the request deadline covers it, and as nothing was sent it is plainly transient
    (not a request that may have been acted on)."""
    release = threading.Event()
    made = Http._make_client

    def stuck(self: Http, ca_bundle: str | None, proxy: str | None) -> object:
        release.wait(60)
        return made(self, ca_bundle, proxy)

    monkeypatch.setattr(Http, "_make_client", stuck)
    try:
        with pytest.raises(TransientError, match="could not prepare a connection") as caught:
            _post(server.url + "/ok", deadline=0.5)
    finally:
        release.set()
    assert not isinstance(caught.value, SentButNoAnswerError)
    assert server.requests == []


# -- parsers of outside data (hypothesis) ------------------------------------------------------

NOW = 1_800_000_000.0


@given(st.text(max_size=80))
def test_retry_after_of_any_text_is_none_or_a_bounded_wait(value: str) -> None:
    wait = retry_after({"retry-after": value}, now=NOW)
    assert wait is None or 0 <= wait <= http_module.MAX_RETRY_AFTER


@pytest.mark.parametrize(
    ("value", "wait"),
    [
        ("120", 120.0),
        ("0", 0.0),
        ("9" * 40, http_module.MAX_RETRY_AFTER),
        ("²", None),
        ("-5", None),
        ("1.5", None),
        ("Thu, 15 Jan 2027 08:00:30 GMT", 30.0),
        ("Thursday, 15-Jan-27 08:00:30 GMT", 30.0),
        ("Thu Jan 15 08:00:30 2027", 30.0),
        ("Fri, 31 Dec 9999 23:59:59 GMT", None),
        ("yesterday", None),
    ],
)
def test_retry_after_forms(value: str, wait: float | None) -> None:
    assert retry_after({"retry-after": value}, now=NOW) == wait


@given(st.text(max_size=80))
def test_http_date_of_any_text_is_none_or_sane(value: str) -> None:
    when = http_module.http_date(value, NOW)
    assert when is None or 1_000_000_000 <= when <= NOW + 11 * 366 * 86400


@given(
    st.binary(max_size=300),
    st.sampled_from(
        [
            None,
            "application/json",
            "application/json; charset=utf-16",
            "text/html",
            "application/x-www-form-urlencoded",
            "text/plain; charset=base64",
            "application/problem+json",
        ]
    ),
    st.integers(100, 599),
)
def test_reply_fields_of_any_body_is_a_dict_or_a_transient_error(
    body: bytes, content_type: str | None, status: int
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    reply = http_module.Reply(status, headers, body, "http://127.0.0.1:1/token", NOW)
    try:
        assert isinstance(reply.fields("x"), dict)
    except TransientError as exc:
        assert "\n" not in str(exc)
        assert isinstance(exc, UnusableReplyError) == (200 <= status < 300)
    said = http_module.complaint(reply)
    assert said.isprintable() and len(said) <= 160
    try:
        raise_for_status(reply, "x")
    except (TransientError, RejectedError, MisconfiguredError) as exc:
        assert str(exc).isprintable()
