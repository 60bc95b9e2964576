"""Cycles holding Qt objects are collected on the GUI thread, never on a worker's."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest
from PySide6.QtCore import QObject, QTimer
from pytestqt.qtbot import QtBot

from vault_app.gui.collector import GuiThreadCollector


class _Cycle:
    """A reference cycle holding a QObject with a running timer (a dialog's kind of cycle)."""

    def __init__(self, deaths: list[str]) -> None:
        self.me = self
        self.deaths = deaths
        self.timer = QTimer()
        self.timer.start(60_000)

    def __del__(self) -> None:
        self.deaths.append(threading.current_thread().name)


@pytest.fixture
def collector(qtbot: QtBot) -> Iterator[GuiThreadCollector]:
    owner = QObject()
    made = GuiThreadCollector(owner)
    was_enabled = gc.isenabled()
    made.install()
    try:
        yield made
    finally:
        made.uninstall()
        assert gc.isenabled() == was_enabled


def test_a_worker_allocating_never_collects_the_guis_cycles(
    collector: GuiThreadCollector,
) -> None:
    deaths: list[str] = []
    _Cycle(deaths)
    first = collector.thresholds[0]

    kept: list[list[int]] = []

    def allocate() -> None:  # far past every threshold: automatic collection would run here
        kept.extend([index] for index in range(first * 50))

    worker = threading.Thread(target=allocate, name="worker")
    worker.start()
    worker.join()
    assert deaths == []
    collector.check()
    assert deaths == [threading.main_thread().name]
    assert sum(collector.collections) >= 1


def test_a_look_with_little_garbage_collects_nothing(collector: GuiThreadCollector) -> None:
    gc.collect()  # counts back to zero
    deaths: list[str] = []
    _Cycle(deaths)
    collector.check()
    assert deaths == [] and collector.collections == [0, 0, 0]
    gc.collect()
    assert deaths == [threading.main_thread().name]


def test_uninstall_gives_automatic_collection_back() -> None:
    made = GuiThreadCollector()
    gc.enable()  # as outside the GUI tests' own collector (conftest)
    made.install()
    assert not gc.isenabled()
    made.uninstall()
    assert gc.isenabled()


def test_odd_thresholds_never_raise(collector: GuiThreadCollector) -> None:
    collector.thresholds = (0, 0, 0)  # as gc.set_threshold(0) leaves them
    collector.check()
    assert collector.collections == [0, 0, 0]
