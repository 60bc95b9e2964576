"""The two grants that need a person: authorization code with PKCE through the system browser
(RFC 6749 section 4.1, RFC 7636, RFC 8252 for native apps, RFC 9207 `iss`) and the device
authorization grant (RFC 8628).

Authorization code: a one-shot listener on 127.0.0.1 (a random port, or the port and path of
the account's `redirect_uri`) receives the redirect. It answers the first GET to its path that
carries this sign-in's `state` with a short fixed page and closes; other paths get a 404,
requests without that state a 400, and it keeps waiting (any local process can connect, and
none may end the sign-in). The `iss` parameter must be the issuer when sent (and must be sent
when the server's metadata says so), and the code is exchanged with the PKCE verifier, which
never leaves this process except in that token request's body.

Device: the device authorization reply is checked field by field (its user code and links are
shown to the person, opened in a browser and drawn as a QR code), then the token endpoint is
polled at the server's `interval`, 5 s more after each `slow_down`, until tokens,
`access_denied`, `expired_token` or the time limit.

An `id_token` in a token reply (the scope asked for `openid`) is checked (its `iss`, `aud` and,
for the code grant, the `nonce` sent) and kept with the tokens.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import errno
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from vault_app.core import bounds, jwtinfo
from vault_app.core.errors import (
    MisconfiguredError,
    RejectedError,
    SignInNeededError,
    TransientError,
    UsageError,
    UserFacingError,
)
from vault_app.core.http import SentButNoAnswerError
from vault_app.core.model import TokenSet
from vault_app.core.providers import oauth_discovery, replies
from vault_app.core.proxy_env import is_loopback_host
from vault_app.core.redact import one_line
from vault_app.core.sign_in import (
    SIGN_IN_LIMIT,
    BrowserStep,
    DeviceStep,
    SignInView,
    duration_words,
)

if TYPE_CHECKING:
    from vault_app.core.http import Http, Reply
    from vault_app.core.providers.base import AccountConfig
    from vault_app.core.providers.oauth2 import OAuth2Provider

log = logging.getLogger(__name__)

AUTHORIZATION_CODE = "authorization_code"
DEVICE_CODE = "device_code"
INTERACTIVE = (AUTHORIZATION_CODE, DEVICE_CODE)
DEVICE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
# Parameters Token Vault sets in the authorization request; `authorization_params` may not.
OWN_PARAMETERS = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
        "nonce",
    }
)
MAX_HEAD = 16 * 1024  # bytes of a request line and headers the listener reads
MAX_QUERY = 8 * 1024
MAX_CODE = 4096
HEAD_TIMEOUT = 10.0  # seconds a connection to the listener may take to send its request
DEFAULT_INTERVAL = 5.0  # RFC 8628 section 3.2
SLOW_DOWN_STEP = 5.0  # RFC 8628 section 3.5
MAX_INTERVAL = 60.0

# RFC 6749 section 4.1.2.1 error codes, and what each means for the exit code: the person
# said no (4), the account or client is set up wrong (5), or the server is in trouble (5).
DENIED = frozenset({"access_denied", "login_required", "consent_required", "interaction_required"})
SERVER_TROUBLE = frozenset({"server_error", "temporarily_unavailable"})


# -- small checks ---------------------------------------------------------------------------


def _vschar(value: str, limit: int) -> bool:
    """RFC 6749 appendix A: codes and tokens are VSCHAR (printable ASCII)."""
    return 0 < len(value) <= limit and all(" " <= c <= "~" for c in value)


def _error_code(value: str) -> bool:
    """RFC 6749 appendix A.7: NQSCHAR without the space, short."""
    return 0 < len(value) <= 64 and all("!" <= c <= "~" and c not in '"\\' for c in value)


# -- PKCE, state, the request ---------------------------------------------------------------


@dataclass(frozen=True)
class Pkce:
    """RFC 7636: a 64-character verifier (43-128 allowed) and its S256 challenge."""

    verifier: str
    challenge: str

    def __repr__(self) -> str:
        return "Pkce(S256)"


def s256(verifier: str) -> str:
    """RFC 7636 section 4.2: BASE64URL(SHA256(ASCII(code_verifier))), without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def make_pkce() -> Pkce:
    verifier = secrets.token_urlsafe(48)  # 64 characters of [A-Za-z0-9_-]
    return Pkce(verifier, s256(verifier))


