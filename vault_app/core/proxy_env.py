"""Which proxy a request goes through, from the environment's proxy variables, read here
rather than by httpx so that a bad setting is one clear error about that variable and never
stops a request that needs no proxy (DESIGN.md section 7).

- `http_proxy` / `HTTP_PROXY` for http:// URLs, `https_proxy` / `HTTPS_PROXY` for https://,
  `all_proxy` / `ALL_PROXY` for either when the specific one is unset; the lower-case name wins
  when both are set (as curl and urllib read them). Schemes: http, https, socks5, socks5h; a
  value without a scheme is an http proxy.
- `no_proxy` / `NO_PROXY`: comma-separated host names (a name also covers its subdomains; a
  leading `.` or `*.` is allowed), IP addresses, CIDR ranges (IPv4 and IPv6), each with an
  optional `:port`, or `*` for every host.
- Loopback (all of 127.0.0.0/8, ::1 and localhost) never goes through a proxy, whatever the
  variables say: a proxy must not see what the app sends to this machine's own servers.
- On Windows and macOS, when no variable is set, the system's proxy settings (urllib's
  `getproxies`) take their place; their problems are reported as "the system proxy settings".
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")
_HOST_NAME = re.compile(r"[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?")


def is_loopback_host(host: str) -> bool:
    """Whether `host` (a URL's host, IPv6 with or without brackets) is this machine:
    localhost or any loopback address (all of 127.0.0.0/8, ::1)."""
    name = host.strip("[]").lower().rstrip(".")
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:127.0.0.1 is IPv4 loopback too
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


class ProxyProblem(Exception):
    """A proxy variable that cannot be used; the message names it (never its credentials)."""


@dataclass(frozen=True)
class ProxySetting:
    variable: str  # where it came from, e.g. "HTTPS_PROXY"
    url: str | None  # for httpx; None when unusable
    problem: str | None = None

    def usable(self) -> str:
        if self.url is None:
            raise ProxyProblem(
                f"the proxy setting {self.variable} cannot be used ({self.problem}); "
                "fix or unset it"
            )
        return self.url


@dataclass(frozen=True)
class _Exempt:
    """One NO_PROXY entry."""

    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    domain: str | None = None
    port: int | None = None


@dataclass(frozen=True)
class ProxyEnvironment:
    """The proxy variables as read once; `proxy_for(url)` decides per request."""

    by_scheme: Mapping[str, ProxySetting] = field(default_factory=dict)  # http, https, all
    exempt: tuple[_Exempt, ...] = ()
    exempt_all: bool = False
    exempt_variable: str = "NO_PROXY"
    exempt_problem: str | None = None

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str] | None = None, system: Mapping[str, str] | None = None
    ) -> ProxyEnvironment:
        """Read the variables (or `system`, urllib-style {"https": url, "no": list}, when
        none is set; None: ask urllib on Windows and macOS)."""
        environ = os.environ if environ is None else environ
        found: dict[str, tuple[str, str]] = {}
        for key in ("http", "https", "all", "no"):
            for name in (f"{key}_proxy", f"{key.upper()}_PROXY"):
                value = environ.get(name, "").strip()
                if value:
                    found[key] = (name, value)
                    break
        if not found:
            if system is None:
                system = _system_proxies()
            found = {
                key: ("the system proxy settings", value.strip())
                for key, value in system.items()
                if key in ("http", "https", "all", "no") and value and value.strip()
            }
        by_scheme: dict[str, ProxySetting] = {
            key: _parse_proxy(*found[key]) for key in ("http", "https", "all") if key in found
        }
        if "no" not in found:
            return cls(by_scheme)
        variable, value = found["no"]
        exempt: list[_Exempt] = []
        problem = None
        for entry in (e.strip() for e in value.split(",")):
            if not entry:
                continue
            if entry == "*":
                return cls(by_scheme, exempt_all=True, exempt_variable=variable)
            parsed = _parse_exempt(entry)
            if parsed is None:
                problem = problem or f"{_shown(entry)!r} is not a host name, address or range"
            else:
                exempt.append(parsed)
        return cls(by_scheme, tuple(exempt), False, variable, problem)

    def proxy_for(self, url: str) -> str | None:
        """The proxy URL to use for `url`, or None to connect directly; ProxyProblem when
        the setting that applies cannot be used."""
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            return None  # httpx reports the URL itself
        if is_loopback_host(host) or self.exempt_all:
            return None
        setting = self.by_scheme.get(parts.scheme) or self.by_scheme.get("all")
        if setting is None:
            return None
        if self._exempted(host, port):
            return None
        if self.exempt_problem is not None:
            # A broken exemption list could send to the proxy what was meant to bypass it.
            raise ProxyProblem(
                f"the proxy setting {self.exempt_variable} cannot be used "
                f"({self.exempt_problem}); fix or unset it"
            )
        return setting.usable()

    def _exempted(self, host: str, port: int) -> bool:
        address = _address(host)
        for entry in self.exempt:
            if entry.port is not None and entry.port != port:
                continue
            if entry.network is not None:
                if address is not None and address in entry.network:
                    return True
            elif entry.domain is not None and (
                host.rstrip(".") == entry.domain or host.rstrip(".").endswith("." + entry.domain)
            ):
                return True
        return False


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _shown(value: str) -> str:
    """A value fit for a one-line message: printable ASCII, at most 60 characters."""
    clean = "".join(ch if " " < ch < "\x7f" else "?" for ch in value)
    return clean if len(clean) <= 60 else clean[:59] + "…"


def _parse_proxy(variable: str, value: str) -> ProxySetting:
    raw = value if "://" in value else f"http://{value}"
    try:
        parts = urlsplit(raw)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return ProxySetting(variable, None, "not a valid URL")
    scheme = parts.scheme.lower()
    where = f"{scheme}://{_shown(host or '')}" + (f":{port}" if port else "")
    if scheme not in PROXY_SCHEMES:
        return ProxySetting(
            variable,
            None,
            f"{_shown(scheme)!r} proxies are not supported; use one of {', '.join(PROXY_SCHEMES)}",
        )
    if not host:
        return ProxySetting(variable, None, f"{where} names no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return ProxySetting(variable, None, f"{where}: a proxy URL has no path or query")
    if any(ch <= " " or ch == "\x7f" for ch in raw):
        return ProxySetting(
            variable, None, f"{where}: the value holds spaces or control characters"
        )
    try:
        import httpx

        httpx.Proxy(raw)
    except Exception as exc:  # httpx's own checks: whatever it refuses, we refuse by name
        return ProxySetting(variable, None, f"{where}: {_shown(str(exc) or type(exc).__name__)}")
    return ProxySetting(variable, raw)


def _parse_exempt(entry: str) -> _Exempt | None:
    """One NO_PROXY entry, or None when it is none of the shapes the module doc lists."""
    text = entry
    if "://" in text:
        text = text.split("://", 1)[1]
    text = text.rstrip("/")
    port: int | None = None
    # IPv6 with a port is bracketed; a bare IPv6 address or range has several colons.
    if text.startswith("["):
        inside, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            return None
        if rest:
            port = _port(rest[1:])
            if port is None:
                return None
        text = inside
    elif text.count(":") == 1:
        text, _, port_text = text.partition(":")
        port = _port(port_text)
        if port is None:
            return None
    if "/" in text or _address(text) is not None:
        try:
            return _Exempt(network=ipaddress.ip_network(text, strict=False), port=port)
        except ValueError:
            return None
    name = text.lower()
    for prefix in ("*.", "."):
        name = name.removeprefix(prefix)
    if not name or len(name) > 253 or not _HOST_NAME.fullmatch(name):
        return None
    return _Exempt(domain=name.rstrip("."), port=port)


def _port(text: str) -> int | None:
    if not text.isascii() or not text.isdigit() or not 0 < int(text) < 65536:
        return None
    return int(text)


def _system_proxies() -> dict[str, str]:
    """Windows' registry or macOS's SystemConfiguration proxies, as urllib reads them."""
    if os.name != "nt" and not _is_macos():
        return {}
    import urllib.request

    try:
        return dict(urllib.request.getproxies())
    except Exception:  # a broken registry entry must not break requests
        return {}


def _is_macos() -> bool:
    import sys

    return sys.platform == "darwin"
