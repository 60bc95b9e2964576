"""The shared HTTP client's error mapping, against a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.server import FakeServer, Reply, self_signed_context
from vault_app.core import http as http_module
from vault_app.core import redact
from vault_app.core.errors import MisconfiguredError, RejectedError, TransientError
from vault_app.core.http import Http, SentButNoAnswerError, raise_for_status, retry_after


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer().running() as fake:
        yield fake


def _post(url: str, **kwargs: object) -> http_module.Reply:
    async def go() -> http_module.Reply:
        client = Http()
        try:
            return await client.request("POST", url, what="sign-in", json_body={"a": 1}, **kwargs)  # type: ignore[arg-type]
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_json_reply(server: FakeServer) -> None:
    server.route("POST", "/ok", Reply(200, {"token": "x"}))
    reply = _post(server.url + "/ok")
    assert reply.json_object("sign-in") == {"token": "x"}
    assert server.requests[0].json() == {"a": 1}
    assert server.requests[0].headers["user-agent"].startswith("token-vault/")


def test_html_instead_of_json(server: FakeServer) -> None:
    server.route(
        "POST",
        "/html",
        Reply(200, "<html><body>Gateway</body></html>", {"Content-Type": "text/html"}),
    )
    reply = _post(server.url + "/html")
    with pytest.raises(TransientError, match=r"sign-in: .* not valid JSON.*an HTML page"):
        reply.json_object("sign-in")


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
    with FakeServer().running(tls=self_signed_context(str(tmp_path))) as fake:
        fake.route("POST", "/ok", Reply(200, {}))
        with pytest.raises(MisconfiguredError, match="TLS verification failed"):
            _post(fake.url + "/ok")
        # Trusting that certificate explicitly through a per-account CA bundle works.
        reply = _post(fake.url + "/ok", ca_bundle=str(tmp_path / "cert.pem"))
        assert reply.status == 200
