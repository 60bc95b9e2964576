"""No exception escapes a Qt virtual (issue 10, item 3): the model, the proxy and the delegates
are fed arbitrary stored accounts (absurd numbers, odd strings, unknown providers) and painted.
A value that cannot be shown reads "—"; a failure inside a virtual is logged once and the window
lives (in PySide6 an escaping exception aborts the process, so surviving is the first check)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QCoreApplication, QEventLoop, Qt
from PySide6.QtWidgets import QApplication

from vault_app.core.model import Account, Status
from vault_app.gui import guard
from vault_app.gui.account_model import COLUMNS, SORT_ROLE, TICK_ROLE, UNSHOWN, AccountModel
from vault_app.gui.clipboard import SecretClipboard
from vault_app.gui.main_window import MainWindow

ROLES = [
    Qt.ItemDataRole.DisplayRole,
    Qt.ItemDataRole.DecorationRole,
    Qt.ItemDataRole.ForegroundRole,
    Qt.ItemDataRole.ToolTipRole,
    Qt.ItemDataRole.AccessibleTextRole,
    Qt.ItemDataRole.TextAlignmentRole,
    SORT_ROLE,
    TICK_ROLE,
]

# Text of every kind: controls, bidi overrides, lone surrogates (possible in JSON), markup.
odd_text = st.one_of(
    st.text(st.characters(codec=None, categories=None), max_size=80),
    st.sampled_from(
        [
            "",
            "\ud800",
            "a\u202eevil",
            "<b>bold</b> &amp;",
            "line\nbreak\r\n",
            "\x1b[31mred",
            "x" * 5000,
            "名前",
        ]
    ),
)
times = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(min_value=1e9, max_value=4e9),  # plausible, around now
    st.sampled_from([1.7e12, 1e400, -1.0, 0.0, 2**63]),  # ms for s, overflow, the epoch
)
providers = st.one_of(
    st.sampled_from(["alor", "traderevolution", "apirone", "oauth2", "static"]),
    st.sampled_from(["", "unknown-kind", "OAUTH2"]),
    odd_text,
)


@st.composite
def accounts(draw: Any, index: int = 0) -> Account:
    return Account(
        id=f"id-{index}-{draw(st.integers(0, 10**6))}",
        name=draw(odd_text),
        provider=draw(providers),
        fields=draw(st.dictionaries(odd_text, odd_text, max_size=3)),
        status=draw(st.sampled_from(list(Status))),
        access_expires_at=draw(times),
        refresh_expires_at=draw(times),
        refresh_obtained_at=draw(times),
        last_refresh_at=draw(times),
        last_error=draw(st.one_of(st.none(), odd_text)),
        generation=draw(st.integers(-5, 10**20)),
        created_at=draw(times),
    )


account_lists = st.lists(accounts(), max_size=12).map(
    lambda found: [Account(**{**a.__dict__, "id": f"{a.id}-{n}"}) for n, a in enumerate(found)]
)


@pytest.fixture(autouse=True)
def _fresh_reports() -> None:
    guard._reported.clear()


@given(account_lists, odd_text)
def test_model_answers_every_role_for_any_stored_account(found: list[Account], needle: str) -> None:
    from vault_app.gui.account_model import AccountFilter

    model = AccountModel(found)
    proxy = AccountFilter(model)
    for row in range(model.rowCount()):
        for column in range(len(COLUMNS)):
            index = model.index(row, column)
            for role in ROLES:
                value = index.data(role)
                if role == Qt.ItemDataRole.DisplayRole and column < len(COLUMNS) - 1:
                    assert isinstance(value, str)
    for section in range(-1, len(COLUMNS) + 1):
        for role in ROLES:
            model.headerData(section, Qt.Orientation.Horizontal, role)
            model.headerData(section, Qt.Orientation.Vertical, role)
    for column in range(len(COLUMNS)):
        for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
            proxy.sort(column, order)
    proxy.set_needle(needle)
    model.tick(range(model.rowCount()))
    model.tick()
    # Every odd value was made showable before it reached Qt: nothing needed the guard.
    assert guard._reported == set()


@pytest.fixture(scope="module")
def shown_window(qapp: QApplication) -> Any:
    window = MainWindow(None, SecretClipboard())
    window.show()
    yield window
    window.close()
    window.deleteLater()
    qapp.processEvents()


def _paint(window: MainWindow) -> None:
    window._ensure_row_widgets()
    QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
    assert not window.grab().isNull()


@settings(max_examples=40)
@given(account_lists)
def test_window_paints_any_stored_account(shown_window: MainWindow, found: list[Account]) -> None:
    shown_window._accounts_loaded(found)
    for column in range(len(COLUMNS) - 1):
        shown_window.table.sortByColumn(column, Qt.SortOrder.AscendingOrder)
    shown_window.model.tick(range(len(found)))
    _paint(shown_window)
    assert guard._reported == set()


def test_a_cell_that_fails_reads_a_dash_and_is_logged_once(
    shown_window: MainWindow, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(self: AccountModel, account: Account, column: int, now: float) -> str:
        raise OverflowError("a value nobody foresaw")

    monkeypatch.setattr(AccountModel, "_text", broken)
    shown_window._accounts_loaded(
        [Account(id="a", name="a", provider="static"), Account(id="b", name="b", provider="x")]
    )
    with caplog.at_level(logging.ERROR, logger="vault_app.gui"):
        for _ in range(3):
            shown_window.table.viewport().repaint()
            _paint(shown_window)
    model = shown_window.model
    assert model.index(0, 0).data() == UNSHOWN
    assert model.index(0, 3).data(TICK_ROLE) == (UNSHOWN, None)  # the countdown delegate's
    logged = [r for r in caplog.records if "failed" in r.getMessage()]
    places = sorted({r.getMessage().split(" failed")[0] for r in logged})
    assert places == ["AccountModel.data"]  # once per place, however often it is painted
    assert len(logged) == 1


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), odd_text),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(odd_text, inner, max_size=4)
    ),
    max_leaves=10,
)


@settings(max_examples=60)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            key: json_values
            for key in (
                "window_geometry",
                "column_widths",
                "sort_column",
                "sort_order",
                "toolbar_visible",
                "colour_scheme",
                "pinned_accounts",
                "recent_accounts",
                "copy_format",
                "clipboard_seconds",
            )
        },
    )
)
def test_remembered_settings_of_any_shape_never_break_the_window(
    shown_window: MainWindow, values: dict[str, Any]
) -> None:
    shown_window.restore_state(values)
    shown_window.settings.update(values)
    shown_window._ids("pinned_accounts")
    assert isinstance(shown_window.state_values()["column_widths"], dict)