@dataclass(frozen=True)
class RedirectTarget:
    """Where the listener binds and what redirect_uri it announces (RFC 8252 section 7.3)."""

    host: str  # as written in the redirect URI: 127.0.0.1, localhost or [::1]
    bind: str  # the address bound: 127.0.0.1 or ::1, never a wildcard
    port: int  # 0: a free port chosen at sign-in
    path: str

    def uri(self, port: int) -> str:
        return f"http://{self.host}:{port}{self.path}"


def redirect_target(value: str | None) -> RedirectTarget:
    """The listener for the account's `redirect_uri` (empty: http://127.0.0.1:<random>/).
    Only plain http to a loopback host, no query or fragment (RFC 8252 sections 7.3, 8.3)."""
    if not value:
        return RedirectTarget("127.0.0.1", "127.0.0.1", 0, "/")
    try:
        parts = urlsplit(value)
        port = parts.port or 0
    except ValueError:
        raise UsageError(f"redirect_uri: not a valid URL: {value!r}") from None
    host = (parts.hostname or "").lower()
    binds = {"127.0.0.1": "127.0.0.1", "localhost": "127.0.0.1", "::1": "::1"}
    if parts.scheme != "http" or host not in binds:
        raise UsageError(
            "redirect_uri: must be http://127.0.0.1:PORT/PATH (or localhost, [::1]): "
            "a loopback redirect as RFC 8252 asks of native apps"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise UsageError("redirect_uri: no query, fragment or credentials")
    path = parts.path or "/"
    if not all("!" <= c <= "~" for c in path):
        raise UsageError("redirect_uri: the path must be plain ASCII without spaces")
    written = "[::1]" if host == "::1" else host
    return RedirectTarget(written, binds[host], port, path)


def extra_parameters(value: str | None) -> dict[str, str]:
    """The account's `authorization_params` (`name=value&...`, e.g. Google's
    `access_type=offline`), checked: no duplicate, none of the parameters Token Vault sets."""
    if not value:
        return {}
    try:
        pairs = parse_qsl(value, keep_blank_values=True, strict_parsing=True, max_num_fields=20)
    except ValueError:
        raise UsageError(
            f"authorization_params: expected name=value&name=value, not {value!r}"
        ) from None
    out: dict[str, str] = {}
    for name, item in pairs:
        if name in OWN_PARAMETERS:
            raise UsageError(f"authorization_params: {name} is set by Token Vault itself")
        if name in out:
            raise UsageError(f"authorization_params: {name} is given twice")
        if not (name + item).isprintable():
            raise UsageError("authorization_params: control characters are not allowed")
        out[name] = item
    return out


def authorization_request(
    endpoint: str,
    fields: Mapping[str, str],
    *,
    redirect_uri: str,
    state: str,
    challenge: str,
    nonce: str | None,
) -> str:
    """The URL the browser opens (RFC 6749 section 4.1.1 with RFC 7636 section 4.3)."""
    scope = fields.get("scope") or ""
    params = {
        "response_type": "code",
        "client_id": fields.get("client_id") or "",
        "redirect_uri": redirect_uri,
        "state": state,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if scope:
        params["scope"] = scope
    if nonce:
        params["nonce"] = nonce
    if fields.get("audience"):
        params["audience"] = fields["audience"]
    extra = extra_parameters(fields.get("authorization_params"))
    if "offline_access" in scope.split() and "prompt" not in extra:
        # OIDC Core section 11: offline access needs prompt=consent, or servers drop it.
        params["prompt"] = "consent"
    params.update(extra)
    separator = "&" if "?" in endpoint else "?"
    return endpoint + separator + urlencode(params)


# -- the redirect ---------------------------------------------------------------------------


def parse_callback_query(query: str) -> dict[str, str]:
    """The redirect's query parameters (RFC 6749 section 4.1.2); MisconfiguredError for a
    query that is too long, not UTF-8, or names a parameter twice (section 3.1 forbids it)."""
    if len(query) > MAX_QUERY:
        raise MisconfiguredError("oauth2: the redirect's query is too long")
    try:
        pairs = parse_qsl(query, keep_blank_values=True, errors="strict", max_num_fields=32)
    except (ValueError, UnicodeDecodeError):
        raise MisconfiguredError("oauth2: the redirect's query is malformed") from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise MisconfiguredError(f"oauth2: the redirect names {one_line(name, 32)} twice")
        params[name] = value
    return params


def read_callback(
    params: Mapping[str, str],
    *,
    state: str,
    issuer: str | None,
    iss_required: bool,
    host: str,
) -> str:
    """The authorization code from the redirect's parameters, after the checks: `state` first
    (a response to another request is never acted on), then `iss` (RFC 9207 section 2.4), then
    an error the server sent. Raises RejectedError (the person said no, or the response does
    not belong to this sign-in), MisconfiguredError or TransientError."""
    got = params.get("state", "")
    if not hmac.compare_digest(got.encode("utf-8", "replace"), state.encode()):
        raise RejectedError(
            "oauth2: the redirect's state does not match this sign-in; nothing was stored"
        )
    iss = params.get("iss")
    if issuer is not None and iss is not None and not oauth_discovery.same_issuer(iss, issuer):
        raise RejectedError(
            f"oauth2: the redirect came from issuer {oauth_discovery.replies_text(iss)}, not "
            f"{issuer} (RFC 9207 mix-up check); nothing was stored"
        )
    if iss is None and iss_required:
        raise RejectedError(
            f"oauth2: the redirect lacks the iss parameter that {host} promises (RFC 9207); "
            "nothing was stored"
        )
    error = params.get("error")
    if error is not None:
        raise _authorization_error(error, params.get("error_description"), host)
    code = params.get("code")
    if code is None or not _vschar(code, MAX_CODE):
        raise MisconfiguredError(f"oauth2: the redirect from {host} carries no usable code")
    return code


def _authorization_error(code: str, description: str | None, host: str) -> UserFacingError:
    if not _error_code(code):
        return MisconfiguredError(f"oauth2: {host} sent a malformed error in the redirect")
    said = f"; server says: {one_line(description)}" if description and description.strip() else ""
    explained = replies.EXPLAINED.get(code, "the sign-in did not complete")
    message = f"oauth2: sign-in at {host} ended with {code} ({explained}{said})"
    if code in DENIED:
        return RejectedError(message)
    if code in SERVER_TROUBLE:
        return TransientError(message)
    return MisconfiguredError(message)


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Token Vault</title>
<style>body{{font-family:sans-serif;margin:4em auto;max-width:32em;color:#222}}</style>
</head><body><h1>{title}</h1><p>{text}</p></body></html>
"""
# Fixed texts only: nothing from the request is ever written into a page.
PAGES = {
    "done": ("Signed in", "Token Vault has the sign-in. You can close this tab."),
    "failed": (
        "Sign-in not completed",
        "Token Vault did not accept this response; it says why. You can close this tab.",
    ),
    "unknown": ("Not found", "This address is not part of a sign-in."),
    "over": ("Sign-in over", "This sign-in is already over. You can close this tab."),
    "method": ("Method not allowed", "Open this address with a plain GET."),
    "bad": ("Bad request", "The request could not be read."),
}


def page(kind: str, status: int) -> bytes:
    title, text = PAGES[kind]
    body = _PAGE.format(title=title, text=text).encode()
    reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
    head = (
        f"HTTP/1.1 {status} {reason.get(status, 'Gone')}\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Cache-Control: no-store\r\n"
        # The address bar holds the code: no resource, referrer or frame may carry it away.
        "Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'\r\n"
        "Referrer-Policy: no-referrer\r\n"
        "X-Content-Type-Options: nosniff\r\n"
        "X-Frame-Options: DENY\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


@dataclass(frozen=True)
class Head:
    method: str
    path: str
    query: str
    host: str


def parse_head(raw: bytes) -> Head | None:
    """The request line and Host header of an HTTP/1.x request head; None when malformed."""
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or not parts[1].startswith("/"):
        return None
    method, target = parts[0], parts[1]
    path, _, query = target.partition("?")
    host = ""
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon and name.strip().lower() == "host":
            if host:
                return None  # two Host headers
            host = value.strip().lower()
    return Head(method, path, query.partition("#")[0], host)


class _NoIpv6Loopback(Exception):
    """This machine has no ::1 to listen on."""


class LoopbackListener:
    """The one-shot redirect listener. `start()` binds, `result()` waits for the first GET to
    the redirect path that carries `state` (exactly once) and gives its query parameters,
    `aclose()` frees the port. Any process on this machine, and any web page that guesses
    the port, can send requests here: those without this sign-in's state are refused with
    a 400 and counted in `refused`, and the wait goes on, so none can end the sign-in.
    `state` None: the first GET counts, whatever it carries. Requests are never logged
    (their query holds the code)."""

    def __init__(self, target: RedirectTarget, state: str | None = None) -> None:
        self.target = target
        self.state = state
        self.refused = 0  # requests to the redirect path that did not carry `state`
        self.port = 0
        self._servers: list[asyncio.Server] = []
        self._result: asyncio.Future[dict[str, str]] | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def redirect_uri(self) -> str:
        return self.target.uri(self.port)

    async def start(self) -> None:
        self._result = asyncio.get_running_loop().create_future()
        first = await self._bind(self.target.bind, self.target.port)
        self._servers = [first]
        self.port = first.sockets[0].getsockname()[1]
        if self.target.host == "localhost":
            # RFC 8252 section 8.3: a browser may resolve localhost to ::1 first. Hold the
            # port there too, so no other program can take it and receive the redirect.
            try:
                self._servers.append(await self._bind("::1", self.port))
            except _NoIpv6Loopback:
                pass
            except UsageError:
                await self.aclose()
                raise

    async def _bind(self, address: str, port: int) -> asyncio.Server:
        try:
            return await asyncio.start_server(self._serve, address, port, limit=MAX_HEAD, backlog=8)
        except OSError as exc:
            if address == "::1" and exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                raise _NoIpv6Loopback from None
            shown = f"[{address}]" if ":" in address else address
            raise UsageError(
                f"oauth2: cannot listen on {shown}:{port} for the redirect "
                f"({exc.strerror or exc}); is another sign-in or program using it?"
            ) from None

    def sockets(self) -> list[Any]:
        """The listening sockets (one, or two for a localhost redirect)."""
        return [sock for server in self._servers for sock in server.sockets]

    async def result(self) -> dict[str, str]:
        assert self._result is not None, "start() first"
        return await asyncio.shield(self._result)

    async def aclose(self) -> None:
        servers, self._servers = self._servers, []
        for server in servers:
            server.close()
        for writer in list(self._writers):
            writer.close()
        for server in servers:
            with contextlib.suppress(Exception):
                await server.wait_closed()
        if self._result is not None and not self._result.done():
            self._result.cancel()

    def _carries_state(self, query: str) -> bool:
        """Whether `query` names this sign-in's state exactly once (read leniently, so a
        response of this sign-in that is otherwise malformed still ends it with its error)."""
        if self.state is None:
            return True
        if len(query) > MAX_QUERY:
            return False
        states = [v for k, v in parse_qsl(query, keep_blank_values=True) if k == "state"]
        return len(states) == 1 and hmac.compare_digest(
            states[0].encode("utf-8", "replace"), self.state.encode()
        )

    def _expected_hosts(self) -> set[str]:
        hosts = {f"{self.target.host}:{self.port}"}
        if self.target.bind == "127.0.0.1":
            hosts |= {f"127.0.0.1:{self.port}", f"localhost:{self.port}"}
        return hosts

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            try:
                raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
                writer.write(page("bad", 400))
                return
            except (asyncio.TimeoutError, ConnectionError):
                return
            writer.write(self._answer(parse_head(raw)))
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        finally:
            self._writers.discard(writer)
            writer.close()

    def _answer(self, head: Head | None) -> bytes:
        assert self._result is not None
        # A Host other than our own is a DNS-rebinding page talking to us: never act on it.
        if head is None or head.host not in self._expected_hosts():
            return page("bad", 400)
        if head.path != self.target.path:
            return page("unknown", 404)
        if self._result.done():
            return page("over", 410)
        if head.method != "GET":
            return page("method", 405)
        try:
            params = parse_callback_query(head.query)
        except MisconfiguredError as exc:
            if not self._carries_state(head.query):
                self.refused += 1
                return page("failed", 400)
            self._result.set_exception(exc)
            return page("failed", 400)
        if not self._carries_state(head.query):
            self.refused += 1
            return page("failed", 400)
        self._result.set_result(params)
        ok = "code" in params and "error" not in params
        return page("done", 200) if ok else page("failed", 400)


async def sign_in_with_browser(
    provider: OAuth2Provider,
    http: Http,
    config: AccountConfig,
    view: SignInView,
    *,
    limit: float = SIGN_IN_LIMIT,
) -> TokenSet:
    """Authorization code with PKCE through the browser; the listener is closed (its port
    freed) however this ends: tokens, an error, the time limit or cancellation."""
    fields = config.fields
    authorize_url = oauth_discovery.endpoint(fields, "authorization_url")
    if not authorize_url:
        raise UsageError("oauth2: authorization_code needs authorization_url or an issuer")
    methods = fields.get(oauth_discovery.CODE_CHALLENGE_METHODS)
    if methods and "S256" not in methods.split():
        raise MisconfiguredError(
            "oauth2: the server does not offer PKCE with S256, which Token Vault requires"
        )
    pkce = make_pkce()
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32) if _wants_openid(fields) else None
    listener = LoopbackListener(redirect_target(fields.get("redirect_uri")), state)
    await listener.start()
    try:
        url = authorization_request(
            authorize_url,
            fields,
            redirect_uri=listener.redirect_uri,
            state=state,
            challenge=pkce.challenge,
            nonce=nonce,
        )
        view.show(BrowserStep(url))
        try:
            params = await asyncio.wait_for(listener.result(), limit)
        except asyncio.TimeoutError:
            raise RejectedError(_too_late(limit, listener.refused)) from None
        redirect_uri = listener.redirect_uri
    finally:
        await listener.aclose()
    host = urlsplit(authorize_url).netloc
    code = read_callback(
        params,
        state=state,
        issuer=oauth_discovery.issuer_of(fields),
        iss_required=fields.get(oauth_discovery.ISS_PARAMETER) == "true",
        host=host,
    )
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": pkce.verifier,
    }
    return await exchange(provider, http, config, form, "oauth2: code exchange", nonce=nonce)


def _too_late(limit: float, refused: int = 0) -> str:
    others = ""
    if refused:
        which = "redirect whose state does" if refused == 1 else "redirects whose state do"
        others = f"; {refused} {which} not match this sign-in (refused)"
    return (
        f"oauth2: the sign-in was not completed within {duration_words(limit)}{others}; "
        "nothing was stored"
    )


def _wants_openid(fields: Mapping[str, str]) -> bool:
    return "openid" in (fields.get("scope") or "").split()


# -- the device grant -----------------------------------------------------------------------


@dataclass(frozen=True)
class DeviceAuthorization:
    """A checked RFC 8628 section 3.2 reply; `expires_in` and `interval` in seconds."""

    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: float
    interval: float

    def __repr__(self) -> str:
        return f"DeviceAuthorization(expires_in={self.expires_in}, interval={self.interval})"


def _link(value: Any, name: str, where: str) -> str:
    """A link shown to the person and opened in a browser: https (http only on loopback),
    printable ASCII without spaces, no credentials, at most 2,048 characters."""
    if not isinstance(value, str) or not 0 < len(value) <= oauth_discovery.MAX_URL:
        raise MisconfiguredError(f"{where}: {name} is missing or not a URL")
    if not all("!" <= c <= "~" for c in value):
        raise MisconfiguredError(f"{where}: {name} holds characters a URL cannot have")
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        _ = parts.port
    except ValueError:
        raise MisconfiguredError(f"{where}: {name} is not a valid URL") from None
    secure = parts.scheme == "https" or (parts.scheme == "http" and is_loopback_host(host))
    if not secure or not host or parts.username or parts.password:
        raise MisconfiguredError(f"{where}: {name} must be an https:// address")
    return value


def parse_device_reply(data: Mapping[str, Any], host: str) -> DeviceAuthorization:
    """The device authorization reply (RFC 8628 section 3.2), checked: a device code (VSCHAR),
    a user code of at most 64 printable characters, https links (`verification_url` is
    accepted for `verification_uri`, as Google spells it). A missing or unusable `expires_in`
    counts as the sign-in limit; `interval` defaults to 5 s and is kept within 1-60 s."""
    where = f"oauth2: device authorization at {host}"
    device_code = data.get("device_code")
    if not isinstance(device_code, str) or not _vschar(device_code, MAX_CODE):
        raise MisconfiguredError(f"{where}: the reply has no usable device_code")
    user_code = data.get("user_code")
    if (
        not isinstance(user_code, str)
        or not 0 < len(user_code.strip()) <= 64
        or not all(c.isprintable() for c in user_code)
    ):
        raise MisconfiguredError(f"{where}: the reply has no usable user_code")
    uri = data.get("verification_uri", data.get("verification_url"))
    verification_uri = _link(uri, "verification_uri", where)
    complete = data.get("verification_uri_complete")
    verification_uri_complete = (
        None if complete is None else _link(complete, "verification_uri_complete", where)
    )
    expires_in = bounds.duration(replies.seconds(data.get("expires_in"))) or SIGN_IN_LIMIT
    interval = bounds.duration(replies.seconds(data.get("interval"))) or DEFAULT_INTERVAL
    return DeviceAuthorization(
        device_code=device_code,
        user_code=user_code.strip(),
        verification_uri=verification_uri,
        verification_uri_complete=verification_uri_complete,
        expires_in=expires_in,
        interval=min(max(interval, 1.0), MAX_INTERVAL),
    )


POLL_ERRORS = ("authorization_pending", "slow_down", "expired_token", "access_denied")


def poll_error(reply: Reply) -> str | None:
    """The RFC 8628 section 3.5 error code of a token reply, when it is one of the four that
    the polling loop handles itself. RFC 8628 names the codes, not the status, and servers
    differ: 400 (the RFC), 403 and 429 (Auth0), 428 (Google), 200 (GitHub); so any 200 or 4xx
    carrying one of them counts."""
    if not (reply.status == 200 or 400 <= reply.status < 500):
        return None
    try:
        data = reply.fields("oauth2: device poll")
    except TransientError:
        return None
    code = data.get("error")
    return code if isinstance(code, str) and code in POLL_ERRORS else None


def slowed_down(reply: Reply, interval: float) -> float:
    """The polling interval after `slow_down`: 5 s more (RFC 8628 section 3.5), or the new
    `interval` the reply names when that is longer (GitHub sends one); at most MAX_INTERVAL."""
    given = bounds.duration(replies.seconds(reply.fields("oauth2: device poll").get("interval")))
    return min(max(interval + SLOW_DOWN_STEP, given or 0.0), MAX_INTERVAL)


Sleep = Callable[[float], Awaitable[None]]


async def sign_in_with_device(
    provider: OAuth2Provider,
    http: Http,
    config: AccountConfig,
    view: SignInView,
    *,
    limit: float = SIGN_IN_LIMIT,
    sleep: Sleep = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> TokenSet:
    """The device authorization grant: ask for a code, show it, poll until the person is done.
    `sleep` and `clock` are injectable so tests never wait for real."""
    fields = config.fields
    device_url = oauth_discovery.endpoint(fields, "device_authorization_url")
    if not device_url:
        raise UsageError("oauth2: device_code needs device_authorization_url or an issuer")
    what = "oauth2: device authorization"
    form: dict[str, str] = {}
    if fields.get("scope"):
        form["scope"] = fields["scope"]
    if fields.get("audience"):
        form["audience"] = fields["audience"]
    headers = provider._client_auth(config, form)
    reply = await provider.request(
        http, config, "POST", device_url, what=what, form=form, headers=headers
    )
    from vault_app.core.providers.oauth2 import _token_reply

    grant = parse_device_reply(_token_reply(reply, what), reply.host)
    view.show(
        DeviceStep(
            grant.user_code,
            grant.verification_uri,
            grant.verification_uri_complete,
            grant.expires_in,
        )
    )
    deadline = clock() + min(grant.expires_in, limit)
    interval = grant.interval
    trouble: UserFacingError | None = None
    while True:
        if clock() + interval > deadline:
            if trouble is not None:
                raise trouble
            raise RejectedError(_too_late(min(grant.expires_in, limit)))
        await sleep(interval)
        form = {"grant_type": DEVICE_GRANT_TYPE, "device_code": grant.device_code}
        headers = provider._client_auth(config, form)
        try:
            reply = await provider.request(
                http,
                config,
                "POST",
                _token_url(fields),
                what="oauth2: device poll",
                form=form,
                headers=headers,
            )
        except (TransientError, SentButNoAnswerError) as exc:
            # RFC 8628 section 3.5: after a timeout, poll less often (doubling).
            trouble, interval = exc, min(interval * 2, MAX_INTERVAL)
            continue
        code = poll_error(reply)
        if code == "authorization_pending":
            continue
        if code == "slow_down":
            interval = slowed_down(reply, interval)
            continue
        if code == "access_denied":
            raise RejectedError(f"oauth2: the sign-in was denied at {reply.host}")
        if code == "expired_token":
            raise RejectedError(
                f"oauth2: the code expired at {reply.host} before the sign-in was completed"
            )
        return tokens_from(reply, config, "oauth2: device poll", nonce=None)


# -- token replies --------------------------------------------------------------------------


def _token_url(fields: Mapping[str, str]) -> str:
    url = oauth_discovery.endpoint(fields, "token_url")
    if not url:
        raise MisconfiguredError("oauth2: no token endpoint: set token_url or issuer")
    return url


async def exchange(
    provider: OAuth2Provider,
    http: Http,
    config: AccountConfig,
    form: dict[str, str],
    what: str,
    *,
    nonce: str | None,
) -> TokenSet:
    """One token request (RFC 6749 section 4.1.3 or 6) with the account's client
    authentication; the reply's tokens, id_token included."""
    headers = provider._client_auth(config, form)
    reply = await provider.request(
        http, config, "POST", _token_url(config.fields), what=what, form=form, headers=headers
    )
    return tokens_from(reply, config, what, nonce=nonce)


def tokens_from(reply: Reply, config: AccountConfig, what: str, *, nonce: str | None) -> TokenSet:
    """The tokens of a token reply, with its id_token checked (see `check_id_token`)."""
    from vault_app.core.providers.oauth2 import token_reply_tokens

    tokens, data = token_reply_tokens(reply, what)
    id_token = data.get("id_token")
    if id_token is not None:
        tokens.id_token = check_id_token(id_token, config.fields, nonce, reply.host)
    return tokens


def check_id_token(value: Any, fields: Mapping[str, str], nonce: str | None, host: str) -> str:
    """An id_token from the token endpoint (OIDC Core section 3.1.3.7; received over TLS from
    that endpoint, so its signature is not checked here): a JWT whose `iss` is the issuer,
    whose `aud` names our client_id and which carries the `nonce` we sent."""
    where = f"oauth2: the id_token from {host}"
    if not isinstance(value, str) or not _vschar(value, 64 * 1024):
        raise MisconfiguredError(f"{where} is not a token")
    info = jwtinfo.inspect(value)
    if info is None:
        raise MisconfiguredError(f"{where} is not a readable JWT")
    issuer = oauth_discovery.issuer_of(fields)
    iss = info.claims.get("iss")
    same = isinstance(iss, str) and oauth_discovery.same_issuer(iss, issuer or "")
    if issuer is not None and not same:
        raise MisconfiguredError(f"{where} names another issuer; nothing was stored")
    aud = info.claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if fields.get("client_id") not in audiences:
        raise MisconfiguredError(f"{where} was issued to another client; nothing was stored")
    if nonce is not None:
        got = info.claims.get("nonce")
        if not isinstance(got, str) or not hmac.compare_digest(got.encode(), nonce.encode()):
            raise MisconfiguredError(f"{where} does not carry this sign-in's nonce")
    return value


async def refresh(
    provider: OAuth2Provider, http: Http, config: AccountConfig, tokens: TokenSet
) -> TokenSet:
    """A refresh for an account of an interactive grant; without a refresh token only the
    person can sign in again."""
    if not tokens.refresh_token:
        raise SignInNeededError(needs_person(config))
    form = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}
    return await exchange(provider, http, config, form, "oauth2: refresh", nonce=None)


def needs_person(config: AccountConfig) -> str:
    grant = config.fields.get("grant") or ""
    how = "through the browser" if grant == AUTHORIZATION_CODE else "with a device code"
    return f"oauth2: this account signs in {how}: sign in again (Sign in, or token-vault login)"
