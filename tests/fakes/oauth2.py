"""A fake OAuth 2.0 authorization server: an RFC 6749 token endpoint (`POST /token`, form posts)
with the client_credentials, password, refresh_token and RFC 7523 jwt-bearer grants (including
TradingView's ServerOAuth2Bearer with a custom grant type), refresh-token rotation with reuse
detection, and an RFC 7009 revocation endpoint (`POST /revoke`)."""

from __future__ import annotations

import base64
import binascii
import hmac
import ssl
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote_plus

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from tests.fakes.base import Family, ProviderFake, TokenRejected
from tests.fakes.certs import x5t_of
from tests.fakes.server import Reply, Request

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GRANTS = ("client_credentials", "password", "refresh_token", "jwt_bearer")
BASIC, POST, NONE = "client_secret_basic", "client_secret_post", "none"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# Seconds an assertion's iat/nbf may lie in the future (clock skew between hosts).
ASSERTION_LEEWAY = 5
Rotation = Literal["rotate", "same", "omit"]


@dataclass
class OAuthClient:
    """A registered client: its secret, allowed authentication methods, grants and scopes."""

    client_id: str
    secret: str | None
    auth_methods: tuple[str, ...]
    grants: tuple[str, ...]
    scopes: tuple[str, ...] | None  # allowed scope values; None: any
    default_scope: str | None


@dataclass
class JwtBearerRegistration:
    """The certificate a client signs assertions with, and the claims they must carry."""

    client_id: str
    cert_pem: str
    x5t: str
    public_key: RSAPublicKey
    subject: str
    app_url: str | None


@dataclass(frozen=True)
class GrantRecord:
    """One token request as the server understood it; `error` is None when tokens were issued."""

    grant_type: str
    client_id: str | None
    auth_method: str | None
    scope: str | None
    audience: str | None
    error: str | None


@dataclass(frozen=True)
class Revocation:
    """One revocation request: `outcome` is access_token, refresh_token, unknown, refused or
    unsupported."""

    token: str
    hint: str | None
    client_id: str
    outcome: str


class OAuthError(Exception):
    """An RFC 6749 §5.2 error to answer with."""

    def __init__(self, code: str, description: str, *, basic: bool = False) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.basic = basic  # invalid_client after Basic authentication: 401 + WWW-Authenticate


