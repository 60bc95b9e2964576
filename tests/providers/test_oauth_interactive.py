"""The browser and device sign-in against the fake, for what a real server rarely does: a wrong
`state` or `iss`, an error with hostile text, a redirect that never comes (time limit, cancel;
the port is free afterwards), other requests to the listener, slow_down, expired_token,
access_denied, hostile device replies, a discovery document naming another issuer, endpoints
that moved, an id_token for someone else; and the refresh path never starting a sign-in."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest

from tests.fakes.oauth_interactive import InteractiveFake
from tests.fakes.server import Fault
from tests.providers.wire import run, serving, stored
from vault_app.core.errors import MisconfiguredError, RejectedError, UserFacingError
from vault_app.core.http import Http
from vault_app.core.model import Status
from vault_app.core.providers import oauth_interactive
from vault_app.core.providers.base import AccountConfig
from vault_app.core.providers.oauth2 import OAuth2Provider
from vault_app.core.sign_in import BrowserStep, DeviceStep, Step
from vault_app.core.vault import Vault

CLIENT = "tv-app"
SCOPE = "openid offline_access"


@pytest.fixture
def fake() -> Iterator[InteractiveFake]:
    with serving(InteractiveFake()) as made:
        made.add_interactive_client(CLIENT)
        made.add_interactive_client("tv-confidential", "confidential-secret-0001")
        yield made


Answer = Callable[[BrowserStep], Coroutine[Any, Any, None]]


class View:
    """Plays the person: on the browser step, runs `answer` (which talks to the listener)."""

    def __init__(self, answer: Answer | None = None) -> None:
        self.answer = answer
        self.steps: list[Step] = []
        self.tasks: list[asyncio.Task[None]] = []

    def show(self, step: Step) -> None:
        self.steps.append(step)
        if self.answer is not None and isinstance(step, BrowserStep):
            self.tasks.append(asyncio.ensure_future(self.answer(step)))


def redirect_of(step: BrowserStep) -> str:
    return dict(parse_qsl(urlsplit(step.url).query))["redirect_uri"]


async def get(url: str, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False) as client:
        return await client.get(url, headers=headers)


def send(fake: InteractiveFake, **change: str | None) -> Answer:
    """The server's redirect after a consent, with parameters changed (None removes one)."""

    async def answer(step: BrowserStep) -> None:
        params: dict[str, str] = fake.authorize(step.url)
        for name, value in change.items():
            if value is None:
                params.pop(name, None)
            else:
                params[name] = value
        await get(redirect_of(step) + "?" + urlencode(params))

    return answer


def fields(fake: InteractiveFake, **extra: str) -> dict[str, str]:
    return {
        "issuer": fake.issuer,
        "grant": "authorization_code",
        "client_id": CLIENT,
        "scope": SCOPE,
        **extra,
    }


async def added(vault: Vault, fake: InteractiveFake, **extra: str) -> None:
    account, failure = await vault.add("acct", "oauth2", fields(fake, **extra), {})
    assert failure is None and account.status is Status.SIGNED_OUT


