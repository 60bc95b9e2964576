"""The OAuth2 fake with what a real server rarely does on purpose: a discovery document (OIDC
and RFC 8414 places) that can name another issuer, an authorization step the test answers
itself (any `state`, `iss`, error or code it likes, at the listener), the authorization_code
grant checking PKCE and redirect_uri, and a device authorization grant whose polls answer a
scripted list (authorization_pending, slow_down, expired_token, access_denied) and whose
reply can be replaced whole (hostile values)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes.oauth2 import GRANTS, NO_STORE, OAuth2Fake, OAuthClient, OAuthError
from tests.fakes.server import Reply, Request

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
INTERACTIVE_GRANTS = (*GRANTS, "authorization_code", "device_code")


@dataclass
class CodeRecord:
    client_id: str
    redirect_uri: str
    challenge: str
    scope: str | None
    nonce: str | None
    used: bool = False


@dataclass
class DeviceRecord:
    client_id: str
    scope: str | None
    outcomes: list[str] = field(default_factory=list)  # per poll; "ok" (or empty) issues
    polls: list[float] = field(default_factory=list)  # when each poll arrived (time.monotonic)


class InteractiveFake(OAuth2Fake):
    """Accounts use `fake.url` as their issuer (`issuer_in_document` changes what the
    document claims) or the endpoint URLs directly."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.issuer_in_document: str | None = None  # None: the fake's own URL
        self.oidc_document = True  # False: only RFC 8414's place answers
        self.document_extra: dict[str, Any] = {}
        self.codes: dict[str, CodeRecord] = {}
        self.devices: dict[str, DeviceRecord] = {}
        self.device_outcomes: list[str] = []  # copied into each new device authorization
        self.device_reply: dict[str, Any] | None = None  # replaces the whole reply
        self.device_interval: int | None = None
        self.id_token_claims: dict[str, Any] = {}  # overrides for the next id_tokens
        self.route("GET", "/.well-known/openid-configuration", self._oidc_document)
        self.route("GET", "/.well-known/oauth-authorization-server", self._oauth_document)
        self.route("POST", "/device_authorization", self._device_authorization)

    @property
    def issuer(self) -> str:
        return self.url

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "issuer": self.issuer_in_document or self.issuer,
            "authorization_endpoint": self.url + "/authorize",
            "token_endpoint": self.token_url,
            "revocation_endpoint": self.revocation_url,
            "device_authorization_endpoint": self.url + "/device_authorization",
            "code_challenge_methods_supported": ["S256"],
            "authorization_response_iss_parameter_supported": True,
        }
        doc.update(self.document_extra)
        return doc

    def _oidc_document(self, _request: Request) -> Reply:
        if not self.oidc_document:
            return Reply(404, {"error": "not_found"})
        return Reply(200, self.document())

    def _oauth_document(self, _request: Request) -> Reply:
        return Reply(200, self.document())

    # -- the authorization step, as the test (the person and the server at once) plays it -----

    def authorize(self, url: str) -> dict[str, str]:
        """Accept the authorization request `url` as the server would after a consent; the
        redirect's parameters (code, state, iss) for the test to send to the listener."""
        params = dict(parse_qsl(urlsplit(url).query))
        client = self.clients[params["client_id"]]
        assert params["response_type"] == "code"
        assert params["code_challenge_method"] == "S256"
        assert len(params["code_challenge"]) == 43
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = CodeRecord(
                client.client_id,
                params["redirect_uri"],
                params["code_challenge"],
                params.get("scope"),
                params.get("nonce"),
            )
            self.known_secrets.add(code)
        return {"code": code, "state": params["state"], "iss": self.issuer}

    # -- grants --------------------------------------------------------------------------

    def _grant_name(self, grant_type: str) -> str:
        if grant_type == "authorization_code":
            return grant_type
        if grant_type == DEVICE_GRANT:
            return "device_code"
        return super()._grant_name(grant_type)

    def _grant(self, grant: str, client: OAuthClient, method: str, form: dict[str, str]) -> Reply:
        if grant == "authorization_code":
            return self._code_grant(client, form)
        if grant == "device_code":
            return self._device_grant(client, form)
        return super()._grant(grant, client, method, form)

    def _code_grant(self, client: OAuthClient, form: dict[str, str]) -> Reply:
        record = self.codes.get(form.get("code", ""))
        if record is None or record.used or record.client_id != client.client_id:
            raise OAuthError("invalid_grant", "unknown or used code")
        record.used = True
        if form.get("redirect_uri") != record.redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri differs from the request's")
        verifier = form.get("code_verifier", "")
        digest = hashlib.sha256(verifier.encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != record.challenge:
            raise OAuthError("invalid_grant", "PKCE verification failed")
        return self._issue(client, record.scope, record.nonce)

    def _issue(self, client: OAuthClient, scope: str | None, nonce: str | None) -> Reply:
        family = self.start_family("alice", client_id=client.client_id, scope=scope)
        refresh = self.add_refresh(family, self.refresh_lifetime)
        reply = self._tokens(family, scope, None, refresh)
        if scope and "openid" in scope.split():
            assert isinstance(reply.body, dict)
            now = int(self.now())
            claims: dict[str, Any] = {"iss": self.issuer, "aud": client.client_id, "sub": "alice"}
            claims.update({"iat": now, "exp": now + 600})
            if nonce:
                claims["nonce"] = nonce
            claims.update(self.id_token_claims)
            reply.body["id_token"] = self.sign(claims)
            self.known_secrets.add(reply.body["id_token"])
        return reply

    # -- device authorization ------------------------------------------------------------

    def _device_authorization(self, request: Request) -> Reply:
        try:
            form = self._form(request)
            client, _method = self._authenticate(request, form)
        except OAuthError as problem:
            return self._oauth_error(problem)
        if self.device_reply is not None:
            return Reply(200, self.device_reply, dict(NO_STORE))
        device_code = secrets.token_urlsafe(32)
        user_code = "WDJB-MJHT"
        with self.lock:
            self.devices[device_code] = DeviceRecord(
                client.client_id, form.get("scope"), list(self.device_outcomes)
            )
            self.known_secrets.add(device_code)
        body: dict[str, Any] = {
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": self.url + "/device",
            "verification_uri_complete": self.url + "/device?user_code=" + user_code,
            "expires_in": 600,
        }
        if self.device_interval is not None:
            body["interval"] = self.device_interval
        return Reply(200, body, dict(NO_STORE))

    def _device_grant(self, client: OAuthClient, form: dict[str, str]) -> Reply:
        record = self.devices.get(form.get("device_code", ""))
        if record is None or record.client_id != client.client_id:
            raise OAuthError("invalid_grant", "unknown device code")
        record.polls.append(time.monotonic())
        outcome = record.outcomes.pop(0) if record.outcomes else "ok"
        if outcome != "ok":
            raise OAuthError(outcome, f"scripted {outcome}")
        return self._issue(client, record.scope, None)

    def add_interactive_client(self, client_id: str, secret: str | None = None) -> OAuthClient:
        return self.add_client(client_id, secret, grants=INTERACTIVE_GRANTS)
