"""The `token-vault` command. A launch with no command (or only `gui`, `--minimized`, `--demo`)
goes straight to the window: no argparse, no CLI module, logging set up once the window is
drawn. `token` is first offered to the running app (service/served_token.py). Everything else
is cli.main."""

from __future__ import annotations

import sys
from collections.abc import Sequence

GUI_WORDS = frozenset({"gui", "--minimized", "--demo"})


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    if set(words) <= GUI_WORDS and len(set(words)) == len(words):
        from vault_app.gui.launch import run_gui

        return run_gui(minimized="--minimized" in words, demo="--demo" in words)
    if words[:1] == ["token"]:
        # The running app answers before the CLI package is imported (service/served_token.py).
        from vault_app.service.served_token import run

        code = run(words[1:])
        if code is not None:
            return code
    from vault_app.cli import main as cli_main

    return cli_main(words)
