"""A scripted browser for the interactive sign-in tests, set as $BROWSER: it receives the URL
Token Vault opens and does what a person would in a browser, with an HTTP client that keeps
cookies and follows redirects: fills in the login form of the provider's pages, presses
Continue on the consent page (or Cancel / Abort when told to deny), types the user code on the
device page, and follows the final redirect to Token Vault's loopback listener.

    python browser.py URL

Environment: TV_BROWSER_LOG, a file that gets one line per run ("opened <path>", then
"done <status>" or "failed <why>"), so tests can tell whether and how often a browser was
opened; TV_BROWSER_MODE: "consent" (default), "deny" or "ignore" (opens nothing further: a
person who walked away); TV_BROWSER_USER: the login to type (default alice); TV_USER_CODE: the
code to type when the page asks for one.
"""

from __future__ import annotations

import os
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

MAX_STEPS = 20


class Forms(HTMLParser):
    """The forms of a page: id, action, method and named inputs; and links (href)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, object]] = []
        self.links: list[str] = []
        self._current: dict[str, object] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = {
                "id": a.get("id", ""),
                "action": a.get("action", ""),
                "method": a.get("method", "get").lower(),
                "inputs": {},
            }
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None and a.get("name"):
            inputs = self._current["inputs"]
            assert isinstance(inputs, dict)
            inputs[a["name"]] = a.get("value", "")
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def log(line: str) -> None:
    path = os.environ.get("TV_BROWSER_LOG")
    if path:
        with Path(path).open("a") as handle:
            handle.write(line + "\n")


def act(client: httpx.Client, page: httpx.Response, mode: str) -> httpx.Response | None:
    """One person's step on `page`; None when there is nothing left to do."""
    if "html" not in page.headers.get("content-type", ""):
        return None
    parser = Forms()
    parser.feed(page.text)
    if not parser.forms:
        return None
    form = parser.forms[0]
    inputs = dict(form["inputs"])  # type: ignore[call-overload]
    action = urljoin(str(page.url), str(form["action"]))
    if mode == "deny":
        aborts = [link for link in parser.links if link.endswith("/abort")]
        if aborts:  # the login page's "[ Cancel ]"
            return client.get(urljoin(str(page.url), aborts[0]))
        if form["id"] == "op.deviceConfirmForm":
            inputs["abort"] = "yes"
    if "login" in inputs:
        inputs["login"] = os.environ.get("TV_BROWSER_USER", "alice")
        inputs["password"] = "any password"
    if "user_code" in inputs and not inputs["user_code"]:
        inputs["user_code"] = os.environ.get("TV_USER_CODE", "")
    if form["method"] == "post":
        return client.post(action, data=inputs)
    return client.get(action, params=inputs)


def main(url: str) -> int:
    mode = os.environ.get("TV_BROWSER_MODE", "consent")
    log(f"opened {urlsplit(url).path}")
    if mode == "ignore":
        return 0
    try:
        with httpx.Client(follow_redirects=True, trust_env=False, timeout=30) as client:
            page: httpx.Response | None = client.get(url)
            for _ in range(MAX_STEPS):
                assert page is not None
                following = act(client, page, mode)
                if following is None:
                    break
                page = following
            assert page is not None
            log(f"done {page.status_code} {urlsplit(str(page.url)).netloc}")
    except httpx.HTTPError as exc:
        log(f"failed {type(exc).__name__}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
