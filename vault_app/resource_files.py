"""Where the files Qt loads at run time live: `resources/` in a source tree, and the
`vault_app/resources` package it is installed as (see pyproject.toml)."""

from __future__ import annotations

from pathlib import Path

_SOURCE_TREE = Path(__file__).resolve().parent.parent / "resources"


def resource_path(name: str) -> Path:
    installed = Path(__file__).resolve().parent / "resources" / name
    return installed if installed.exists() else _SOURCE_TREE / name
