"""Status follows time (issue 11, item 6): an expired token says "Expired" in red as it
happens, not a green OK; the words mean what they show; sorting by status is by severity;
sorting by countdown follows refreshes; the filter matches names, providers and status words
but never the countdowns. Time is an injected clock, never a sleep."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QPersistentModelIndex, Qt
from pytestqt.qtbot import QtBot

from vault_app.core.model import Account, Status
from vault_app.gui import theme
from vault_app.gui.account_model import (
    ACCESS,
    NAME,
    REFRESH,
    STATUS,
    STATUS_WORDS,
    AccountFilter,
    AccountModel,
)
from vault_app.gui.clipboard import SecretClipboard
from vault_app.gui.main_window import MainWindow

START = 1_750_000_000.0


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    now = [START]
    monkeypatch.setattr(time, "time", lambda: now[0])
    yield now


def _account(name: str, **values: object) -> Account:
    account = Account(id=name, name=name, provider=str(values.pop("provider", "static")))
    for key, value in values.items():
        setattr(account, key, value)
    return account


def test_an_expired_static_key_says_expired_as_it_happens(clock: list[float]) -> None:
    model = AccountModel(
        [_account("key", status=Status.OK, access_expires_at=START + 40, last_refresh_at=None)]
    )
    status, access = model.index(0, STATUS), model.index(0, ACCESS)
    assert status.data() == "Valid"
    changed: list[int] = []
    model.dataChanged.connect(lambda tl, _br, *_: changed.append(tl.column()))
    model.tick([0])
    changed.clear()
    clock[0] += 41  # the key lapses between two ticks
    model.tick([0])
    assert STATUS in changed and ACCESS in changed  # the view repaints both cells now
    assert status.data() == "Expired"
    assert access.data() == "expired 1s ago"
    assert access.data(Qt.ItemDataRole.ForegroundRole).color() == theme.current().bad
    assert "fixed key cannot be refreshed" in status.data(Qt.ItemDataRole.ToolTipRole)
    icon_before = model._icon("ok").cacheKey()
    assert status.data(Qt.ItemDataRole.DecorationRole).cacheKey() != icon_before


def test_status_words_mean_what_they_show(clock: list[float]) -> None:
    model = AccountModel(
        [
            _account("fine", status=Status.OK, access_expires_at=START + 600),
            _account("lapsed", status=Status.ERROR, access_expires_at=START - 5),
            _account("failing", status=Status.ERROR, access_expires_at=START + 600),
            _account("retrying", status=Status.ERROR, access_expires_at=START + 600),
            _account("refused", status=Status.SIGN_IN_NEEDED, access_expires_at=START + 600),
            _account("revoked", status=Status.SIGNED_OUT),
        ]
    )
    model.set_retry("retrying", START + 12)
    words = {model.index(r, NAME).data(): model.index(r, STATUS).data() for r in range(6)}
    assert words == {
        "fine": "Valid",
        "lapsed": "Expired",
        "failing": "Refresh failed",
        "retrying": "Retrying in 12s",
        "refused": "Sign-in needed",
        "revoked": "Signed out",
    }
    assert set(words.values()) <= {w.split(" {")[0] for w in STATUS_WORDS.values()} | {
        "Retrying in 12s"
    }
    model.set_busy("fine", True)
    assert model.index(0, STATUS).data() == "Refreshing…"


def test_refresh_column_never_counts_down_a_refused_refresh_token(clock: list[float]) -> None:
    model = AccountModel(
        [
            _account(
                "refused",
                provider="oauth2",
                status=Status.SIGN_IN_NEEDED,
                access_expires_at=START + 300,
                refresh_expires_at=START + 29 * 86400,
                last_error="refresh: rejected by auth.example (HTTP 400: invalid_grant)",
            ),
            _account(
                "fine",
                provider="oauth2",
                status=Status.OK,
                access_expires_at=START + 300,
                refresh_expires_at=START + 29 * 86400,
            ),
        ]
    )
    assert model.index(0, REFRESH).data() == "not accepted"
    assert "refused" in model.index(0, REFRESH).data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(1, REFRESH).data() == "in 29d 0h"
    tip = model.index(0, STATUS).data(Qt.ItemDataRole.ToolTipRole)
    assert "Sign in" in tip and "invalid_grant" in tip  # the reason, escaped, in the tooltip


def _sorted_names(proxy: AccountFilter) -> list[str]:
    return [proxy.index(r, NAME).data() for r in range(proxy.rowCount())]


def test_sorting_by_status_is_by_severity(clock: list[float]) -> None:
    model = AccountModel(
        [
            _account("a-fine", status=Status.OK, access_expires_at=START + 200),
            _account("b-revoked", status=Status.SIGNED_OUT),
            _account("c-refused", status=Status.SIGN_IN_NEEDED, access_expires_at=START + 9),
            _account("d-failing", status=Status.ERROR, access_expires_at=START + 600),
            _account("e-lapsed", status=Status.OK, access_expires_at=START - 1),
        ]
    )
    proxy = AccountFilter(model)
    proxy.sort(STATUS, Qt.SortOrder.AscendingOrder)
    assert _sorted_names(proxy) == ["c-refused", "e-lapsed", "d-failing", "b-revoked", "a-fine"]
    # Time passes: "a-fine" expires and moves up on the next tick, without a click.
    model.tick([])  # no row on screen: a lapse still moves its row
    clock[0] += 201
    model.tick([])
    assert _sorted_names(proxy) == ["c-refused", "a-fine", "e-lapsed", "d-failing", "b-revoked"]


def test_sorting_by_countdown_follows_refreshes(clock: list[float]) -> None:
    model = AccountModel(
        [
            _account("soon", status=Status.OK, access_expires_at=START + 60),
            _account("later", status=Status.OK, access_expires_at=START + 600),
            _account("unknown", status=Status.OK),
        ]
    )
    proxy = AccountFilter(model)
    proxy.sort(ACCESS, Qt.SortOrder.AscendingOrder)
    assert _sorted_names(proxy) == ["soon", "later", "unknown"]
    refreshed = _account("soon", status=Status.OK, access_expires_at=START + 1800)
    model.upsert(refreshed)  # what a refresh does: the row moves at once
    assert _sorted_names(proxy) == ["later", "soon", "unknown"]


def test_filter_matches_names_providers_and_status_but_not_countdowns(
    clock: list[float],
) -> None:
    model = AccountModel(
        [
            _account("alor-main", provider="alor", status=Status.OK, access_expires_at=START + 90),
            _account("broker", provider="oauth2", status=Status.SIGN_IN_NEEDED),
            _account("key", provider="static", status=Status.OK, access_expires_at=START + 30),
        ]
    )
    proxy = AccountFilter(model)
    proxy.sort(NAME, Qt.SortOrder.AscendingOrder)
    for needle, expected in (
        ("ALOR", ["alor-main"]),
        ("oauth", ["broker"]),
        ("sign-in", ["broker"]),
        ("valid", ["alor-main", "key"]),
        ("1m", []),  # "1m 30s" is a countdown, not a name
        ("30s", []),
        ("", ["alor-main", "broker", "key"]),
    ):
        proxy.set_needle(needle)
        assert _sorted_names(proxy) == expected, needle


def test_window_sorts_by_status_when_asked_and_remembers_it(qtbot: QtBot) -> None:
    window = MainWindow(None, SecretClipboard())
    qtbot.addWidget(window)
    now = time.time()
    window._accounts_loaded(
        [
            _account("a", status=Status.OK, access_expires_at=now + 600),
            _account("b", status=Status.SIGN_IN_NEEDED, access_expires_at=now + 600),
        ]
    )
    window.restore_state({"sort_column": "Status", "sort_order": "ascending"})
    assert _sorted_names(window.proxy) == ["b", "a"]
    assert window.state_values()["sort_column"] == "Status"


def test_with_no_message_yet_where_secrets_are_kept_is_whole(qtbot: QtBot) -> None:
    """The first-run page of a 905 px window said "Secrets in memory only (demo: n…)": the
    message label, never given a message, kept three parts of the bar empty."""
    from PySide6.QtWidgets import QMainWindow

    from vault_app.gui.status_bar import StatusBar

    window = QMainWindow()
    qtbot.addWidget(window)
    bar = StatusBar(window.statusBar())
    bar.set_keyring("memory")
    window.resize(905, 300)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: bar.keyring_label.text() == bar.keyring_label.full)


@pytest.mark.parametrize("width", [620, 900])
def test_the_status_message_is_not_squeezed_by_where_secrets_are_kept(
    qtbot: QtBot, width: int
) -> None:
    """At 1024x768 with scale 1.5 (or 1280x800 at scale 2) the message ("Copied
    alor-portfolio-003: …", "Could not copy …") got 130 px and read "Copied alor-portfoli…"
    while the unchanging "Secrets in memory only (demo: nothing is saved)" kept its 300 px.
    What just happened comes first; where secrets are kept gives way (its tooltip has it
    whole)."""
    from PySide6.QtWidgets import QMainWindow

    from vault_app.gui.status_bar import StatusBar

    window = QMainWindow()
    qtbot.addWidget(window)
    bar = StatusBar(window.statusBar())
    bar.set_keyring("memory")
    bar.set_next_refresh(5, False)
    message = "Copied alor-portfolio-003: this token expires in 1m 20s."
    bar.show_message(message)
    window.resize(width, 300)
    window.show()
    qtbot.waitExposed(window)
    assert bar.message.width() > 2 * bar.keyring_label.width() or bar.message.text() == message
    assert bar.keyring_label.width() >= bar.keyring_label.minimum
    if bar.keyring_label.text() != bar.keyring_label.full:
        assert "memory" in bar.keyring_label.toolTip()
    # With room to spare the keyring words are whole and the message takes the rest.
    bar.show_message("", 0)
    qtbot.waitUntil(lambda: bar.keyring_label.text() == bar.keyring_label.full)
    bar.show_message(message)
    window.resize(1600, 300)
    qtbot.waitUntil(lambda: bar.keyring_label.text() == bar.keyring_label.full)
    assert bar.message.text() == message


_changes = st.lists(
    st.tuples(
        st.sampled_from(["upsert", "busy", "idle", "remove", "sort"]),
        st.integers(0, 7),  # which account
        st.integers(-100, 3000),  # a new expiry, seconds from START
        st.sampled_from(list(Status)),
        st.tuples(st.integers(0, 5), st.booleans()),  # a sort column and descending
    ),
    max_size=40,
)


@settings(max_examples=60)
@given(changes=_changes)
def test_rows_stay_in_sort_order_through_any_changes(
    clock: list[float], changes: list[tuple[str, int, int, Status, tuple[int, bool]]]
) -> None:
    """The model keeps its rows sorted itself (no proxy sorting through data()): after any
    mix of refreshes, new and removed accounts, busy rows and re-sorts, the rows are in the
    order of their sort keys, the row index matches, and a selected account stays selected
    (its persistent index follows the moves)."""
    model = AccountModel(
        [_account(f"acct-{i}", access_expires_at=START + 60 * i) for i in range(4)]
    )
    proxy = AccountFilter(model)
    proxy.sort(ACCESS, Qt.SortOrder.AscendingOrder)
    watched = QPersistentModelIndex(proxy.index(0, NAME))
    watched_name = watched.data()
    for action, which, expiry, status, (column, descending) in changes:
        name = f"acct-{which}"
        account = next((a for a in model.accounts() if a.name == name), None)
        if action == "upsert":
            model.upsert(
                Account(
                    id=account.id if account else name,
                    name=name,
                    provider="oauth2",
                    status=status,
                    access_expires_at=START + expiry,
                )
            )
        elif action in ("busy", "idle") and account is not None:
            model.set_busy(account.id, action == "busy")
        elif action == "remove" and account is not None and account.name != watched_name:
            model.remove(account.id)
        elif action == "sort":
            order = Qt.SortOrder.DescendingOrder if descending else Qt.SortOrder.AscendingOrder
            proxy.sort(column, order)
        rows = model.accounts()
        keys = [model._sort_key(a, model.sort_column, START) for a in rows]
        wanted = sorted(keys, reverse=model.descending)
        assert keys == wanted
        assert all(model.row_of(a.id) == row for row, a in enumerate(rows))
        names = [proxy.index(r, NAME).data() for r in range(proxy.rowCount())]
        assert names == [a.name for a in rows]
        assert watched.isValid() and watched.data() == watched_name
