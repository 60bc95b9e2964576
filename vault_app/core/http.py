"""The process's HTTP clients (one httpx.AsyncClient per CA bundle and proxy, created lazily
inside the process's network loop, a daemon thread of its own that every request runs on
whatever loop awaits it) and the limits every request runs under (DESIGN.md section 7):

- an overall deadline per request (`Http.deadline`, the vault setting `request_deadline`, 30 s
  by default) on top of httpx's per-phase timeouts, which a reply dripping one byte at a time
  never trips;
- a cap on the decoded reply size (1 MiB), read as the bytes arrive with our own bounded
  decoder (core/wire.py), so neither a huge body nor a gzip bomb reaches memory;
- TLS verification always on, against the system's certificate authorities plus certifi's,
  plus the account's CA bundle when it has one;
- proxies from the environment as core/proxy_env.py reads them: never for loopback, and a
  setting that cannot be used is a one-line error naming the variable;
- redirects never followed (one could carry a POSTed secret elsewhere) and reported;
- every failure mapped to transient / rejected / misconfigured with a one-line message in which
  text from the server is cleaned and secrets are masked.

httpx is imported on first use, so commands that never touch the network never load it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import email.utils
import functools
import os
import re
import ssl
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urljoin, urlsplit

from vault_app import __version__
from vault_app.core import bounds, files, wire
from vault_app.core.errors import MisconfiguredError, RejectedError, TransientError
from vault_app.core.proxy_env import ProxyEnvironment, ProxyProblem
from vault_app.core.redact import one_line

if TYPE_CHECKING:
    import httpx

CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 20.0
DEFAULT_DEADLINE = 30.0  # seconds for one whole request, reply body included
MAX_REPLY_BYTES = wire.MAX_REPLY_BYTES
MAX_RETRY_AFTER = 86400.0  # a Retry-After beyond a day is read as a day
MAX_CA_BUNDLE_BYTES = 16 * 1024 * 1024  # certifi's whole bundle is about 0.3 MiB
_MAX_COMPLAINT = 160
_DIGITS = re.compile(r"[0-9]+")


class SentButNoAnswerError(TransientError):
    """The request reached the server but no usable reply came back (read timeout, deadline,
    dropped connection): the server may have acted on it, e.g. rotated a refresh token."""


class UnusableReplyError(TransientError):
    """The server answered 2xx with a reply the app cannot use (unreadable, oversized, a token
    of the wrong shape): like a lost reply, the server may have acted on the request."""


@dataclass
class Reply:
    """One reply: `headers` with lower-case names, `body` with its content codings undone,
    `url` without its query, `received_at` the local time (UTC seconds) its headers came."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str
    received_at: float = field(default_factory=time.time)
    _fields: dict[str, Any] | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"Reply(status={self.status}, url={self.url!r})"

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    @property
    def text(self) -> str:
        """The body as text by its BOM or charset (undecodable bytes replaced)."""
        return wire.decode_text(self.body, self.headers.get("content-type"))

    @property
    def server_time(self) -> float | None:
        """The server's clock when it answered (the Date header, RFC 9110 section 6.6.1),
        or None when absent or not a sane time."""
        return http_date(self.headers.get("date"), self.received_at)

    def unusable(self, message: str) -> TransientError:
        """The error for a reply that cannot be read: after a 2xx the server may have acted."""
        return UnusableReplyError(message) if 200 <= self.status < 300 else TransientError(message)

    def fields(self, what: str) -> dict[str, Any]:
        """The body as a dict: a JSON object (by media type, or a body that looks like one) or
        an `application/x-www-form-urlencoded` form; anything else is a TransientError (an
        UnusableReplyError after a 2xx) saying what came instead."""
        if self._fields is not None:
            return self._fields
        content_type = self.headers.get("content-type")
        media, _ = wire.media_type(content_type)
        try:
            if media == wire.FORM_TYPE:
                data: Any = wire.parse_form(wire.decode_text(self.body, content_type, strict=True))
            elif wire.is_json_type(media) or (
                "html" not in media and self.body.lstrip()[:1] in (b"{", b"[")
            ):
                text = wire.decode_text(self.body, content_type, strict=True, json_default=True)
                data = wire.parse_json(text)
            elif self.body.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
                data = wire.parse_json(wire.decode_text(self.body, content_type, strict=True))
            else:
                raise wire.BodyError("")
        except wire.BodyError as exc:
            reason = f"; {exc}" if str(exc) else ""
            kind = "form" if media == wire.FORM_TYPE else "JSON"
            raise self.unusable(
                f"{what}: {self.host} sent a reply that is not valid {kind} "
                f"(HTTP {self.status}, {describe_body(self)}{reason})"
            ) from None
        if not isinstance(data, dict):
            raise self.unusable(
                f"{what}: {self.host} sent JSON that is not an object (HTTP {self.status})"
            )
        self._fields = data
        return data


