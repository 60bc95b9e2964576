"""The script PyInstaller freezes (packaging/token-vault.spec): the `token-vault` command, the
same entry point as the console script of a pip install.

The spec drops PyInstaller's PySide6 run-time hook, which imports QtCore (and with it
shiboken6's signature machinery) before the program starts: about 0.2 s added to every
command, `token-vault token` included, most of which never touch Qt. What that hook does for a
PySide6 wheel is done here instead, without importing Qt: point Qt at the bundled plugins."""

from __future__ import annotations

import os
import sys


def _qt_environment() -> None:
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is None:  # not frozen
        return
    if sys.platform == "win32":
        qt = os.path.join(bundle, "PySide6")
        # Qt's plugins find the Qt DLLs (and QtNetwork OpenSSL) next to the executable's data.
        os.environ["PATH"] = bundle + os.pathsep + os.environ.get("PATH", "")
    else:
        qt = os.path.join(bundle, "PySide6", "Qt")
    os.environ["QT_PLUGIN_PATH"] = os.path.join(qt, "plugins")
    os.environ["QML2_IMPORT_PATH"] = os.path.join(qt, "qml")


_qt_environment()

from vault_app.entry import main  # noqa: E402 - after the environment Qt reads when it loads

if __name__ == "__main__":
    raise SystemExit(main())
