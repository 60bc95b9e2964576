"""The tray under a real tray host (trayer on a private Xvfb display)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from tests.gui.xserver import private_display


def test_tray_menu_icon_pause_and_hide_to_tray(tmp_path: Path) -> None:
    with private_display(tray=True) as display:
        env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb")
        proc = subprocess.run(
            [sys.executable, "-m", "tests.gui.tray_probe", str(tmp_path)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr[-2000:]
    shown = json.loads(proc.stdout.strip().splitlines()[-1])
    assert shown["tray"] and shown["visible"]
    assert shown["copy"] == ["alpha", "beta"]
    assert shown["menu"] == [
        "Copy token",
        "Refresh all",
        "Pause refreshing",
        "Show/Hide window",
        "Quit",
    ]
    assert shown["key_before"] == "ok" and shown["key_after"] == "error"
    assert "Next expiry: alpha in" in shown["tooltip"]
    assert shown["paused"] is True
    assert shown["window_at_start"] is False  # --minimized with a tray: starts in the tray
    assert shown["shown"] is True
    assert shown["close_hides"] is True
    assert shown["notified"] is True
    assert shown["clicked_shows"] is True  # a notification's click shows its account