def describe_body(reply: Reply) -> str:
    """What kind of body came, in a few words and without quoting it."""
    media, _ = wire.media_type(reply.headers.get("content-type"))
    head = reply.body.lstrip()[:16].lower()
    if "html" in media or head.startswith((b"<!doctype", b"<html")):
        return "an HTML page"
    if not reply.body.strip():
        return "an empty body"
    return one_line(media, 60) or "no content type"


def _said(data: dict[str, Any]) -> str:
    """The error code and description of a JSON error body, in the spellings servers use
    (RFC 6749 `error`/`error_description`, RFC 9457 `title`/`detail`, `message`, and an
    `error` object holding them)."""
    inner = data.get("error")
    if isinstance(inner, dict):
        data = {key: value for key, value in {**data, **inner}.items() if key != "error"}
    parts = []
    for key in ("error", "code", "title"):
        if isinstance(data.get(key), (str, int)) and not isinstance(data.get(key), bool):
            parts.append(str(data[key]))
            break
    for key in ("error_description", "message", "detail", "description", "Message"):
        if isinstance(data.get(key), str):
            parts.append(data[key])
            break
    return ": ".join(parts)


def complaint(reply: Reply) -> str:
    """The server's own words for an error reply, on one line, cleaned, with secrets masked."""
    try:
        data = reply.fields("complaint")
    except TransientError:
        data = {}
    text = _said(data)
    if not text.strip():
        text = describe_body(reply)
    return one_line(text, _MAX_COMPLAINT)