class OAuth2Fake(ProviderFake):
    """An authorization server; accounts use `fake.token_url` and `fake.revocation_url`."""

    def __init__(
        self,
        *,
        access_lifetime: float = 600.0,
        refresh_lifetime: float | None = 3600.0,
        jwt_access_tokens: bool = True,
        include_expires_in: bool = True,
        issue_refresh_tokens: bool = True,
        refresh_for_client_credentials: bool = False,
        rotation: Rotation = "rotate",
        jwt_bearer_grant_type: str = JWT_BEARER,
        max_assertion_lifetime: float = 600.0,
        reuse_detection: bool = True,
        grace: bool = False,
        token_path: str = "/token",
        revocation_path: str = "/revoke",
        tls: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(reuse_detection=reuse_detection, grace=grace, tls=tls)
        self.access_lifetime = access_lifetime
        self.refresh_lifetime = refresh_lifetime  # None: refresh tokens never expire
        self.jwt_access_tokens = jwt_access_tokens  # False: opaque random access tokens
        self.include_expires_in = include_expires_in
        self.issue_refresh_tokens = issue_refresh_tokens
        # RFC 6749 §4.4.3: a refresh token SHOULD NOT be issued for client_credentials.
        self.refresh_for_client_credentials = refresh_for_client_credentials
        self.rotation: Rotation = rotation  # refresh reply: new token, the same one, or none
        self.jwt_bearer_grant_type = jwt_bearer_grant_type
        self.max_assertion_lifetime = max_assertion_lifetime
        self.assertion_audience: str | None = None  # None: the token URL
        self.token_path = token_path
        self.revocation_path = revocation_path
        self.clients: dict[str, OAuthClient] = {}
        self.users: dict[str, str] = {}
        self.jwt_bearer: dict[str, JwtBearerRegistration] = {}
        self.seen_jtis: set[tuple[str, str]] = set()
        self.grants: list[GrantRecord] = []
        self.revocations: list[Revocation] = []
        # Token types the revocation endpoint revokes; others get RFC 7009 2.2.1's
        # 400 unsupported_token_type (many servers revoke refresh tokens only).
        self.revocable = {"access_token", "refresh_token"}
        self.route("POST", token_path, self._token)
        self.route("POST", revocation_path, self._revoke)

    # -- registration ------------------------------------------------------------------------

    @property
    def token_url(self) -> str:
        """The token endpoint URL (also the `aud` an assertion must carry)."""
        return self.url + self.token_path

    @property
    def revocation_url(self) -> str:
        """The RFC 7009 revocation endpoint URL."""
        return self.url + self.revocation_path

    @property
    def base_url(self) -> str:
        """For symmetry with the other fakes: the token endpoint URL."""
        return self.token_url

    def add_client(
        self,
        client_id: str,
        secret: str | None = None,
        *,
        auth_methods: tuple[str, ...] | None = None,
        grants: tuple[str, ...] = GRANTS,
        scopes: tuple[str, ...] | None = None,
        default_scope: str | None = None,
    ) -> OAuthClient:
        """Register a client; auth methods default to basic+post with a secret, else none."""
        if auth_methods is None:
            auth_methods = (BASIC, POST) if secret is not None else (NONE,)
        client = OAuthClient(client_id, secret, auth_methods, grants, scopes, default_scope)
        with self.lock:
            self.clients[client_id] = client
            if secret is not None:
                self.known_secrets.add(secret)
        return client

    def add_user(self, username: str, password: str) -> None:
        """Register a resource owner for the password grant."""
        with self.lock:
            self.users[username] = password
            self.known_secrets.add(password)

    def add_jwt_bearer(
        self, client_id: str, cert_pem: str, *, subject: str, app_url: str | None = None
    ) -> None:
        """Register the certificate `client_id` signs assertions with, the user id (`sub`) they
        must name and, when given, the app URL (`spurl`) they must carry."""
        cert = x509.load_pem_x509_certificate(cert_pem.encode())
        public_key = cert.public_key()
        assert isinstance(public_key, RSAPublicKey), "jwt-bearer needs an RSA certificate"
        registration = JwtBearerRegistration(
            client_id, cert_pem, x5t_of(cert_pem), public_key, subject, app_url
        )
        with self.lock:
            self.jwt_bearer[client_id] = registration

    def issue_refresh_token(
        self, client_id: str, subject: str | None = None, scope: str | None = None
    ) -> str:
        """A refresh token minted out of band (e.g. pasted into an account by the user)."""
        with self.lock:
            family = self.start_family(subject or client_id, client_id=client_id, scope=scope)
            return self.add_refresh(family, self.refresh_lifetime)

    # -- inspection --------------------------------------------------------------------------

    def introspect(self, token: str) -> dict[str, Any]:
        """RFC 7662-style facts about an access or refresh token; {"active": False} if dead."""
        with self.lock:
            if self.is_active(token):
                record = self.access_tokens[token]
                family = self.families[record.family]
                return {
                    "active": True,
                    "token_type": "access_token",
                    "client_id": family.client_id,
                    "sub": record.subject,
                    "scope": record.claims.get("scope"),
                    "aud": record.claims.get("aud"),
                    "iat": record.issued_at,
                    "exp": record.expires_at,
                }
            if self.accepts_refresh(token):
                family = self.families[self.refresh_tokens[token].family]
                return {
                    "active": True,
                    "token_type": "refresh_token",
                    "client_id": family.client_id,
                    "sub": family.subject,
                    "scope": family.scope,
                }
            return {"active": False}

    # -- replies -----------------------------------------------------------------------------

    def error(self, status: int, code: str, message: str) -> Reply:
        """An RFC 6749 §5.2 error body."""
        return Reply(status, {"error": code, "error_description": message}, dict(NO_STORE))

    def _oauth_error(self, problem: OAuthError) -> Reply:
        if problem.code == "invalid_client" and problem.basic:
            reply = self.error(401, problem.code, problem.description)
            reply.headers["WWW-Authenticate"] = 'Basic realm="fake-oauth2"'
            return reply
        return self.error(400, problem.code, problem.description)

    def incomplete_reply(self, request: Request) -> Reply:
        """A 200 without access_token."""
        body = {"token_type": "Bearer", "expires_in": int(self.access_lifetime)}
        return Reply(200, body, dict(NO_STORE))

    # -- request parsing ---------------------------------------------------------------------

    def _form(self, request: Request) -> dict[str, str]:
        if request.query:
            raise OAuthError("invalid_request", "parameters belong in the request body")
        content_type = (request.header("content-type") or "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            raise OAuthError("invalid_request", "use application/x-www-form-urlencoded")
        try:
            pairs = parse_qsl(
                request.body.decode("utf-8"), keep_blank_values=True, strict_parsing=True
            )
        except (UnicodeDecodeError, ValueError) as exc:
            raise OAuthError("invalid_request", "malformed form body") from exc
        form: dict[str, str] = {}
        for name, value in pairs:
            if name in form:
                raise OAuthError("invalid_request", f"parameter {name} given more than once")
            if value != "":  # RFC 6749 §3.1: a parameter without a value counts as omitted
                form[name] = value
        return form

    def _authenticate(
        self, request: Request, form: dict[str, str], fallback_id: str | None = None
    ) -> tuple[OAuthClient, str]:
        header = request.header("authorization") or ""
        basic = header[:6].lower() == "basic "
        if basic and "client_secret" in form:
            raise OAuthError("invalid_request", "more than one client authentication method")
        secret: str | None
        if basic:
            try:
                decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError) as exc:
                raise OAuthError("invalid_client", "malformed Basic header", basic=True) from exc
            raw_id, colon, raw_secret = decoded.partition(":")
            if not colon:
                raise OAuthError("invalid_client", "malformed Basic header", basic=True)
            client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
            if form.get("client_id", client_id) != client_id:
                raise OAuthError("invalid_request", "client_id differs from the Basic user")
            method = BASIC
        elif "client_secret" in form:
            if "client_id" not in form:
                raise OAuthError("invalid_request", "client_secret without client_id")
            client_id, secret, method = form["client_id"], form["client_secret"], POST
        else:
            found = form.get("client_id") or fallback_id
            if found is None:
                raise OAuthError("invalid_client", "no client authentication")
            client_id, secret, method = found, None, NONE
        client = self.clients.get(client_id)
        if client is None:
            raise OAuthError("invalid_client", "unknown client", basic=basic)
        if method not in client.auth_methods:
            raise OAuthError(
                "invalid_client", f"{method} is not allowed for this client", basic=basic
            )
        if method != NONE and not (
            client.secret is not None
            and secret is not None
            and hmac.compare_digest(client.secret.encode(), secret.encode())
        ):
            raise OAuthError("invalid_client", "wrong client secret", basic=basic)
        return client, method

    # -- token endpoint ----------------------------------------------------------------------

    def _token(self, request: Request) -> Reply:
        grant_type = ""
        client: OAuthClient | None = None
        method: str | None = None
        form: dict[str, str] = {}
        try:
            form = self._form(request)
            grant_type = form.get("grant_type", "")
            if not grant_type:
                raise OAuthError("invalid_request", "grant_type is required")
            grant = self._grant_name(grant_type)
            fallback = self._assertion_issuer(form) if grant == "jwt_bearer" else None
            client, method = self._authenticate(request, form, fallback)
            if grant not in client.grants:
                raise OAuthError("unauthorized_client", f"{grant} is not allowed for this client")
            reply = self._grant(grant, client, method, form)
        except OAuthError as problem:
            self.grants.append(
                GrantRecord(
                    grant_type,
                    client.client_id if client else form.get("client_id"),
                    method,
                    form.get("scope"),
                    form.get("audience"),
                    problem.code,
                )
            )
            return self._oauth_error(problem)
        self.grants.append(
            GrantRecord(
                grant_type, client.client_id, method, form.get("scope"), form.get("audience"), None
            )
        )
        return reply

    def _grant_name(self, grant_type: str) -> str:
        if grant_type == self.jwt_bearer_grant_type:
            return "jwt_bearer"
        if grant_type in ("client_credentials", "password", "refresh_token"):
            return grant_type
        raise OAuthError("unsupported_grant_type", f"grant type {grant_type} is not supported")

    def _scope(self, client: OAuthClient, requested: str | None) -> str | None:
        if requested is None:
            return client.default_scope
        if client.scopes is not None:
            unknown = [s for s in requested.split() if s not in client.scopes]
            if unknown:
                raise OAuthError("invalid_scope", f"scope {unknown[0]} is not allowed")
        return requested

    def _grant(self, grant: str, client: OAuthClient, method: str, form: dict[str, str]) -> Reply:
        audience = form.get("audience")
        if grant == "refresh_token":
            return self._refresh_grant(client, form)
        scope = self._scope(client, form.get("scope"))
        refresh = self.issue_refresh_tokens
        if grant == "client_credentials":
            if method == NONE:
                raise OAuthError("unauthorized_client", "public clients cannot use this grant")
            subject = client.client_id
            refresh = refresh and self.refresh_for_client_credentials
        elif grant == "password":
            username, password = form.get("username"), form.get("password")
            if username is None or password is None:
                raise OAuthError("invalid_request", "username and password are required")
            known = self.users.get(username)
            if known is None or not hmac.compare_digest(known.encode(), password.encode()):
                raise OAuthError("invalid_grant", "wrong username or password")
            subject = username
        else:
            subject = self._verify_assertion(client, form)
        family = self.start_family(
            subject, client_id=client.client_id, scope=scope, data={"audience": audience}
        )
        refresh_token = self.add_refresh(family, self.refresh_lifetime) if refresh else None
        return self._tokens(family, scope, audience, refresh_token)

    def _refresh_grant(self, client: OAuthClient, form: dict[str, str]) -> Reply:
        presented = form.get("refresh_token")
        if presented is None:
            raise OAuthError("invalid_request", "refresh_token is required")
        family = self.family_of(presented)
        if family is not None and family.client_id != client.client_id:
            raise OAuthError("invalid_grant", "refresh token was issued to another client")
        try:
            family = self.redeem(presented)
        except TokenRejected as rejected:
            raise OAuthError("invalid_grant", str(rejected)) from rejected
        scope = family.scope
        requested = form.get("scope")
        if requested is not None:
            granted = set((family.scope or "").split())
            if not set(requested.split()) <= granted:
                raise OAuthError("invalid_scope", "scope exceeds the original grant")
            scope = requested
        audience = form.get("audience") or family.data.get("audience")
        refresh_token: str | None = None
        if self.rotation == "rotate":
            refresh_token = self.rotate(family, presented, self.refresh_lifetime)
        elif self.rotation == "same":
            refresh_token = presented
        return self._tokens(family, scope, audience, refresh_token)

    def _tokens(
        self, family: Family, scope: str | None, audience: str | None, refresh: str | None
    ) -> Reply:
        claims: dict[str, Any] = {"iss": self.url, "client_id": family.client_id}
        if scope is not None:
            claims["scope"] = scope
        if audience is not None:
            claims["aud"] = audience
        access = self.add_access(
            family, self.access_lifetime, claims, as_jwt=self.jwt_access_tokens
        )
        body: dict[str, Any] = {"access_token": access.token, "token_type": "Bearer"}
        if self.include_expires_in:
            body["expires_in"] = access.expires_at - access.issued_at
        if refresh is not None:
            body["refresh_token"] = refresh
            expires_at = self.refresh_tokens[refresh].expires_at
            if expires_at is not None:
                body["refresh_token_expires_in"] = max(0, round(expires_at - self.now()))
        if scope is not None:
            body["scope"] = scope
        return Reply(200, body, dict(NO_STORE))

    # -- jwt-bearer --------------------------------------------------------------------------

    def _assertion_issuer(self, form: dict[str, str]) -> str | None:
        """The unverified `iss` of the assertion, to find the client when none authenticated."""
        try:
            claims = jwt.decode(form.get("assertion", ""), options={"verify_signature": False})
        except jwt.InvalidTokenError:
            return None
        issuer = claims.get("iss")
        return issuer if isinstance(issuer, str) else None

    def _verify_assertion(self, client: OAuthClient, form: dict[str, str]) -> str:
        """Check an RS256 assertion against the client's registered certificate; its subject."""
        assertion = form.get("assertion")
        if assertion is None:
            raise OAuthError("invalid_request", "assertion is required")
        registration = self.jwt_bearer.get(client.client_id)
        if registration is None:
            raise OAuthError("invalid_grant", "no certificate registered for this client")
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.InvalidTokenError as exc:
            raise OAuthError("invalid_grant", "malformed assertion") from exc
        if header.get("alg") != "RS256":
            raise OAuthError("invalid_grant", "assertion alg must be RS256")
        if header.get("x5t") != registration.x5t:
            raise OAuthError("invalid_grant", "x5t does not match the registered certificate")
        try:
            claims: dict[str, Any] = jwt.decode(
                assertion,
                registration.public_key,
                algorithms=["RS256"],
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                },
            )
        except jwt.InvalidSignatureError as exc:
            raise OAuthError("invalid_grant", "assertion signature does not verify") from exc
        except jwt.InvalidTokenError as exc:
            raise OAuthError("invalid_grant", f"invalid assertion: {exc}") from exc
        self._check_claims(claims, registration)
        self.seen_jtis.add((client.client_id, claims["jti"]))
        return registration.subject

    def _check_claims(self, claims: dict[str, Any], registration: JwtBearerRegistration) -> None:
        now = self.now()
        audience = self.assertion_audience or self.token_url
        aud = claims.get("aud")
        exp, iat, nbf, jti = (
            claims.get("exp"),
            claims.get("iat"),
            claims.get("nbf"),
            claims.get("jti"),
        )
        problems = [
            (claims.get("iss") != registration.client_id, "iss must be the client_id"),
            (claims.get("sub") != registration.subject, "sub is not the registered user id"),
            (
                aud != audience and not (isinstance(aud, list) and audience in aud),
                "aud must be the token URL",
            ),
            (not _number(exp), "exp is required"),
            (not _number(iat), "iat is required"),
            (not isinstance(jti, str) or not jti, "jti is required"),
        ]
        for failed, message in problems:
            if failed:
                raise OAuthError("invalid_grant", message)
        assert isinstance(exp, (int, float)) and isinstance(iat, (int, float))
        if exp <= now:
            raise OAuthError("invalid_grant", "assertion expired")
        if iat > now + ASSERTION_LEEWAY:
            raise OAuthError("invalid_grant", "assertion iat is in the future")
        if isinstance(nbf, (int, float)) and nbf > now + ASSERTION_LEEWAY:
            raise OAuthError("invalid_grant", "assertion is not yet valid (nbf)")
        if exp - iat > self.max_assertion_lifetime:
            raise OAuthError("invalid_grant", "assertion lifetime is too long")
        if (registration.client_id, jti) in self.seen_jtis:
            raise OAuthError("invalid_grant", "assertion jti was already used")
        if registration.app_url is not None and claims.get("spurl") != registration.app_url:
            raise OAuthError("invalid_grant", "spurl is not the registered app URL")

    # -- revocation endpoint -----------------------------------------------------------------

    def _revoke(self, request: Request) -> Reply:
        try:
            form = self._form(request)
            client, _method = self._authenticate(request, form)
            token = form.get("token")
            if token is None:
                raise OAuthError("invalid_request", "token is required")
        except OAuthError as problem:
            return self._oauth_error(problem)
        hint = form.get("token_type_hint")
        family = self.family_of(token)
        if family is None:
            outcome = "unknown"  # RFC 7009 §2.2: an invalid token is not an error
        elif family.client_id != client.client_id:
            self.revocations.append(Revocation(token, hint, client.client_id, "refused"))
            return self.error(400, "unauthorized_client", "token was issued to another client")
        elif (token in self.refresh_tokens and "refresh_token" not in self.revocable) or (
            token in self.access_tokens and "access_token" not in self.revocable
        ):
            self.revocations.append(Revocation(token, hint, client.client_id, "unsupported"))
            return self.error(400, "unsupported_token_type", "this token type is not revoked")
        elif token in self.refresh_tokens:
            outcome = "refresh_token"
            self.revoke_family(family, "revoked")
        else:
            outcome = "access_token"
            self.access_tokens[token].revoked = True
        self.revocations.append(Revocation(token, hint, client.client_id, outcome))
        return Reply(200, b"", dict(NO_STORE))


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
