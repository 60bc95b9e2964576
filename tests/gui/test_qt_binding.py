"""The installed PySide6 keeps its references to True and None. 6.12.0 lost one on every
Signal.emit and on every Python override returning None, and a window with a 1 Hz countdown
aborted ("bool_dealloc") after a minute or two on Python < 3.12; pyproject.toml excludes it.
This catches a release with the same fault before users do."""

from __future__ import annotations

import sys

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

CALLS = 20_000


class _Emitter(QObject):
    fired = Signal(int)


class _Model(QAbstractTableModel):
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 1

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 1

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> None:
        return None


def test_signal_emit_keeps_references_to_true() -> None:
    emitter = _Emitter()
    seen: list[int] = []
    emitter.fired.connect(seen.append)
    before = sys.getrefcount(True)
    for i in range(CALLS):
        emitter.fired.emit(i)
    assert len(seen) == CALLS
    assert sys.getrefcount(True) >= before - 100


def test_python_overrides_returning_none_keep_references_to_none() -> None:
    model = _Model()
    index = model.index(0, 0)
    before = sys.getrefcount(None)
    for _ in range(CALLS):
        index.data(Qt.ItemDataRole.FontRole)
    assert sys.getrefcount(None) >= before - 100