def http_date(value: str | None, now: float | None = None) -> float | None:
    """An HTTP date (RFC 9110 section 5.6.7, any of its three formats) as a UTC timestamp,
    or None when it does not parse or is not a sane time (core/bounds.py)."""
    if not value or len(value) > 64:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)  # "-0000" and obsolete zone names
        stamp = when.timestamp()
    except Exception:  # TypeError, ValueError, OverflowError, IndexError: all "not a date"
        return None
    return bounds.timestamp(stamp, now)


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (RFC 9110 section 10.2.3: delta-seconds or
    an HTTP date), at most MAX_RETRY_AFTER; None when absent or unreadable."""
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    if _DIGITS.fullmatch(value):
        return MAX_RETRY_AFTER if len(value) > 9 else min(float(int(value)), MAX_RETRY_AFTER)
    now = time.time() if now is None else now
    when = http_date(value, now)
    if when is None:
        return None
    return min(max(0.0, when - now), MAX_RETRY_AFTER)


def _redirect_target(reply: Reply) -> str:
    location = reply.headers.get("location")
    if not location:
        return "without saying where"
    try:
        parts = urlsplit(urljoin(reply.url, location.strip()))
        netloc = parts.hostname or ""
        if parts.port:
            netloc = f"{netloc}:{parts.port}"
        target = f"{parts.scheme}://{netloc}{parts.path}"
    except ValueError:
        return "to an invalid address"
    return "to " + one_line(target, 120)


def raise_for_status(reply: Reply, what: str) -> None:
    """Map a status that is not 2xx to the error class the engine reacts to. `what` names
    the action. A redirect is never followed, and never a success even with a token in it."""
    status = reply.status
    if 200 <= status < 300:
        return
    if 300 <= status < 400:
        raise MisconfiguredError(
            f"{what}: {reply.host} answered HTTP {status}, a redirect "
            f"{_redirect_target(reply)}; set the account's URL to where it should go"
        )
    said = complaint(reply)
    if status in (408, 429) or status >= 500:
        raise TransientError(
            f"{what}: {reply.host} answered HTTP {status} ({said})",
            retry_after=retry_after(reply.headers),
        )
    if status in (400, 401, 403):
        raise RejectedError(f"{what}: rejected by {reply.host} (HTTP {status}: {said})")
    raise MisconfiguredError(
        f"{what}: {reply.host} answered HTTP {status} ({said}); check the account's URL"
    )


def trust_store(ca_bundle: str | None) -> ssl.SSLContext:
    """The certificate authorities a request trusts: the system's (OpenSSL's default paths,
    which SSL_CERT_FILE and SSL_CERT_DIR change), certifi's Mozilla roots (for systems whose
    Python has no store of its own), and the account's CA bundle added to both. Loading
    them takes 0.1 s, so a context is shared while none of its sources changed."""
    stamp = None
    if ca_bundle:
        with contextlib.suppress(OSError):
            stat = os.stat(ca_bundle)
            stamp = (stat.st_mtime_ns, stat.st_size)
    sources = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    return _trust_store(ca_bundle, stamp, sources)


@functools.lru_cache(maxsize=8)
def _trust_store(
    ca_bundle: str | None, stamp: object, sources: tuple[str | None, str | None]
) -> ssl.SSLContext:
    context = ssl.create_default_context()
    with contextlib.suppress(ImportError, OSError, ssl.SSLError):
        import certifi

        context.load_verify_locations(cafile=certifi.where())
    if ca_bundle:
        try:
            # Read by us, not by OpenSSL: a named pipe or a device in the file's place is
            # refused rather than waited on, and a huge file is not read whole.
            raw = files.read_capped(Path(ca_bundle), MAX_CA_BUNDLE_BYTES)
            # cadata takes ASCII only: the PEM blocks, without comments in other scripts
            # (certifi's own bundle names its authorities in their languages).
            pem = "\n".join(line for line in raw.decode("latin-1").splitlines() if line.isascii())
            context.load_verify_locations(cadata=pem)
        except files.FileTooLarge:
            raise MisconfiguredError(
                f"cannot use CA bundle {ca_bundle}: larger than "
                f"{files.size_words(MAX_CA_BUNDLE_BYTES)}"
            ) from None
        except (OSError, ssl.SSLError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or one_line(str(exc), 80) or "unreadable"
            raise MisconfiguredError(f"cannot use CA bundle {ca_bundle}: {reason}") from None
    return context


_ClientKey = tuple[str | None, str | None]  # (CA bundle, proxy URL)
T = TypeVar("T")


class _NetworkLoop:
    """A daemon thread running an asyncio loop of its own, where the HTTP clients live and
    every request runs. httpx, httpcore and anyio schedule a dozen callbacks per request; on
    the window's Qt-driven loop (qasync) each one is a Qt timer event, and together they
    were a third of the GUI thread's time in a refresh storm. Here they cost what plain
    asyncio costs, and the window's loop only hands a request over and takes the reply."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        thread = threading.Thread(target=self._run, name="network", daemon=True)
        thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        # DNS lookups run in the default executor: one stuck there must not hold the exit.
        self.loop.set_default_executor(_DaemonPool())
        self.loop.run_forever()

    async def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Await `work` on the network loop; cancelling the caller cancels it there."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self.loop))


