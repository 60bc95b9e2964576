"""RSA keys, self-signed X.509 certificates, x5t thumbprints and RS256 client assertions
(RFC 7523 / TradingView ServerOAuth2Bearer) for tests of the jwt-bearer grant."""

from __future__ import annotations

import base64
import datetime
import functools
import hashlib
import ipaddress
import ssl
import time
import uuid
from pathlib import Path
from typing import Any, NamedTuple

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificatePublicKeyTypes,
    PrivateKeyTypes,
)
from cryptography.x509.oid import NameOID


class KeyAndCert(NamedTuple):
    """A PKCS#8 private key and its self-signed certificate, both PEM text."""

    key_pem: str
    cert_pem: str


def make_key_and_cert(common_name: str = "token-vault-test", key_size: int = 2048) -> KeyAndCert:
    """A fresh RSA key and a self-signed certificate for it, valid from a minute ago for a day."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
    name = _common_name(common_name)
    cert = _day_long(name, name, key.public_key(), early=1).sign(key, hashes.SHA256())
    return KeyAndCert(_pem_key(key), cert.public_bytes(serialization.Encoding.PEM).decode())


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


class Authority(NamedTuple):
    """A test certificate authority: its key and its self-signed CA certificate (PEM)."""

    key_pem: str
    cert_pem: str


def make_authority(common_name: str = "Token Vault Test CA") -> Authority:
    """A fresh CA (EC P-256, valid for a day) that can sign server certificates."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = _common_name(common_name)
    cert = (
        _day_long(name, name, key.public_key(), early=5)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Authority(_pem_key(key), cert.public_bytes(serialization.Encoding.PEM).decode())


def issue_server_cert(authority: Authority, names: list[str]) -> KeyAndCert:
    """A server certificate for DNS names and IP addresses, signed by `authority`."""
    ca_key = serialization.load_pem_private_key(authority.key_pem.encode(), password=None)
    ca_cert = x509.load_pem_x509_certificate(authority.cert_pem.encode())
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for name in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            sans.append(x509.DNSName(name))
    cert = (
        _day_long(_common_name(names[0]), ca_cert.subject, key.public_key(), early=5)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    return KeyAndCert(_pem_key(key), cert.public_bytes(serialization.Encoding.PEM).decode())


def server_context(issued: KeyAndCert, folder: Path) -> ssl.SSLContext:
    """A TLS server context presenting `issued` (files written to `folder`)."""
    folder.mkdir(parents=True, exist_ok=True)
    cert_path = folder / f"server-{uuid.uuid4().hex}.pem"
    key_path = cert_path.with_suffix(".key")
    cert_path.write_text(issued.cert_pem)
    key_path.write_text(issued.key_pem)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context


def _common_name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _day_long(
    subject: x509.Name, issuer: x509.Name, public_key: CertificatePublicKeyTypes, *, early: int
) -> x509.CertificateBuilder:
    """A certificate valid from `early` minutes ago for a day, with a random serial number."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=early))
        .not_valid_after(now + datetime.timedelta(days=1))
    )


def _pem_key(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
