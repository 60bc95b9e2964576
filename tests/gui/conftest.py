"""GUI tests run on the real X server (Xvfb) that scripts/test starts."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if os.environ.get("DISPLAY"):
        return
    if os.environ.get("TOKEN_VAULT_TEST_SESSION"):
        raise pytest.UsageError("scripts/test started no X server: see its xvfb.log")
    skip = pytest.mark.skip(reason="needs an X server: run scripts/test")
    for item in items:
        if "tests/gui/" in str(item.fspath):
            item.add_marker(skip)
