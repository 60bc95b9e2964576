"""RSA keys, self-signed X.509 certificates, x5t thumbprints and RS256 client assertions
(RFC 7523 / TradingView ServerOAuth2Bearer) for tests of the jwt-bearer grant."""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import time
import uuid
from typing import Any, NamedTuple

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import NameOID


class KeyAndCert(NamedTuple):
    """A PKCS#8 private key and its self-signed certificate, both PEM text."""

    key_pem: str
    cert_pem: str


def make_key_and_cert(common_name: str = "token-vault-test", key_size: int = 2048) -> KeyAndCert:
    """A fresh RSA key and a self-signed certificate for it, valid from a minute ago for a day."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    return KeyAndCert(key_pem.decode(), cert_pem.decode())


def b64url(data: bytes) -> str:
    """base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def x5t_from_sha1(digest: bytes) -> str:
    """The x5t header value for a certificate's SHA-1 digest (RFC 7515 §4.1.7)."""
    return b64url(digest)


def x5t_of(cert_pem: str) -> str:
    """base64url(SHA-1(certificate DER)), the x5t thumbprint of a PEM certificate."""
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    der = cert.public_bytes(serialization.Encoding.DER)
    return x5t_from_sha1(hashlib.sha1(der).digest())  # x5t is SHA-1 by definition


@functools.lru_cache(maxsize=16)
def load_private_key(key_pem: str) -> PrivateKeyTypes:
    """A PEM private key, parsed once (RSA key loading runs slow consistency checks)."""
    return serialization.load_pem_private_key(key_pem.encode(), password=None)


def make_assertion(
    key_pem: str,
    cert_pem: str,
    *,
    client_id: str,
    subject: str,
    audience: str,
    app_url: str | None = None,
    lifetime: float = 300.0,
    now: float | None = None,
    claims: dict[str, Any] | None = None,
    omit: tuple[str, ...] = (),
    headers: dict[str, Any] | None = None,
    algorithm: str = "RS256",
) -> str:
    """A signed client assertion; `claims`/`headers` override, `omit` removes claims."""
    issued = int(time.time() if now is None else now)
    body: dict[str, Any] = {
        "iss": client_id,
        "sub": subject,
        "aud": audience,
        "iat": issued,
        "exp": issued + int(lifetime),
        "jti": uuid.uuid4().hex,
    }
    if app_url is not None:
        body["spurl"] = app_url
    body.update(claims or {})
    for name in omit:
        body.pop(name, None)
    header: dict[str, Any] = {"x5t": x5t_of(cert_pem)}
    header.update(headers or {})
    key = load_private_key(key_pem)
    return jwt.encode(body, key, algorithm=algorithm, headers=header)  # type: ignore[arg-type]
