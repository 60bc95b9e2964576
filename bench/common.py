"""Helpers shared by the benchmarks: vault homes full of accounts (metadata only)."""

from __future__ import annotations

import statistics
import time
import uuid
from pathlib import Path

from vault_app.core.account_store import AccountStore, VaultDoc
from vault_app.core.model import Account, Status


def vault_with_accounts(home: Path, count: int) -> None:
    """`count` signed-in static accounts in the metadata file (no keyring items needed to
    draw the table)."""
    now = time.time()

    def fill(doc: VaultDoc) -> None:
        doc.accounts = [
            Account(
                id=uuid.uuid4().hex,
                name=f"account-{i:04d}",
                provider="static",
                status=Status.OK,
                access_expires_at=now + 600 + i,
                last_refresh_at=now - 60,
                generation=1,
            )
            for i in range(count)
        ]

    AccountStore(home).update(fill)


def median(values: list[float]) -> float:
    return statistics.median(values)
