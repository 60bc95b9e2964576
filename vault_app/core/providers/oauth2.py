"""Generic OAuth 2.0 (RFC 6749) token endpoint: client_credentials, password, refresh_token and
JWT-bearer grants (RFC 7523, and TradingView's ServerOAuth2Bearer with its own grant type),
client authentication by HTTP Basic, body parameters or none, RFC 7009 revocation. The
interactive grants (authorization_code with PKCE, device_code) live in oauth_interactive.py and
endpoint discovery from an `issuer` in oauth_discovery.py.

A held refresh token is used to refresh; without one the grant is run again with the stored
secrets. Errors are mapped from RFC 6749 section 5.2 codes to clear one-line messages.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from vault_app.core import redact
from vault_app.core.errors import (
    MisconfiguredError,
    RejectedError,
    SignInNeededError,
    TransientError,
    UsageError,
)
from vault_app.core.model import TokenSet
from vault_app.core.providers import oauth_discovery, oauth_interactive, replies
from vault_app.core.providers.base import (
    CA_BUNDLE,
    AccountConfig,
    Field,
    FieldKind,
    Provider,
    RevokeOutcome,
)

if TYPE_CHECKING:
    from vault_app.core.http import Http, Reply
    from vault_app.core.sign_in import SignInView

INTERACTIVE = oauth_interactive.INTERACTIVE
GRANTS = ("client_credentials", "password", "jwt_bearer", "refresh_token", *INTERACTIVE)
CLIENT_AUTH = ("basic", "post", "none")
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = 600  # RFC 7523 servers commonly refuse assertions living longer
JWT_ONLY = ("grant", ("jwt_bearer",))
BROWSER_ONLY = ("grant", ("authorization_code",))
DEVICE_ONLY = ("grant", ("device_code",))
NEVER_SHOWN = ("grant", ())  # filled by discovery, never typed: forms leave it out
PASSWORD_ONLY = ("grant", ("password",))


class OAuth2Provider(Provider):
    kind = "oauth2"
    title = "OAuth 2.0 token endpoint"
    # A refresh token given by the user (and each one rotated into its place) is a token:
    # Revoke forgets it, and replacing it drops the tokens that came from the old one.
    token_fields = ("refresh_token",)
    fields = (
        Field(
            "issuer",
            "Issuer",
            kind=FieldKind.URL,
            help="OpenID Connect / RFC 8414 issuer (e.g. https://accounts.google.com): the "
            "endpoints are discovered from it; endpoint fields set here override them.",
        ),
        Field(
            "token_url",
            "Token URL",
            kind=FieldKind.URL,
            help="The token endpoint; needed unless an issuer is set.",
        ),
        Field(
            "grant",
            "Grant",
            default="client_credentials",
            kind=FieldKind.CHOICE,
            choices=GRANTS,
            help="jwt_bearer signs an RS256 assertion with the private key (TradingView "
            "ServerOAuth2Bearer); password is TradingView's PasswordBearer; "
            "authorization_code signs in through the browser, device_code with a code "
            "entered on any device.",
        ),
        Field("client_id", "Client ID"),
        Field(
            "client_auth",
            "Client authentication",
            default="auto",
            kind=FieldKind.CHOICE,
            choices=("auto", *CLIENT_AUTH),
            help="basic: HTTP Basic; post: client_id/client_secret in the body; none: a "
            "public client; auto: post for jwt_bearer (as TradingView wants), none for a "
            "browser or device sign-in without a client secret, else basic.",
        ),
        Field(
            "authorization_url",
            "Authorization URL",
            kind=FieldKind.URL,
            help="authorization_code: the authorization endpoint, unless an issuer is set.",
            shown_for=BROWSER_ONLY,
        ),
        Field(
            "redirect_uri",
            "Redirect URI",
            help="authorization_code: a registered loopback redirect with a fixed port or "
            "path (http://127.0.0.1:PORT/PATH); empty: http://127.0.0.1:<free port>/.",
            shown_for=BROWSER_ONLY,
        ),
        Field(
            "authorization_params",
            "Extra authorization parameters",
            help="authorization_code: added to the browser's request, as name=value&... "
            "(Google: access_type=offline for a refresh token).",
            shown_for=BROWSER_ONLY,
        ),
        Field(
            "device_authorization_url",
            "Device authorization URL",
            kind=FieldKind.URL,
            help="device_code: the RFC 8628 device authorization endpoint, unless an issuer "
            "is set.",
            shown_for=DEVICE_ONLY,
        ),
        Field("username", "Username", help="For the password grant.", shown_for=PASSWORD_ONLY),
        Field("scope", "Scope"),
        Field("audience", "Audience"),
        Field(
            "revocation_url",
            "Revocation URL",
            kind=FieldKind.URL,
            help="RFC 7009 endpoint; without it Revoke forgets the tokens locally.",
        ),
        Field(
            "assertion_sub",
            "Assertion subject",
            help="jwt_bearer: the user id (sub).",
            shown_for=JWT_ONLY,
        ),
        Field(
            "assertion_app_url",
            "Assertion app URL",
            help="jwt_bearer: the application URL (spurl claim), when the server wants one.",
            shown_for=JWT_ONLY,
        ),
        Field(
            "assertion_grant_type",
            "Assertion grant type",
            default=JWT_BEARER,
            help="jwt_bearer: the grant_type to post, e.g. a broker's own URN.",
            shown_for=JWT_ONLY,
        ),
        Field(
            "assertion_lifetime",
            "Assertion lifetime",
            default="300",
            kind=FieldKind.INTEGER,
            help="jwt_bearer: seconds the assertion is valid (at most 600).",
            shown_for=JWT_ONLY,
        ),
        Field("client_secret", "Client secret", secret=True),
        Field(
            "password",
            "Password",
            secret=True,
            help="For the password grant.",
            shown_for=PASSWORD_ONLY,
        ),
        Field(
            "private_key",
            "Private key",
            secret=True,
            kind=FieldKind.PEM,
            help="jwt_bearer: the RSA private key (PEM) that signs the assertion.",
            shown_for=JWT_ONLY,
        ),
        Field(
            "certificate",
            "Certificate",
            secret=True,
            kind=FieldKind.PEM,
            help="jwt_bearer: the X.509 certificate (PEM) of that key; gives the x5t header.",
            shown_for=JWT_ONLY,
        ),
        Field(
            "refresh_token",
            "Refresh token",
            secret=True,
            help="For the refresh_token grant: the refresh token to start from.",
            shown_for=("grant", ("refresh_token",)),
        ),
        CA_BUNDLE,
        *(
            Field(name, f"{name.removeprefix('discovered_')} (discovered)", shown_for=NEVER_SHOWN)
            for name in oauth_discovery.DISCOVERED
        ),
    )

    # -- configuration ---------------------------------------------------------------------

    def grant(self, config: AccountConfig) -> str:
        grant = config.fields.get("grant") or "client_credentials"
        if grant not in GRANTS:
            raise UsageError(f"oauth2: unknown grant {grant!r} (one of {', '.join(GRANTS)})")
        return grant

    def client_auth(self, config: AccountConfig) -> str:
        chosen = config.fields.get("client_auth") or "auto"
        if chosen != "auto":
            return chosen
        if self.interactive(config):
            return "basic" if config.secrets.get("client_secret") else "none"
        return "post" if self.grant(config) == "jwt_bearer" else "basic"

    def interactive(self, config: AccountConfig) -> bool:
        return self.grant(config) in INTERACTIVE

    def can_sign_in_again(self, config: AccountConfig) -> bool:
        grant = self.grant(config)
        if grant in ("refresh_token", *INTERACTIVE):
            # refresh_token: its only credential is the refresh token that was just rejected;
            # the interactive grants need the person.
            return False
        needed = {"password": ("password",), "jwt_bearer": ("private_key", "certificate")}
        return all(config.secrets.get(n) for n in needed.get(grant, ())) and (
            grant != "client_credentials" or bool(config.secrets.get("client_secret"))
        )

    def resolved(self, config: AccountConfig) -> AccountConfig:
        """The config with each endpoint field set from discovery unless set by hand; the
        token URL must be known one way or the other."""
        fields = self._endpoints(config.fields)
        if not fields.get("token_url"):
            raise UsageError("oauth2: no token endpoint: set token_url, or an issuer that has one")
        return AccountConfig(fields, config.secrets)

    @staticmethod
    def _endpoints(given: Mapping[str, str]) -> dict[str, str]:
        fields = dict(given)
        for name in oauth_discovery.ENDPOINTS:
            url = oauth_discovery.endpoint(fields, name)
            if url:
                fields[name] = url
        return fields

    def validate(self, config: AccountConfig) -> None:
        """UsageError unless the account can sign in as configured. Before discovery (an
        `issuer` whose document was not fetched yet: the Add form checks as you type) the
        endpoints count as coming from it; after, they must be there."""
        grant = self.grant(config)
        fields, secrets = self._endpoints(config.fields), config.secrets
        pending = oauth_discovery.pending(config.fields)
        if not fields.get("token_url") and not pending:
            raise UsageError(
                "oauth2: no token endpoint: set token_url, or an issuer that publishes one"
            )
        if grant in INTERACTIVE:
            self._validate_interactive(grant, config, fields, pending)
        if self.client_auth(config) != "none" and not fields.get("client_id"):
            raise UsageError(f"oauth2: client_auth {self.client_auth(config)} needs a client_id")
        if (
            grant == "client_credentials"
            and not secrets.get("client_secret")
            and (self.client_auth(config) != "none")
        ):
            raise UsageError("oauth2: the client_credentials grant needs a client_secret")
        if grant == "password" and not (fields.get("username") and secrets.get("password")):
            raise UsageError("oauth2: the password grant needs username and password")
        if grant == "refresh_token" and not secrets.get("refresh_token"):
            raise UsageError("oauth2: the refresh_token grant needs a refresh_token")
        if grant == "jwt_bearer":
            build_assertion(self.resolved(config))  # checks the key, certificate and claims

    def _validate_interactive(
        self, grant: str, config: AccountConfig, fields: Mapping[str, str], pending: bool
    ) -> None:
        if not fields.get("client_id"):
            raise UsageError(f"oauth2: the {grant} grant needs a client_id")
        chosen = config.fields.get("client_auth") or "auto"
        if chosen in ("basic", "post") and not config.secrets.get("client_secret"):
            raise UsageError(
                f"oauth2: client_auth {chosen} needs a client_secret (a public client "
                "has none: choose client_auth none or auto)"
            )
        if grant == "authorization_code":
            if not fields.get("authorization_url") and not pending:
                raise UsageError(
                    "oauth2: authorization_code needs authorization_url, or an issuer that "
                    "publishes one"
                )
            oauth_interactive.redirect_target(fields.get("redirect_uri"))
            oauth_interactive.extra_parameters(fields.get("authorization_params"))
        elif not fields.get("device_authorization_url") and not pending:
            raise UsageError(
                "oauth2: device_code needs device_authorization_url, or an issuer that "
                "publishes one"
            )

    async def discover(self, http: Http, config: AccountConfig) -> dict[str, str]:
        return await oauth_discovery.discover(self, http, config)

    async def sign_in_interactive(
        self, http: Http, config: AccountConfig, view: SignInView, *, limit: float
    ) -> TokenSet:
        config = self.resolved(config)
        if self.grant(config) == "authorization_code":
            return await oauth_interactive.sign_in_with_browser(
                self, http, config, view, limit=limit
            )
        return await oauth_interactive.sign_in_with_device(self, http, config, view, limit=limit)

    def required_fields(self, fields: Mapping[str, str]) -> tuple[str, ...]:
        """What `validate` and `sign_in` will ask for with this grant and client_auth. The
        endpoints: the issuer when one is given; else the token URL and, for the browser and
        device grants, their own endpoint when either was typed by hand, or else the issuer
        (the usual way in for those grants)."""
        config = AccountConfig(fields, {})
        endpoints = {"issuer"} if fields.get("issuer") else {"token_url"}
        try:
            grant, auth = self.grant(config), self.client_auth(config)
        except UsageError:
            return self._ordered(endpoints)
        needed = set(endpoints)
        if grant in INTERACTIVE:
            own = (
                "authorization_url" if grant == "authorization_code" else "device_authorization_url"
            )
            if not fields.get("issuer"):
                by_hand = any(fields.get(name) for name in ("token_url", own))
                needed = {"token_url", own} if by_hand else {"issuer"}
            needed.add("client_id")
            if auth != "none":  # basic or post chosen: a confidential client
                needed.add("client_secret")
            return self._ordered(needed)
        if auth != "none" or grant == "jwt_bearer":  # the assertion's iss is the client_id
            needed.add("client_id")
        if grant == "client_credentials" and auth != "none":
            needed.add("client_secret")
        needed.update(
            {
                "password": ("username", "password"),
                "refresh_token": ("refresh_token",),
                "jwt_bearer": ("assertion_sub", "private_key", "certificate"),
            }.get(grant, ())
        )
        return self._ordered(needed)

    def _ordered(self, names: set[str]) -> tuple[str, ...]:
        return tuple(spec.name for spec in self.fields if spec.name in names)

    def token_destination(self, fields: Mapping[str, str]) -> tuple[str, ...]:
        """The token and revocation endpoints (set by hand or discovered) and the client:
        the grant, scope or client authentication may change and the tokens stay."""
        return (
            oauth_discovery.endpoint(fields, "token_url") or "",
            oauth_discovery.endpoint(fields, "revocation_url") or "",
            fields.get("client_id") or "",
        )

    def revoke_description(self, config: AccountConfig) -> str:
        if oauth_discovery.endpoint(config.fields, "revocation_url"):
            return (
                "Revoke asks the server to revoke the refresh token and the access token "
                "(RFC 7009 at the revocation URL), then forgets them here."
            )
        return (
            "No revocation URL is set: Revoke forgets the tokens here only; they stay "
            "valid at the server until they expire."
        )

    # -- requests ------------------------------------------------------------------------

    def _client_auth(self, config: AccountConfig, form: dict[str, str]) -> dict[str, str]:
        """Adds client authentication to the form and returns the headers it needs."""
        client_id = config.fields.get("client_id") or ""
        secret = config.secrets.get("client_secret") or ""
        method = self.client_auth(config)
        if method == "basic":
            if not client_id:
                raise UsageError("oauth2: client_auth basic needs a client_id")
            # RFC 6749 2.3.1: form-urlencode both parts before base64.
            pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
            # An error reply that echoes the request must not show it (DESIGN.md section 7).
            redact.register_basic(client_id, secret)
            return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
        if client_id:
            form["client_id"] = client_id
        if method == "post" and secret:
            form["client_secret"] = secret
        return {}

    async def _token_request(
        self, http: Http, config: AccountConfig, form: dict[str, str], what: str
    ) -> TokenSet:
        headers = self._client_auth(config, form)
        reply = await self.request(
            http,
            config,
            "POST",
            config.fields["token_url"],
            what=what,
            form=form,
            headers=headers,
        )
        tokens, _data = token_reply_tokens(reply, what)
        return tokens

    def _scoped(self, config: AccountConfig, form: dict[str, str]) -> dict[str, str]:
        for name in ("scope", "audience"):
            value = config.fields.get(name)
            if value:
                form[name] = value
        return form

    async def sign_in(self, http: Http, config: AccountConfig) -> TokenSet:
        grant = self.grant(config)
        if grant in INTERACTIVE:  # never without the person: see sign_in_interactive
            raise SignInNeededError(oauth_interactive.needs_person(config))
        config = self.resolved(config)
        what = f"oauth2: {grant} grant"
        if grant == "client_credentials":
            form = {"grant_type": "client_credentials"}
        elif grant == "password":
            username, password = config.fields.get("username"), config.secrets.get("password")
            if not username or not password:
                raise SignInNeededError("oauth2: the password grant needs username and password")
            form = {"grant_type": "password", "username": username, "password": password}
        elif grant == "refresh_token":
            token = config.secrets.get("refresh_token")
            if not token:
                raise SignInNeededError("oauth2: no refresh token stored; set one with --secret")
            form = {"grant_type": "refresh_token", "refresh_token": token}
        else:
            form = {
                "grant_type": config.fields.get("assertion_grant_type") or JWT_BEARER,
                "assertion": build_assertion(config),
            }
        return await self._token_request(http, config, self._scoped(config, form), what)

    async def refresh(self, http: Http, config: AccountConfig, tokens: TokenSet) -> TokenSet:
        if self.interactive(config):
            return await oauth_interactive.refresh(self, http, self.resolved(config), tokens)
        config = self.resolved(config)
        if not tokens.refresh_token:
            return await self.sign_in(http, config)
        form = {"grant_type": "refresh_token", "refresh_token": tokens.refresh_token}
        return await self._token_request(http, config, form, "oauth2: refresh")

    async def revoke(self, http: Http, config: AccountConfig, tokens: TokenSet) -> RevokeOutcome:
        url = oauth_discovery.endpoint(config.fields, "revocation_url")
        if not url:
            return RevokeOutcome(server_side=False, message=self.revoke_description(config))
        # Refresh token first: RFC 7009 2.1 lets that end its access tokens too.
        targets = [(tokens.refresh_token, "refresh_token"), (tokens.access_token, "access_token")]
        revoked: list[str] = []
        kept: list[str] = []  # types the server does not revoke (RFC 7009 2.2.1)
        for token, hint in targets:
            if not token:
                continue
            form = {"token": token, "token_type_hint": hint}
            headers = self._client_auth(config, form)
            what = f"oauth2: revoke {hint.replace('_', ' ')}"
            reply = await self.request(
                http,
                config,
                "POST",
                url,
                what=what,
                form=form,
                headers=headers,
            )
            ended_with_refresh = hint == "access_token" and "refresh_token" in revoked
            if _check_revocation(reply, what, ended_with_refresh):
                revoked.append(hint)
            else:
                kept.append(hint)
        return _revoke_outcome(revoked, kept)


def _revoke_outcome(revoked: list[str], kept: list[str]) -> RevokeOutcome:
    """What the server did, in one or two sentences (RFC 7009 2.2.1 for what it did not)."""
    if not kept:
        return RevokeOutcome(server_side=True, message="The server revoked the tokens (RFC 7009).")
    if not revoked:
        return RevokeOutcome(
            server_side=False,
            message="The server does not revoke these tokens (unsupported_token_type): they "
            "are forgotten here and stay valid at the server until they expire.",
        )
    if kept == ["access_token"]:
        return RevokeOutcome(
            server_side=True,
            message="The server revoked the refresh token; it does not revoke access tokens "
            "(unsupported_token_type, RFC 7009 2.2.1), so the access token will simply expire.",
        )
    return RevokeOutcome(
        server_side=True,
        message="The server revoked the access token but does not revoke refresh tokens "
        "(unsupported_token_type): the refresh token is forgotten here and stays valid at "
        "the server until it expires.",
    )


def _error_message(data: dict[str, Any], what: str, reply: Reply) -> str:
    return replies.error_message(data, what, reply)


def token_reply_tokens(reply: Reply, what: str) -> tuple[TokenSet, dict[str, Any]]:
    """The tokens of a token endpoint's reply (RFC 6749 section 5.1), and all its fields (an
    OpenID Connect reply adds `id_token`). Raises as `_token_reply` and replies.token_set."""
    data = _token_reply(reply, what)
    tokens = replies.token_set(
        reply,
        what,
        replies.token_field(data, what, reply, "access_token"),
        token_type=data.get("token_type"),
        lifetime=data.get("expires_in"),
        refresh_token=replies.optional_token(data, what, reply, "refresh_token"),
        refresh_lifetime=data.get("refresh_token_expires_in"),
        scope=data.get("scope"),
    )
    return tokens, data


def _token_reply(reply: Reply, what: str) -> dict[str, Any]:
    """The token reply's fields. RFC 6749 5.2: a 400/401 with an `error` code is the
    server's verdict on our request, and so is a 2xx carrying one (replies.json_reply)."""
    if reply.status in (400, 401):
        try:
            data = reply.fields(what)
        except TransientError:
            data = {}
        code = replies.error_code(data)
        if code is None:
            raise RejectedError(_error_message(data, what, reply))
        raise replies.error_for(code, data, reply, what, rejected=True)
    return replies.json_reply(reply, what)


