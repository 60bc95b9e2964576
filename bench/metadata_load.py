"""The metadata file at issue 14's size: parse (schema check included), load() when nothing
changed (a stat of the file and its folder), and an update of one account (read under the
lock, one change, atomic write), for N static accounts in a temporary vault. Medians.

    .venv/bin/python -m bench.metadata_load [--accounts 2000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import vault_with_accounts
from vault_app.core.account_store import AccountStore, VaultDoc


def _median(work: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "vault"
        vault_with_accounts(home, args.accounts)
        store = AccountStore(home)
        raw = store.path.read_bytes()
        target = store.load().accounts[5].id

        def touch(doc: VaultDoc) -> None:
            doc.by_id(target).last_error = "x"

        parse = _median(lambda: store._parse(raw), 60)
        hit = _median(store.load, 3000)
        update = _median(lambda: store.update(touch), 40)
    print(
        f"{args.accounts} accounts, {len(raw) / 1024:.0f} KiB: parse {parse * 1e3:.1f} ms, "
        f"load() unchanged {hit * 1e6:.1f} us, update of one account {update * 1e3:.1f} ms"
    )


if __name__ == "__main__":
    main()
