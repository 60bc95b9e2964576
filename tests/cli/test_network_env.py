"""The network environment through the CLI (issue 10.5): a SOCKS proxy carries an HTTPS
account's sign-in and refresh, loopback accounts ignore every proxy variable, and a proxy
setting that cannot be used is one line, exit 5, naming the variable."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.support import assert_error, assert_ok
from tests.conftest import Cli
from tests.fakes.certs import issue_server_cert, make_authority, server_context
from tests.fakes.proxies import Socks5Proxy
from tests.fakes.traderevolution import TraderEvolutionFake

SITE = "bo.example.test"
PASSWORD = "te-password-0001"


@pytest.fixture
def clean_env(cli: Cli) -> Iterator[Cli]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        cli.env.pop(name, None)
        cli.env.pop(name.lower(), None)
    yield cli


def _add(cli: Cli, base_url: str, *extra: str) -> None:
    assert_ok(
        cli(
            "add", "te", "--provider", "traderevolution",
            "--set", f"base_url={base_url}", "--set", "login=trader",
            "--secret", "password", *extra,
            stdin=PASSWORD + "\n",
        )
    )  # fmt: skip


def test_an_https_account_through_a_socks5_proxy(clean_env: Cli, tmp_path: Path) -> None:
    cli = clean_env
    ca = make_authority()
    (tmp_path / "ca.pem").write_text(ca.cert_pem)
    tls = server_context(issue_server_cert(ca, [SITE]), tmp_path)
    with TraderEvolutionFake(tls=tls) as fake, Socks5Proxy().running() as proxy:
        fake.add_user("trader", PASSWORD)
        proxy.route(SITE, 443, ("127.0.0.1", int(fake.url.rsplit(":", 1)[1])))
        cli.env["ALL_PROXY"] = proxy.url
        cli.env["NO_PROXY"] = "fd00::/8,localhost"  # httpx alone fails on the IPv6 range
        _add(cli, f"https://{SITE}", "--set", f"ca_bundle={tmp_path / 'ca.pem'}")
        token = assert_ok(cli("token", "te", "--force-refresh")).out.strip()
        assert fake.is_active(token)
    assert [(p.via, p.host, p.port) for p in proxy.passages] == [("socks5", SITE, 443)] * 2


@pytest.mark.parametrize(
    "setting",
    [
        {"ALL_PROXY": "socks5://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"},
        {"all_proxy": "socks4://127.0.0.1:9", "NO_PROXY": "10.0.0.0/99"},
    ],
)
def test_a_loopback_account_ignores_every_proxy_setting(
    clean_env: Cli, setting: dict[str, str]
) -> None:
    cli = clean_env
    fake = TraderEvolutionFake()
    fake.host = "127.0.0.2"  # loopback, but not 127.0.0.1
    with fake:
        fake.add_user("trader", PASSWORD)
        cli.env.update(setting)
        _add(cli, fake.base_url)
        token = assert_ok(cli("token", "te", "--force-refresh")).out.strip()
        assert fake.is_active(token)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ALL_PROXY", "socks4://127.0.0.1:9"),
        ("HTTPS_PROXY", "http://[::1"),
        ("https_proxy", "http://user:hunter2-pw@proxy:3128/path"),
    ],
)
def test_an_unusable_proxy_setting_is_one_line_exit_5(
    clean_env: Cli, name: str, value: str
) -> None:
    cli = clean_env
    cli.env[name] = value
    _add(cli, f"https://{SITE}/api", "--no-sign-in")
    line = assert_error(cli("token", "te"), 5, contains=name)
    assert "cannot be used" in line and "hunter2" not in line