def _check_revocation(reply: Reply, what: str, ended_with_refresh: bool = False) -> bool:
    """RFC 7009 2.2: 2xx means revoked (or already invalid); 503 means try again later;
    400 unsupported_token_type (2.2.1) means the server does not revoke that kind of token:
    False, not an error. An access token the server reports invalid right after its refresh
    token was revoked ended with it. Anything else is an error."""
    if 200 <= reply.status < 300:
        return True
    if reply.status == 400:
        try:
            data = reply.fields(what)
        except TransientError:
            data = {}
        code = replies.error_code(data)
        if code == "unsupported_token_type":
            return False
        if ended_with_refresh and code in ("invalid_token", "invalid_grant"):
            return True
        raise MisconfiguredError(_error_message(data, what, reply))
    replies.json_reply(reply, what)
    raise MisconfiguredError(f"{what}: {reply.host} answered HTTP {reply.status}")


# -- the JWT-bearer assertion ---------------------------------------------------------------


def x5t(certificate_der: bytes) -> str:
    """RFC 7515 4.1.7: base64url of the SHA-1 of the certificate's DER, without padding."""
    return thumbprint(hashlib.sha1(certificate_der, usedforsecurity=False).digest())


def thumbprint(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def build_assertion(config: AccountConfig, now: float | None = None) -> str:
    """An RS256 JWT signed with the stored private key, x5t from the stored certificate."""
    import jwt
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key_pem, cert_pem = config.secrets.get("private_key"), config.secrets.get("certificate")
    client_id, subject = config.fields.get("client_id"), config.fields.get("assertion_sub")
    if not key_pem or not cert_pem:
        raise SignInNeededError("oauth2: jwt_bearer needs the private_key and certificate")
    if not client_id or not subject:
        raise UsageError("oauth2: jwt_bearer needs client_id and assertion_sub")
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except (ValueError, TypeError):
        raise UsageError("oauth2: private_key is not an unencrypted PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise UsageError("oauth2: private_key must be an RSA key (the assertion is RS256)")
    try:
        cert = x509.load_pem_x509_certificate(cert_pem.encode())
    except ValueError:
        raise UsageError("oauth2: certificate is not a PEM X.509 certificate") from None
    cert_key = cert.public_key()
    if (
        not isinstance(cert_key, rsa.RSAPublicKey)
        or cert_key.public_numbers() != key.public_key().public_numbers()
    ):
        raise UsageError("oauth2: the certificate does not belong to the private key")
    lifetime = min(int(config.fields.get("assertion_lifetime") or 300), MAX_ASSERTION_LIFETIME)
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "iss": client_id,
        "sub": subject,
        "aud": config.fields["token_url"],
        "iat": issued,
        "exp": issued + max(lifetime, 1),
        "jti": uuid.uuid4().hex,
    }
    if config.fields.get("assertion_app_url"):
        claims["spurl"] = config.fields["assertion_app_url"]
    header = {"x5t": x5t(cert.public_bytes(serialization.Encoding.DER))}
    return jwt.encode(claims, key, algorithm="RS256", headers=header)
