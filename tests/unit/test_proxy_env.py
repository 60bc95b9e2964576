"""Reading the proxy variables: which proxy a URL takes, loopback never proxied, and every
unusable setting a one-line problem naming its variable (never its credentials)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vault_app.core.proxy_env import ProxyEnvironment, ProxyProblem, is_loopback_host

LOOPBACK_URLS = [
    "http://127.0.0.1:8080/token",
    "http://127.0.0.2:9/token",
    "https://127.255.255.254/x",
    "http://localhost:1/x",
    "http://LOCALHOST./x",
    "http://[::1]:8080/x",
    "http://[::ffff:127.0.0.1]:8080/x",
]


def env(**values: str) -> ProxyEnvironment:
    return ProxyEnvironment.from_environ(values, system={})


@pytest.mark.parametrize("url", LOOPBACK_URLS)
@pytest.mark.parametrize(
    "setting",
    [
        {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"},
        {"ALL_PROXY": "socks5://127.0.0.1:9"},
        {"all_proxy": "ftp://bad", "NO_PROXY": "10.0.0.0/99"},  # unusable, yet never consulted
    ],
)
def test_loopback_is_never_proxied(url: str, setting: dict[str, str]) -> None:
    assert env(**setting).proxy_for(url) is None


def test_the_scheme_specific_variable_wins_over_all_proxy() -> None:
    proxies = env(HTTPS_PROXY="http://p1:3128", ALL_PROXY="socks5://p2:1080")
    assert proxies.proxy_for("https://api.example.com/t") == "http://p1:3128"
    assert proxies.proxy_for("http://api.example.com/t") == "socks5://p2:1080"


def test_lower_case_wins_and_a_bare_host_is_an_http_proxy() -> None:
    proxies = env(https_proxy="p3:8080", HTTPS_PROXY="http://p4:1")
    assert proxies.proxy_for("https://api.example.com") == "http://p3:8080"


@pytest.mark.parametrize(
    ("no_proxy", "url", "direct"),
    [
        ("example.com", "https://api.example.com/x", True),
        ("example.com", "https://example.com/x", True),
        ("example.com", "https://badexample.com/x", False),
        (".example.com", "https://api.example.com/x", True),
        ("*.example.com", "https://api.example.com/x", True),
        ("10.0.0.0/8", "https://10.1.2.3/x", True),
        ("10.0.0.0/8", "https://11.1.2.3/x", False),
        ("fd00::/8", "https://[fd12::1]/x", True),
        ("fd00::/8,::1", "https://[fe80::1]/x", False),
        ("2001:db8::1", "https://[2001:db8::1]:8443/x", True),
        ("[2001:db8::1]:8443", "https://[2001:db8::1]:8443/x", True),
        ("[2001:db8::1]:8443", "https://[2001:db8::1]/x", False),
        ("example.com:8443", "https://example.com:8443/x", True),
        ("example.com:8443", "https://example.com/x", False),
        ("https://example.com", "https://example.com/x", True),
        (" example.com , other.org ", "https://other.org/x", True),
        ("*", "https://anything.example/x", True),
    ],
)
def test_no_proxy_shapes(no_proxy: str, url: str, direct: bool) -> None:
    proxies = env(HTTPS_PROXY="http://proxy.example:3128", NO_PROXY=no_proxy)
    assert (proxies.proxy_for(url) is None) is direct


@pytest.mark.parametrize(
    ("variables", "named", "says"),
    [
        ({"ALL_PROXY": "socks4://127.0.0.1:9"}, "ALL_PROXY", "not supported"),
        ({"https_proxy": "ftp://proxy:21"}, "https_proxy", "not supported"),
        ({"HTTPS_PROXY": "http://[::1"}, "HTTPS_PROXY", "not a valid URL"),
        ({"HTTPS_PROXY": "http://proxy:99999"}, "HTTPS_PROXY", "not a valid URL"),
        ({"HTTPS_PROXY": "http://proxy:3128/path"}, "HTTPS_PROXY", "no path"),
        ({"HTTPS_PROXY": "http://"}, "HTTPS_PROXY", "no host"),
        ({"HTTPS_PROXY": "http://pro xy:1"}, "HTTPS_PROXY", "spaces"),
        (
            {"HTTPS_PROXY": "http://proxy:1", "NO_PROXY": "10.0.0.0/99,fd00::/8"},
            "NO_PROXY",
            "10.0.0.0/99",
        ),
        ({"HTTPS_PROXY": "http://proxy:1", "no_proxy": "a b"}, "no_proxy", "not a host"),
    ],
)
def test_an_unusable_setting_names_its_variable(
    variables: dict[str, str], named: str, says: str
) -> None:
    proxies = env(**variables)
    with pytest.raises(ProxyProblem) as caught:
        proxies.proxy_for("https://api.example.com/token")
    message = str(caught.value)
    assert named in message and says in message, message
    assert "\n" not in message
    # The same setting never stops a loopback request.
    assert proxies.proxy_for("http://127.0.0.1:8/token") is None


def test_credentials_in_a_proxy_url_never_reach_a_message() -> None:
    proxies = env(ALL_PROXY="socks4://alice:s3cret-pw@127.0.0.1:1080")
    with pytest.raises(ProxyProblem) as caught:
        proxies.proxy_for("https://api.example.com")
    assert "s3cret" not in str(caught.value) and "alice" not in str(caught.value)
    assert env(ALL_PROXY="socks5://alice:s3cret-pw@127.0.0.1:1080").proxy_for(
        "https://api.example.com"
    ) == ("socks5://alice:s3cret-pw@127.0.0.1:1080")


def test_system_settings_apply_only_without_variables() -> None:
    system = {"https": "http://corp-proxy:8080", "no": "intranet.example"}
    proxies = ProxyEnvironment.from_environ({}, system=system)
    assert proxies.proxy_for("https://api.example.com") == "http://corp-proxy:8080"
    assert proxies.proxy_for("https://wiki.intranet.example") is None
    bad = ProxyEnvironment.from_environ({}, system={"https": "gopher://x"})
    with pytest.raises(ProxyProblem, match="system proxy settings"):
        bad.proxy_for("https://api.example.com")
    env_wins = ProxyEnvironment.from_environ({"HTTPS_PROXY": "http://p:1"}, system=system)
    assert env_wins.proxy_for("https://api.example.com") == "http://p:1"


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.9.8.7", "::1", "[::1]"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", ["localhost.example.com", "128.0.0.1", "::2", "", "0.0.0.0"])
def test_not_loopback_hosts(host: str) -> None:
    assert not is_loopback_host(host)


_values = st.text(max_size=60) | st.sampled_from(
    ["socks5://h:1", "http://[::1", "*", "fd00::/8", "::1", "a,b,,c", "http://u:p@h:1/"]
)


@given(
    st.dictionaries(
        st.sampled_from(
            ["HTTP_PROXY", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"]
        ),
        _values,
        max_size=4,
    ),
    st.sampled_from(["https://api.example.com/t", "http://10.2.3.4:8/t", "https://[fd00::5]/"]),
)
def test_any_environment_gives_a_proxy_a_bypass_or_a_problem(
    variables: dict[str, str], url: str
) -> None:
    proxies = ProxyEnvironment.from_environ(variables, system={})
    try:
        chosen = proxies.proxy_for(url)
    except ProxyProblem as problem:
        assert "\n" not in str(problem)
        return
    assert chosen is None or "://" in chosen
    for loopback in LOOPBACK_URLS:
        assert proxies.proxy_for(loopback) is None