def refused(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def port_free(port: int) -> bool:
    """Whether a new listener can take the port (as servers do: SO_REUSEADDR, so connections
    that just closed, in TIME_WAIT, do not hold it)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_code_flow_stores_tokens_and_id_token(tmp_path: Path, fake: InteractiveFake) -> None:
    async def scenario(vault: Vault) -> None:
        await added(vault, fake)
        view = View(send(fake))
        account, tokens = await vault.login("acct", view)
        assert account.status is Status.OK and tokens.refresh_token and tokens.id_token
        step = view.steps[0]
        assert isinstance(step, BrowserStep)
        query = dict(parse_qsl(urlsplit(step.url).query))
        assert query["prompt"] == "consent" and query["nonce"] and query["scope"] == SCOPE
        assert redirect_of(step).startswith("http://127.0.0.1:")
        exchange = fake.requests_to("/token")[-1].form()
        assert exchange["grant_type"] == ["authorization_code"]
        assert exchange["redirect_uri"] == [query["redirect_uri"]]
        assert len(exchange["code_verifier"][0]) == 64
        assert exchange["code_verifier"][0] not in step.url
        assert (
            exchange["client_id"] == [CLIENT]
            and "authorization" not in fake.requests_to("/token")[-1].headers
        )
        port = urlsplit(redirect_of(step)).port
        assert port is not None and refused(port) and port_free(port)
        bundle = stored(vault, "acct").bundle
        assert bundle is not None and tokens.id_token in bundle

    run(tmp_path, scenario)


def test_confidential_client_authenticates_with_basic(
    tmp_path: Path, fake: InteractiveFake
) -> None:
    async def scenario(vault: Vault) -> None:
        extra = fields(fake, client_id="tv-confidential")
        secrets = {"client_secret": "confidential-secret-0001"}
        account, failure = await vault.add("acct", "oauth2", extra, secrets)
        assert failure is None and account.status is Status.SIGNED_OUT  # not signed in yet
        await vault.login("acct", View(send(fake)))
        request = fake.requests_to("/token")[-1]
        assert (request.header("authorization") or "").startswith("Basic ")
        assert "client_secret" not in request.form()

    run(tmp_path, scenario)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"state": "someone-elses-state"}, "state does not match"),
        ({"state": None}, "state does not match"),
        ({"iss": "https://attacker.example"}, "RFC 9207 mix-up"),
        ({"iss": None}, "lacks the iss parameter"),
        (
            {"code": None, "error": "access_denied", "error_description": "No\r\nX-Evil: 1 <b>"},
            "access_denied",
        ),
    ],
)
def test_redirects_that_are_refused(
    tmp_path: Path, fake: InteractiveFake, change: dict[str, str | None], expected: str
) -> None:
    async def scenario(vault: Vault) -> None:
        await added(vault, fake)
        before = stored(vault, "acct")
        # A response without this sign-in's state is refused and the wait goes on (anyone
        # can send one): the sign-in ends at its limit, saying what was refused.
        limit = 1.0 if "state" in change else None
        with pytest.raises(RejectedError) as caught:
            await vault.login("acct", View(send(fake, **change)), limit=limit)
        assert expected in caught.value.message
        assert "\n" not in caught.value.message and "\r" not in caught.value.message
        assert stored(vault, "acct") == before  # nothing changed
        assert fake.requests_to("/token") == []  # no code was ever exchanged

    run(tmp_path, scenario)


@pytest.mark.parametrize(
    ("error", "kind"),
    [("invalid_scope", MisconfiguredError), ("temporarily_unavailable", UserFacingError)],
)
def test_other_authorization_errors(
    tmp_path: Path, fake: InteractiveFake, error: str, kind: type[UserFacingError]
) -> None:
    async def scenario(vault: Vault) -> None:
        await added(vault, fake)
        with pytest.raises(kind) as caught:
            await vault.login("acct", View(send(fake, code=None, error=error)))
        assert error in caught.value.message and caught.value.exit_code == 5

    run(tmp_path, scenario)


def test_a_redirect_that_never_comes_ends_in_time_and_frees_the_port(
    tmp_path: Path, fake: InteractiveFake
) -> None:
    async def scenario(vault: Vault) -> None:
        await added(vault, fake)
        view = View()
        with pytest.raises(RejectedError) as caught:
            await vault.login("acct", view, limit=0.5)
        assert "not completed within 0.5 s" in caught.value.message
        step = view.steps[0]
        assert isinstance(step, BrowserStep)
        port = urlsplit(redirect_of(step)).port
        assert port is not None and refused(port) and port_free(port)

    run(tmp_path, scenario)


def test_cancel_closes_the_listener(tmp_path: Path, fake: InteractiveFake) -> None:
    async def scenario(vault: Vault) -> None:
        await added(vault, fake)
        view = View()
        task = asyncio.ensure_future(vault.login("acct", view))
        while not view.steps:
            await asyncio.sleep(0.01)
        step = view.steps[0]
        assert isinstance(step, BrowserStep)
        port = urlsplit(redirect_of(step)).port
        assert port is not None and not refused(port)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert refused(port) and port_free(port)
        assert vault.load().find("acct").status is Status.SIGNED_OUT

    run(tmp_path, scenario)


def test_the_listener_answers_only_its_path_once(tmp_path: Path, fake: InteractiveFake) -> None:
    pages: list[httpx.Response] = []

    async def answer(step: BrowserStep) -> None:
        base = redirect_of(step)
        root = base.rsplit("/", 1)[0]
        pages.append(await get(root + "/favicon.ico"))  # another path: 404, keeps waiting
        pages.append(await get(base + "?code=x&state=y", Host="evil.example"))  # rebinding
        params = fake.authorize(step.url)
        params["junk"] = "<script>alert(1)</script>"
        pages.append(await get(base + "?" + urlencode(params)))

    async def scenario(vault: Vault) -> None:
        await added(vault, fake)
        view = View(answer)
        await vault.login("acct", view)
        assert [p.status_code for p in pages] == [404, 400, 200]
        for page in pages:
            assert "<script>" not in page.text and "alert" not in page.text
            assert page.headers["referrer-policy"] == "no-referrer"
            assert "default-src 'none'" in page.headers["content-security-policy"]
        assert "You can close this tab" in pages[-1].text
        step = view.steps[0]
        assert isinstance(step, BrowserStep)
        with pytest.raises(httpx.ConnectError):  # a second redirect: nobody listens any more
            await get(redirect_of(step) + "?" + urlencode(fake.authorize(step.url)))

    run(tmp_path, scenario)


def test_requests_racing_the_browser_do_not_end_the_sign_in(
    tmp_path: Path, fake: InteractiveFake
) -> None:
    """Any local process, or a web page that guessed the port, can reach the listener: only
    the response carrying this sign-in's `state` (once) counts; every other request to the
    redirect path is refused with a 400 and the listener keeps waiting for the browser."""
    pages: list[httpx.Response] = []

    async def answer(step: BrowserStep) -> None:
        base = redirect_of(step)
        real = fake.authorize(step.url)
        hostile = [
            "",
            "?code=stolen",
            "?error=access_denied",
            "?state=someone-elses&code=x",
            "?code=x&state=" + real["state"] + "&state=" + real["state"],
            "?state=%FF%FE&code=x",
            "?" + "a=1&" * 40,
        ]
        for query in hostile:
            pages.append(await get(base + query))
        pages.append(await get(base + "?" + urlencode(real)))

    async def scenario(vault: Vault) -> None:
        await added(vault, fake)
        account, tokens = await vault.login("acct", View(answer))
        assert account.status is Status.OK and tokens.access_token
        assert [p.status_code for p in pages] == [400] * 7 + [200]
        assert len(fake.requests_to("/token")) == 1

    run(tmp_path, scenario)


def test_fixed_redirect_uri_port_and_path(tmp_path: Path, fake: InteractiveFake) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    uri = f"http://127.0.0.1:{port}/oauth/callback"

    async def scenario(vault: Vault) -> None:
        await added(vault, fake, redirect_uri=uri)
        view = View(send(fake))
        await vault.login("acct", view)
        step = view.steps[0]
        assert isinstance(step, BrowserStep) and redirect_of(step) == uri

    run(tmp_path, scenario)


def test_id_token_for_another_client_or_nonce_is_refused(
    tmp_path: Path, fake: InteractiveFake
) -> None:
    async def scenario(vault: Vault) -> None:
        await added(vault, fake)
        before = stored(vault, "acct")
        for claims in (
            {"aud": "someone-else"},
            {"nonce": "replayed"},
            {"iss": "https://x.example"},
        ):
            fake.id_token_claims = claims
            with pytest.raises(MisconfiguredError):
                await vault.login("acct", View(send(fake)))
            assert stored(vault, "acct") == before

    run(tmp_path, scenario)


def test_discovery_document_for_another_issuer_is_refused(
    tmp_path: Path, fake: InteractiveFake
) -> None:
    fake.issuer_in_document = "https://attacker.example"

    async def scenario(vault: Vault) -> None:
        with pytest.raises(MisconfiguredError) as caught:
            await vault.add("acct", "oauth2", fields(fake), {})
        assert "names issuer 'https://attacker.example'" in caught.value.message
        assert vault.load().accounts == []  # nothing was added

    run(tmp_path, scenario)


def test_rfc8414_place_and_endpoints_set_by_hand_win(tmp_path: Path, fake: InteractiveFake) -> None:
    fake.oidc_document = False

    async def scenario(vault: Vault) -> None:
        await added(vault, fake, token_url=fake.url + "/token")
        account = vault.load().find("acct")
        assert account.fields["discovered_authorization_url"] == fake.url + "/authorize"
        assert account.fields["token_url"] == fake.url + "/token"
        assert fake.requests_to("/.well-known/oauth-authorization-server")

    run(tmp_path, scenario)


def test_moved_token_endpoint_is_rediscovered_on_failure(
    tmp_path: Path, fake: InteractiveFake
) -> None:
    async def scenario(vault: Vault) -> None:
        await added(vault, fake)
        await vault.login("acct", View(send(fake)))
        fake.routes[("POST", "/v2/token")] = fake.routes[("POST", "/token")]
        fake.document_extra["token_endpoint"] = fake.url + "/v2/token"
        fake.inject("/token", Fault.status(404), times=None)
        account, _ = await vault.refresh("acct")
        assert account.status is Status.OK
        assert account.fields["discovered_token_url"] == fake.url + "/v2/token"
        assert len(fake.requests_to("/v2/token")) == 1

    run(tmp_path, scenario)


def test_no_superseded_refresh_token_is_kept_beside_the_tokens(
    tmp_path: Path, fake: InteractiveFake
) -> None:
    """The refresh token of a browser sign-in lives with the tokens only: a refresh does not
    copy it into the account's secrets (as if the person had typed one), where a later
    sign-in would leave the superseded one behind in the keyring."""

    async def scenario(vault: Vault) -> None:
        await added(vault, fake)
        _, first = await vault.login("acct", View(send(fake)))
        _, refreshed = await vault.refresh("acct")
        _, last = await vault.login("acct", View(send(fake)))
        account = vault.load().find("acct")
        bundle = vault.read_current_sync(account)
        assert bundle is not None and bundle.tokens is not None
        assert bundle.secrets == {} and account.secret_fields == []
        assert bundle.tokens.refresh_token == last.refresh_token
        text = json.dumps(bundle.to_json())
        for old in (first.refresh_token, refreshed.refresh_token):
            assert old and old not in text

    run(tmp_path, scenario)


@pytest.mark.parametrize("change", ["issuer", "token_url", "client_id"])
def test_tokens_never_follow_an_edit_to_another_server(
    tmp_path: Path, fake: InteractiveFake, change: str
) -> None:
    """Edit the account to another server (issuer, token endpoint) or client, then leave
    without signing in there: the tokens of the first server are dropped, never sent to the
    second (a refresh token goes only to the server that issued it, RFC 6749 section 10.4)."""
    with serving(InteractiveFake()) as other:
        other.add_interactive_client(CLIENT)
        other.add_interactive_client("another-client")

        async def scenario(vault: Vault) -> None:
            await added(vault, fake)
            _, tokens = await vault.login("acct", View(send(fake)))
            assert tokens.refresh_token
            value = {
                "issuer": other.issuer,
                "token_url": other.token_url,
                "client_id": "another-client",
            }[change]
            await vault.edit("acct", {change: value}, {})  # the person then cancels the sign-in
            with pytest.raises(RejectedError):
                await vault.refresh("acct")
            sent = [r.body for r in other.requests_to("/token")] + [
                r.body for r in fake.requests_to("/token")[1:]
            ]
            assert not any(tokens.refresh_token.encode() in body for body in sent)
            bundle = vault.read_current_sync(vault.load().find("acct"))
            assert bundle is not None and bundle.tokens is None

        run(tmp_path, scenario)


@pytest.mark.parametrize("change", [{"scope": "openid"}, {"client_auth": "none"}])
def test_an_edit_on_the_same_server_keeps_the_tokens(
    tmp_path: Path, fake: InteractiveFake, change: dict[str, str]
) -> None:
    async def scenario(vault: Vault) -> None:
        await added(vault, fake)
        _, tokens = await vault.login("acct", View(send(fake)))
        await vault.edit("acct", change, {})
        _, kept = await vault.token("acct")
        assert kept.access_token == tokens.access_token

    run(tmp_path, scenario)


def test_refresh_never_starts_a_sign_in(tmp_path: Path, fake: InteractiveFake) -> None:
    async def scenario(vault: Vault) -> None:
        await added(vault, fake)
        view = View(send(fake))
        _, tokens = await vault.login("acct", view)
        assert tokens.refresh_token
        fake.revoke_family(fake.family_of(tokens.refresh_token), "revoked")  # type: ignore[arg-type]
        with pytest.raises(RejectedError):
            await vault.refresh("acct")
        assert vault.load().find("acct").status is Status.SIGN_IN_NEEDED
        assert len(view.steps) == 1  # only the sign-in the test asked for
        # A refresh without any tokens (a new account) does not start one either.
        account, failure = await vault.add("other", "oauth2", fields(fake), {})
        with pytest.raises(RejectedError) as caught:
            await vault.refresh("other")
        assert "sign in again" in caught.value.message and failure is None
        assert account.status is Status.SIGNED_OUT

    run(tmp_path, scenario)


# -- the device grant, with an injected clock ------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def device(fake: InteractiveFake, clock: Clock, view: View, limit: float = 300) -> Any:
    async def main() -> Any:
        http = Http()
        provider = OAuth2Provider()
        try:
            config = AccountConfig(fields(fake, grant="device_code"), {})
            config = AccountConfig(await provider.discover(http, config), {})
            return await oauth_interactive.sign_in_with_device(
                provider,
                http,
                provider.resolved(config),
                view,
                limit=limit,
                sleep=clock.sleep,
                clock=clock,
            )
        finally:
            await http.aclose()

    return asyncio.run(main())


def test_device_polls_at_interval_and_slows_down(fake: InteractiveFake) -> None:
    fake.device_outcomes = ["authorization_pending", "slow_down", "authorization_pending"]
    fake.device_interval = 3
    clock, view = Clock(), View()
    tokens = device(fake, clock, view)
    assert tokens.id_token and tokens.refresh_token
    assert clock.sleeps == [3, 3, 8, 8]  # +5 s after slow_down, kept afterwards
    step = view.steps[0]
    assert isinstance(step, DeviceStep) and step.user_code == "WDJB-MJHT"
    assert step.verification_uri == fake.url + "/device"
    poll = fake.requests_to("/token")[-1].form()
    assert poll["grant_type"] == ["urn:ietf:params:oauth:grant-type:device_code"]


@pytest.mark.parametrize(
    ("outcome", "expected"), [("expired_token", "code expired"), ("access_denied", "denied")]
)
def test_device_stops_on_expired_or_denied(
    fake: InteractiveFake, outcome: str, expected: str
) -> None:
    fake.device_outcomes = ["authorization_pending", outcome]
    with pytest.raises(RejectedError) as caught:
        device(fake, Clock(), View())
    assert expected in caught.value.message


def test_device_gives_up_at_the_limit(fake: InteractiveFake) -> None:
    fake.device_outcomes = ["authorization_pending"] * 100
    clock = Clock()
    with pytest.raises(RejectedError) as caught:
        device(fake, clock, View(), limit=30)
    assert "not completed within 30 s" in caught.value.message
    assert sum(clock.sleeps) <= 30


@pytest.mark.parametrize(
    "reply",
    [
        {"device_code": "d", "user_code": "AB\nCD", "verification_uri": "https://x.example/d"},
        {"device_code": "d", "user_code": "AB\u202eCD", "verification_uri": "https://x.example"},
        {"device_code": "d", "user_code": "ABCD", "verification_uri": "javascript:alert(1)"},
        {"device_code": "d", "user_code": "ABCD", "verification_uri": "http://x.example/d"},
        {"device_code": "", "user_code": "ABCD", "verification_uri": "https://x.example/d"},
        {
            "device_code": "d",
            "user_code": "ABCD",
            "verification_uri": "https://x.example/d",
            "verification_uri_complete": "https://x.example/d?c=1 \x1b[31m",
        },
        {"device_code": "d", "user_code": "A" * 65, "verification_uri": "https://x.example"},
    ],
)
def test_hostile_device_replies_are_refused(fake: InteractiveFake, reply: dict[str, Any]) -> None:
    fake.device_reply = reply
    view = View()
    with pytest.raises(MisconfiguredError):
        device(fake, Clock(), view)
    assert view.steps == []  # nothing was shown to the person


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as sock:
            sock.bind(("::1", 0))
    except OSError:
        return False
    return True


def test_listener_binds_loopback_only_and_frees_its_port() -> None:
    async def main() -> None:
        both = ["127.0.0.1", "::1"] if _ipv6_loopback() else ["127.0.0.1"]
        for value, bound in ((None, ["127.0.0.1"]), ("http://localhost/cb", both)):
            listener = oauth_interactive.LoopbackListener(oauth_interactive.redirect_target(value))
            await listener.start()
            addresses = sorted(s.getsockname()[0] for s in listener.sockets())
            assert addresses == bound  # never 0.0.0.0 or a public address
            port = listener.port
            await listener.aclose()
            assert refused(port) and port_free(port)

    asyncio.run(main())


@pytest.mark.skipif(not _ipv6_loopback(), reason="this machine has no IPv6 loopback")
def test_a_localhost_redirect_holds_both_loopback_addresses() -> None:
    """RFC 8252 section 8.3: a browser may resolve `localhost` to ::1 first. The listener of
    a localhost redirect holds the port on 127.0.0.1 and ::1 alike, so no other program can
    take the IPv6 one and receive the code; a port someone holds on ::1 is refused."""

    async def main() -> None:
        listener = oauth_interactive.LoopbackListener(
            oauth_interactive.redirect_target("http://localhost/cb"), "s"
        )
        await listener.start()
        try:
            bound = sorted(s.getsockname()[0] for s in listener.sockets())
            assert bound == ["127.0.0.1", "::1"]
            for address in ("127.0.0.1", "[::1]"):
                page = await get(f"http://{address}:{listener.port}/cb?state=x")
                assert page.status_code == 400  # answered by us, not someone else
        finally:
            await listener.aclose()
        assert port_free(listener.port)

        with socket.socket(socket.AF_INET6) as squatter:
            squatter.bind(("::1", 0))
            squatter.listen()
            port = squatter.getsockname()[1]
            target = oauth_interactive.redirect_target(f"http://localhost:{port}/cb")
            with pytest.raises(UserFacingError) as caught:
                await oauth_interactive.LoopbackListener(target).start()
            assert f"cannot listen on [::1]:{port}" in caught.value.message
            assert port_free(port)  # the IPv4 half was let go again

    asyncio.run(main())


def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        target = oauth_interactive.redirect_target(f"http://127.0.0.1:{port}/cb")

        async def main() -> None:
            with pytest.raises(UserFacingError) as caught:
                await oauth_interactive.LoopbackListener(target).start()
            assert f"cannot listen on 127.0.0.1:{port}" in caught.value.message

        asyncio.run(main())


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (403, "authorization_pending"),  # Auth0
        (429, "slow_down"),  # Auth0
        (428, "authorization_pending"),  # Google
        (200, "authorization_pending"),  # GitHub: errors come with 200
        (200, "slow_down"),
    ],
)
def test_device_poll_answers_are_read_whatever_their_status(
    fake: InteractiveFake, status: int, code: str
) -> None:
    """RFC 8628 section 3.5 names the codes, not the status: servers in use send them with
    403, 428, 429 and even 200; each is a reason to keep polling, not a failed sign-in."""
    fake.device_interval = 2
    body = {"error": code, "error_description": f"{code} with HTTP {status}"}
    fake.inject("/token", Fault.status(status, body), times=2)
    clock = Clock()
    tokens = device(fake, clock, View())
    assert tokens.access_token and len(fake.requests_to("/token")) == 3
    step = 5 if code == "slow_down" else 0
    assert clock.sleeps == [2, 2 + step, 2 + 2 * step]


@pytest.mark.parametrize("status", [403, 200])
def test_device_denied_or_expired_whatever_the_status(fake: InteractiveFake, status: int) -> None:
    fake.inject("/token", Fault.status(status, {"error": "access_denied"}))
    with pytest.raises(RejectedError) as caught:
        device(fake, Clock(), View())
    assert "denied" in caught.value.message
    fake.inject("/token", Fault.status(status, {"error": "expired_token"}))
    with pytest.raises(RejectedError) as caught:
        device(fake, Clock(), View())
    assert "code expired" in caught.value.message


@pytest.mark.parametrize(
    ("given", "expected"), [(12, 12), (3, 7), (3600, 60), (10**12, 7), ("nan", 7)]
)
def test_slow_down_with_a_new_interval(fake: InteractiveFake, given: Any, expected: float) -> None:
    """GitHub's slow_down names the interval to use from now on: taken when longer than 5 s
    more, and never beyond a minute or when it is not a number."""
    fake.device_interval = 2
    fake.inject("/token", Fault.status(200, {"error": "slow_down", "interval": given}))
    clock = Clock()
    device(fake, clock, View())
    assert clock.sleeps == [2, expected]
