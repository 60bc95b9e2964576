from __future__ import annotations

import pytest

from vault_app.core.errors import UsageError
from vault_app.core.providers.base import (
    AccountConfig,
    check_complete,
    check_url,
    get_provider,
    kinds,
    normalize_fields,
)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.example.com/v2",
        "http://127.0.0.1:8080",
        "http://localhost/x",
        "http://[::1]:9/",
        "http://127.0.0.2:9/o/token/",
        "https://auth.example.com/o/token/",
    ],
)
def test_accepted_urls_are_kept_exactly(url: str) -> None:
    """A trailing slash is part of the URL: django-oauth-toolkit's /o/token/ without it
    answers a redirect."""
    assert check_url("base_url", url) == url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://api.example.com", "loopback"),
        ("ftp://example.com", "valid http"),
        ("not a url", "valid http"),
        ("https://user:pw@example.com", "credentials"),
        ("https://example.com/?token=x", "query"),
        ("https://example.com:99999", "valid URL"),
        ("https://example.com/a b", "spaces"),
        ("https://example.com/a\r\nX-Injected: 1", "control"),
        ("https://example.com/#frag", "fragment"),
        ("https://exämple.com/", "non-ASCII"),
    ],
)
def test_refused_urls(url: str, why: str) -> None:
    with pytest.raises(UsageError, match=why):
        check_url("base_url", url)


def test_every_registered_provider_loads_and_declares_fields() -> None:
    for kind in kinds():
        provider = get_provider(kind)
        assert provider.kind == kind
        names = [f.name for f in provider.fields]
        assert len(names) == len(set(names))
        assert provider.revoke_description(AccountConfig({}, {})) != ""


def test_unknown_provider() -> None:
    with pytest.raises(UsageError, match="unknown provider 'nope'"):
        get_provider("nope")


def test_normalize_rejects_secret_and_unknown_fields() -> None:
    static = get_provider("static")
    with pytest.raises(UsageError, match="secret"):
        normalize_fields(static, {"token": "x"}, complete=True)
    with pytest.raises(UsageError, match="no field 'colour'"):
        normalize_fields(static, {"colour": "red"}, complete=True)
    with pytest.raises(UsageError, match="ISO date"):
        normalize_fields(static, {"expires_at": "tomorrow"}, complete=True)


def test_defaults_and_required() -> None:
    static = get_provider("static")
    fields = normalize_fields(static, {}, complete=True)
    assert fields == {"header_name": "Authorization", "scheme": "Bearer"}
    with pytest.raises(UsageError, match="needs token"):
        check_complete(static, fields, {})
    check_complete(static, fields, {"token": "t"})
