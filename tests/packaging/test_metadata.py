"""The desktop entry and AppStream metainfo validate, and every place that states the version
states the one in vault_app/__init__.py."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET

from tests.conftest import REPO
from tests.system.support import validate_desktop_file, validate_metainfo
from vault_app import __version__
from vault_app.system.launcher import APP_ID

METAINFO = REPO / "packaging" / f"{APP_ID}.metainfo.xml"
ENTRY = REPO / "resources" / f"{APP_ID}.desktop"


def test_desktop_entry_validates() -> None:
    validate_desktop_file(ENTRY)
    assert f"Icon={APP_ID}\n" in ENTRY.read_text()


def test_metainfo_validates_and_names_the_entry() -> None:
    validate_metainfo(METAINFO)
    root = ET.parse(METAINFO).getroot()
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable") == ENTRY.name


def test_newest_release_in_the_metainfo_is_this_version() -> None:
    releases = ET.parse(METAINFO).getroot().findall("releases/release")
    assert releases and releases[0].get("version") == __version__


def test_version_option_prints_the_package_version() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "vault_app", "--version"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    assert proc.stdout == f"token-vault {__version__}\n"


def test_installed_distribution_reports_the_same_version() -> None:
    from importlib.metadata import version

    assert version("token-vault") == __version__