class _DaemonPool(concurrent.futures.ThreadPoolExecutor):
    """A ThreadPoolExecutor (what asyncio's set_default_executor takes) whose work runs on
    daemon threads that nobody joins at exit (core/daemon_executor.py)."""

    def __init__(self) -> None:
        from vault_app.core.daemon_executor import DaemonExecutor

        super().__init__(max_workers=1)
        self._daemons = DaemonExecutor(name="network-worker")

    def submit(
        self, fn: Callable[..., T], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[T]:
        return self._daemons.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._daemons.shutdown()


_network: _NetworkLoop | None = None
_network_lock = threading.Lock()


def network() -> _NetworkLoop:
    """The process's network loop, started on first use."""
    global _network
    with _network_lock:
        if _network is None:
            _network = _NetworkLoop()
        return _network


class Http:
    """Shared clients, one per CA bundle and proxy in use, made on first use. Requests run on
    the process's network loop (see _NetworkLoop) whatever loop the caller awaits them on."""

    def __init__(self, deadline: float = DEFAULT_DEADLINE) -> None:
        self.deadline = deadline  # seconds; the vault sets it from `request_deadline`
        self._clients: dict[_ClientKey, httpx.AsyncClient] = {}  # network loop only
        self._making: dict[_ClientKey, asyncio.Future[httpx.AsyncClient]] = {}
        self._proxies: ProxyEnvironment | None = None

    def proxies(self) -> ProxyEnvironment:
        """The environment's proxy settings, read on first use."""
        if self._proxies is None:
            self._proxies = ProxyEnvironment.from_environ()
        return self._proxies

    async def _client(self, ca_bundle: str | None, proxy: str | None) -> httpx.AsyncClient:
        """The client for this CA bundle and proxy, made the first time on a worker thread of
        the network loop: importing httpx and loading certificate stores takes 0.1-0.2 s (and
        a CA bundle on a mount that does not answer, for ever), which must hold up neither
        the window's loop nor the other requests on the network loop."""
        key = (ca_bundle, proxy)
        client = self._clients.get(key)
        if client is not None:
            return client
        making = self._making.get(key)
        if making is None:
            making = self._making[key] = asyncio.ensure_future(
                asyncio.to_thread(self._make_client, ca_bundle, proxy)
            )
        try:
            client = await asyncio.shield(making)
        finally:
            if making.done():
                self._making.pop(key, None)
        self._clients.setdefault(key, client)
        return self._clients[key]

    def _make_client(self, ca_bundle: str | None, proxy: str | None) -> httpx.AsyncClient:
        import httpx

        try:
            return httpx.AsyncClient(
                timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
                verify=trust_store(ca_bundle),
                follow_redirects=False,  # a redirect could carry a POSTed secret elsewhere
                headers={
                    "User-Agent": f"token-vault/{__version__}",
                    "Accept": "application/json",
                    "Accept-Encoding": wire.ACCEPT_ENCODING,
                },
                # Proxies come from proxy_env (per request); nothing else from the
                # environment (netrc, SSL_CERT_FILE) is taken behind our back.
                trust_env=False,
                proxy=proxy,
            )
        except ImportError:
            raise MisconfiguredError(
                "a SOCKS proxy is set but the socksio package is missing "
                "(install token-vault with httpx[socks])"
            ) from None

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
        limit: int = MAX_REPLY_BYTES,
    ) -> Reply:
        """Send one request and read its reply within `deadline` seconds and `limit` decoded
        bytes. Errors: TransientError (connection trouble, an oversized or unreadable reply),
        SentButNoAnswerError (no reply after the request went out), MisconfiguredError (a
        proxy setting, TLS, the URL). Status codes are the caller's (raise_for_status)."""
        work = self._request(
            method, url, what, json_body, form, headers, ca_bundle, limit, self.deadline
        )
        return await network().run(work)

    async def _request(
        self,
        method: str,
        url: str,
        what: str,
        json_body: Any,
        form: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        ca_bundle: str | None,
        limit: int,
        deadline: float,
    ) -> Reply:
        host = urlsplit(url).netloc or url
        try:
            proxy = self.proxies().proxy_for(url)
        except ProxyProblem as exc:
            raise MisconfiguredError(f"{what}: {exc}") from None
        made: list[httpx.AsyncClient] = []

        async def exchange() -> Reply:
            # The client is made under the deadline too: a CA bundle or certificate store on
            # a mount that does not answer must not hold the account's lock for ever.
            made.append(await self._client(ca_bundle, proxy))
            return await self._exchange(
                made[0], method, url, host, what, json_body, form, headers, limit, proxy
            )

        try:
            return await asyncio.wait_for(exchange(), timeout=deadline)
        except asyncio.TimeoutError:
            if not made:  # nothing was sent: an ordinary transient failure
                raise TransientError(
                    f"{what}: could not prepare a connection to {host} within {deadline:g} s "
                    "(the CA bundle or the system's certificate store did not answer)"
                ) from None
            raise SentButNoAnswerError(
                f"{what}: {host} did not answer in time (no complete reply within "
                f"{deadline:g} s, the request_deadline setting)"
            ) from None

    async def _exchange(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: str,
        host: str,
        what: str,
        json_body: Any,
        form: Mapping[str, str] | None,
        headers: Mapping[str, str] | None,
        limit: int,
        proxy: str | None,
    ) -> Reply:
        import httpx

        via = " through the proxy" if proxy else ""
        try:
            async with client.stream(
                method, url, json=json_body, data=form, headers=headers
            ) as response:
                received = time.time()
                status = response.status_code
                reply_headers = {k.lower(): v for k, v in response.headers.items()}
                try:
                    body = await _read_body(response, limit)
                except wire.TooLarge:
                    kind = UnusableReplyError if 200 <= status < 300 else TransientError
                    raise kind(
                        f"{what}: {host} sent a reply larger than {files.size_words(limit)} "
                        f"(HTTP {status}); refused"
                    ) from None
                except wire.BodyError as exc:
                    kind = UnusableReplyError if 200 <= status < 300 else TransientError
                    raise kind(f"{what}: {host} sent a reply that cannot be read ({exc})") from None
        except httpx.ConnectTimeout:
            raise TransientError(f"{what}: timed out connecting to {host}{via}") from None
        except (httpx.ReadTimeout, httpx.WriteTimeout):
            raise SentButNoAnswerError(f"{what}: {host} did not answer in time") from None
        except httpx.PoolTimeout:
            raise TransientError(f"{what}: too many requests waiting for {host}") from None
        except httpx.ProxyError as exc:
            raise TransientError(
                f"{what}: the proxy for {host} failed ({_root(exc)}); check the proxy settings"
            ) from None
        except httpx.ConnectError as exc:
            if _is_tls_failure(exc):
                raise MisconfiguredError(
                    f"{what}: TLS verification failed for {host} ({_root(exc)})"
                ) from None
            raise TransientError(f"{what}: cannot connect to {host}{via} ({_root(exc)})") from None
        except httpx.RemoteProtocolError as exc:
            raise SentButNoAnswerError(
                f"{what}: {host} closed the connection without a complete reply ({_root(exc)})"
            ) from None
        except httpx.LocalProtocolError:
            raise MisconfiguredError(
                f"{what}: the request to {host} holds a value HTTP cannot carry "
                "(a line break or control character)"
            ) from None
        except httpx.UnsupportedProtocol:
            raise MisconfiguredError(f"{what}: unsupported URL scheme for {host}") from None
        except httpx.InvalidURL:
            raise MisconfiguredError(f"{what}: not a valid URL for {host}") from None
        except httpx.HTTPError as exc:
            raise TransientError(f"{what}: {type(exc).__name__} talking to {host}") from None
        return Reply(
            status=status,
            headers=reply_headers,
            body=body,
            url=str(response.url.copy_with(query=None, fragment=None)),
            received_at=received,
        )

    async def aclose(self) -> None:
        if not self._clients:
            return
        await network().run(self._aclose())

    async def _aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()


async def _read_body(response: httpx.Response, limit: int) -> bytes:
    """The body as it arrives, never more than `limit` bytes raw or decoded."""
    declared = response.headers.get("content-length", "").strip()
    codings = response.headers.get_list("content-encoding")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise wire.TooLarge("declared too large")
    decoder = wire.BoundedDecoder(codings, limit)
    raw = 0
    async for chunk in response.aiter_raw():
        raw += len(chunk)
        if raw > limit:
            raise wire.TooLarge("raw body too large")
        decoder.feed(chunk)
    return decoder.finish()


def _root(exc: BaseException) -> str:
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return one_line(str(exc) or type(exc).__name__, _MAX_COMPLAINT)


def _is_tls_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
