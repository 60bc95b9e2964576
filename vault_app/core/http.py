"""The process's HTTP client: one httpx.AsyncClient, created lazily inside the running loop,
with fixed timeouts, TLS verification always on, proxies from the environment, and every
failure mapped to transient / rejected / misconfigured with a one-line message.

httpx is imported on first use, so commands that never touch the network never load it.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from vault_app import __version__
from vault_app.core.errors import MisconfiguredError, RejectedError, TransientError
from vault_app.core.redact import redact

if TYPE_CHECKING:
    import httpx

CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 20.0
_MAX_COMPLAINT = 160
LOOPBACK_PATTERNS = ("all://127.0.0.1", "all://localhost", "all://[::1]")


class SentButNoAnswerError(TransientError):
    """The request reached the server but no reply came back (read timeout, dropped
    connection): the server may have acted on it, e.g. rotated a refresh token."""


@dataclass
class Reply:
    status: int
    headers: Mapping[str, str]
    text: str
    url: str
    _json: Any = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"Reply(status={self.status}, url={self.url!r})"

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    def json_object(self, what: str) -> dict[str, Any]:
        """The body as a JSON object, or a TransientError saying what came instead."""
        if self._json is None:
            try:
                self._json = json.loads(self.text)
            except ValueError:
                raise TransientError(
                    f"{what}: {self.host} sent a reply that is not valid JSON "
                    f"(HTTP {self.status}, {describe_body(self)})"
                ) from None
        if not isinstance(self._json, dict):
            raise TransientError(
                f"{what}: {self.host} sent JSON that is not an object (HTTP {self.status})"
            )
        return self._json


def describe_body(reply: Reply) -> str:
    kind = reply.headers.get("content-type", "").split(";")[0].strip() or "no content type"
    if "html" in kind or reply.text.lstrip().lower().startswith(("<!doctype", "<html")):
        return "an HTML page"
    if not reply.text.strip():
        return "an empty body"
    return kind


def complaint(reply: Reply) -> str:
    """The server's own words for an error reply, on one line, with secrets masked."""
    text = ""
    try:
        data = json.loads(reply.text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        parts = []
        for key in ("error", "code", "title"):
            if isinstance(data.get(key), str):
                parts.append(data[key])
                break
        for key in ("error_description", "message", "detail", "description", "Message"):
            if isinstance(data.get(key), str):
                parts.append(data[key])
                break
        text = ": ".join(parts)
    if not text:
        text = describe_body(reply)
    text = " ".join(redact(text).split())
    if len(text) > _MAX_COMPLAINT:
        text = text[: _MAX_COMPLAINT - 1] + "…"
    return text


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date)."""
    value = headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def raise_for_status(reply: Reply, what: str) -> None:
    """Map an error status to the error class the engine reacts to. `what` names the action."""
    status = reply.status
    if status < 400:
        return
    said = complaint(reply)
    if status == 429 or status >= 500:
        raise TransientError(
            f"{what}: {reply.host} answered HTTP {status} ({said})",
            retry_after=retry_after(reply.headers),
        )
    if status in (400, 401, 403):
        raise RejectedError(f"{what}: rejected by {reply.host} (HTTP {status}: {said})")
    raise MisconfiguredError(
        f"{what}: {reply.host} answered HTTP {status} ({said}); check the account's URL"
    )


class Http:
    """Lazily created shared client; one per process, plus one per custom CA bundle."""

    def __init__(self) -> None:
        self._clients: dict[str | None, httpx.AsyncClient] = {}
        self._making: dict[str | None, asyncio.Future[httpx.AsyncClient]] = {}

    async def _client(self, ca_bundle: str | None) -> httpx.AsyncClient:
        """The client for this CA bundle. The first one is made on a worker thread: importing
        httpx and loading the system's CA certificates into an SSL context takes 0.1-0.2 s,
        which on the event loop would freeze the window for as long."""
        client = self._clients.get(ca_bundle)
        if client is not None:
            return client
        making = self._making.get(ca_bundle)
        if making is None:
            making = self._making[ca_bundle] = asyncio.ensure_future(
                asyncio.to_thread(self._make_client, ca_bundle)
            )
        try:
            client = await asyncio.shield(making)
        finally:
            if making.done():
                self._making.pop(ca_bundle, None)
        self._clients.setdefault(ca_bundle, client)
        return self._clients[ca_bundle]

    def _make_client(self, ca_bundle: str | None) -> httpx.AsyncClient:
        import httpx

        verify: ssl.SSLContext | bool = True
        if ca_bundle:
            try:
                verify = ssl.create_default_context(cafile=ca_bundle)
            except (OSError, ssl.SSLError) as exc:
                raise MisconfiguredError(f"cannot use CA bundle {ca_bundle}: {exc}") from None
        return httpx.AsyncClient(
            timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
            verify=verify,
            follow_redirects=False,  # a redirect could carry a POSTed secret elsewhere
            headers={"User-Agent": f"token-vault/{__version__}"},
            trust_env=True,
            # Proxies from the environment never apply to this machine's own servers
            # (a demo server, a local gateway), even without NO_PROXY.
            mounts={pattern: None for pattern in LOOPBACK_PATTERNS},
        )

    async def request(
        self,
        method: str,
        url: str,
        *,
        what: str,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        ca_bundle: str | None = None,
    ) -> Reply:
        """Send one request; connection trouble becomes a TransientError (never a crash)."""
        import httpx

        host = urlsplit(url).netloc or url
        client = await self._client(ca_bundle)
        try:
            response = await client.request(method, url, json=json_body, data=form, headers=headers)
        except httpx.ConnectTimeout:
            raise TransientError(f"{what}: timed out connecting to {host}") from None
        except (httpx.ReadTimeout, httpx.WriteTimeout):
            raise SentButNoAnswerError(f"{what}: {host} did not answer in time") from None
        except httpx.PoolTimeout:
            raise TransientError(f"{what}: too many requests waiting for {host}") from None
        except httpx.ConnectError as exc:
            if _is_tls_failure(exc):
                raise MisconfiguredError(
                    f"{what}: TLS verification failed for {host} ({_root(exc)})"
                ) from None
            raise TransientError(f"{what}: cannot connect to {host} ({_root(exc)})") from None
        except httpx.RemoteProtocolError:
            raise SentButNoAnswerError(
                f"{what}: {host} closed the connection without a reply"
            ) from None
        except httpx.UnsupportedProtocol:
            raise MisconfiguredError(f"{what}: unsupported URL scheme for {host}") from None
        except httpx.HTTPError as exc:
            raise TransientError(f"{what}: {type(exc).__name__} talking to {host}") from None
        return Reply(
            status=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            text=response.text,
            url=str(response.url.copy_with(query=None)),
        )

    async def aclose(self) -> None:
        clients = list(self._clients.values())
        for making in list(self._making.values()):  # one still being made gets closed too
            with contextlib.suppress(Exception):
                client = await asyncio.shield(making)
                if all(client is not known for known in clients):
                    clients.append(client)
        self._clients, self._making = {}, {}
        for client in clients:
            await client.aclose()


def _root(exc: BaseException) -> str:
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    text = str(exc) or type(exc).__name__
    return " ".join(redact(text).split())[:_MAX_COMPLAINT]


def _is_tls_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
