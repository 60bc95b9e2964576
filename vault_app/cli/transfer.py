"""Commands that move account definitions (never secrets): export, import."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from vault_app.cli.common import PROG, Streams, print_json
from vault_app.core.text import printable

if TYPE_CHECKING:
    from vault_app.cli.common import Subcommands


def register(sub: Subcommands) -> None:
    export = sub.add_parser("export", help="write account definitions (never secrets)")
    export.add_argument("file", nargs="?")
    export.set_defaults(run=cmd_export)

    imp = sub.add_parser("import", help="add account definitions from an export (all or nothing)")
    imp.add_argument("file")
    imp.set_defaults(run=cmd_import)


def cmd_export(args: argparse.Namespace, io: Streams) -> int:
    from vault_app.core.account_store import AccountStore
    from vault_app.core.transfer import export_document, write_export

    data = export_document(AccountStore())
    if args.file:
        write_export(Path(args.file), data)
        count = len(data["accounts"])
        where = printable(args.file)
        io.out.write(f"wrote {count} account definitions to {where} (no secrets)\n")
    else:
        print_json(data, io.out)
    return 0


def cmd_import(args: argparse.Namespace, io: Streams) -> int:
    from vault_app.core.account_store import AccountStore
    from vault_app.core.transfer import import_definitions, read_export

    definitions = read_export(Path(args.file))
    result = import_definitions(AccountStore(), definitions)
    for name in result.skipped:
        io.err.write(f"{printable(name)}: skipped, an account with that name exists\n")
    io.out.write(
        f"imported {len(result.added)} account definitions; give each its secrets with "
        f"'{PROG} edit NAME --secret FIELD'\n"
    )
    return 0
