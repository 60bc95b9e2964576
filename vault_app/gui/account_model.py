"""The account table's model: metadata only, never a secret. A 1 Hz tick repaints only the cells
whose text changes with time alone (status, countdown, last refresh); the rest changes through
the adapter's signals.

Every value comes from a file a person may have edited: times are checked (core/bounds.py) as
accounts arrive, text is made safe to show (plain_text.py), and no exception leaves `data`,
`headerData`, `lessThan` or `filterAcceptsRow` (guard.py): a cell that cannot be shown says "—"."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QIcon

from vault_app.core import bounds
from vault_app.core.model import Account, Status
from vault_app.core.schedule import EngineSettings, refresh_at
from vault_app.core.timefmt import span
from vault_app.gui import theme
from vault_app.gui.guard import guarded, report
from vault_app.gui.plain_text import shown, tooltip
from vault_app.resource_files import resource_path

COLUMNS = ("Name", "Provider", "Status", "Access token", "Refresh token", "Last refresh", "Actions")
NAME, PROVIDER, STATUS, ACCESS, REFRESH, LAST, ACTIONS = range(len(COLUMNS))
TICKING = (STATUS, ACCESS, LAST)  # the columns whose text changes with time alone
COUNTDOWNS = (ACCESS, LAST)  # drawn by the countdown delegate
SORT_ROLE = Qt.ItemDataRole.UserRole
ID_ROLE = Qt.ItemDataRole.UserRole + 1
TICK_ROLE = Qt.ItemDataRole.UserRole + 2  # (text, colour or None) in one call, for painting
UNSHOWN = "—"  # what a cell says when its value is unknown, or cannot be shown

# Status keys, worst first: sorting by Status puts what needs the user on top.
SEVERITY = (
    "sign_in_needed",
    "expired",
    "error",
    "retrying",
    "refreshing",
    "signed_out",
    "ok",
)
STATUS_WORDS = {
    "sign_in_needed": "Sign-in needed",
    "expired": "Expired",
    "error": "Refresh failed",
    "retrying": "Retrying in {}",
    "refreshing": "Refreshing…",
    "signed_out": "Signed out",
    "ok": "Valid",
}
STATUS_HELP = {
    "sign_in_needed": "The server no longer accepts what Token Vault holds for this account. "
    "Choose Account ▸ Sign in… to enter new credentials.",
    "expired": "The access token has expired.",
    "error": "The last refresh failed. The token stays usable until it expires.",
    "retrying": "The last refresh failed; Token Vault tries again in {}. The token stays "
    "usable until it expires.",
    "refreshing": "Getting a new access token.",
    "signed_out": "No token is held: the account is new, was imported or was revoked. "
    "Choose Account ▸ Sign in… to get one.",
    "ok": "The access token is valid and kept fresh.",
}

_Index = QModelIndex | QPersistentModelIndex
_LAST = float("inf")
_ROLES = frozenset(
    {
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.DecorationRole,
        Qt.ItemDataRole.ForegroundRole,
        Qt.ItemDataRole.ToolTipRole,
        Qt.ItemDataRole.AccessibleTextRole,
        SORT_ROLE,
        ID_ROLE,
        TICK_ROLE,
    }
)


def checked(account: Account, now: float | None = None) -> Account:
    """A copy of `account` whose times are sane (out-of-range ones become unknown) and whose
    text fields are strings: what the model keeps and shows."""
    now = time.time() if now is None else now
    try:
        clean = account.copy()
    except Exception as exc:  # fields of the wrong type: keep what identifies the row
        report("checked", exc)
        clean = Account(id=str(account.id), name=str(account.name), provider="?")
    for name in ("access_expires_at", "refresh_expires_at", "last_refresh_at"):
        setattr(clean, name, bounds.timestamp(getattr(account, name), now))
    for name in ("id", "name", "provider"):
        value = getattr(account, name)
        setattr(clean, name, value if isinstance(value, str) else str(value))
    last_error: object = account.last_error
    if last_error is not None and not isinstance(last_error, str):
        clean.last_error = str(last_error)
    status: object = account.status
    if not isinstance(status, Status):
        clean.status = Status.ERROR
    return clean


class AccountModel(QAbstractTableModel):
    def __init__(
        self, accounts: list[Account] | None = None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._accounts: list[Account] = [checked(a) for a in accounts or []]
        self._rows: dict[str, int] = {}
        self._busy: set[str] = set()
        self._retry_at: dict[str, float] = {}
        self.pinned: set[str] = set()
        self.settings = EngineSettings()
        self._icons: dict[str, QIcon] = {}
        self._shown: dict[tuple[str, int], tuple[str | None, int | None]] = {}  # tick's memory
        self._last_tick: float | None = None
        # The model keeps its rows in the sort order itself (see `sort`); -1: as added.
        self.sort_column = -1
        self.descending = False
        self._order_ids: list[str] = []  # the ids in the order before a re-sort
        self._next_lapse: float | None = None  # the next access expiry; None: look again
        self._reindex()
        theme.theme().changed.connect(self._theme_changed)

    def _theme_changed(self) -> None:
        self._icons.pop("action-pin", None)
        self._shown.clear()
        if self._accounts:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._accounts) - 1, ACTIONS))

    # -- contents ---------------------------------------------------------------------------

    def _reindex(self, first: int = 0, last: int | None = None) -> None:
        """Row numbers by account id, for the rows `first` to `last` (all from `first`)."""
        if first == 0 and last is None:
            self._rows = {a.id: i for i, a in enumerate(self._accounts)}
            return
        end = len(self._accounts) if last is None else last + 1
        for row in range(first, end):
            self._rows[self._accounts[row].id] = row

    # -- sorting ----------------------------------------------------------------------------
    # The rows are kept in order here, by a key per account computed in Python, instead of by
    # QSortFilterProxyModel, which compares rows through data(): for 2,000 accounts that is
    # 26,000 calls from C++ into Python (0.1-0.3 s) on every load and every re-sort.

    @guarded()
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.sort_column = column if 0 <= column < ACTIONS else -1
        self.descending = order == Qt.SortOrder.DescendingOrder
        ordered = self._in_order(self._accounts)
        if [a.id for a in ordered] == self._order_ids:
            return
        self.layoutAboutToBeChanged.emit()
        before = self.persistentIndexList()
        self._accounts = ordered
        self._reindex()
        after = []
        for index in before:
            row = self._rows.get(self._id_at(index.row()) or "")
            after.append(self.index(row, index.column()) if row is not None else QModelIndex())
        self.changePersistentIndexList(before, after)
        self.layoutChanged.emit()

    def _id_at(self, row: int) -> str | None:
        return self._order_ids[row] if 0 <= row < len(self._order_ids) else None

    def _in_order(self, accounts: list[Account]) -> list[Account]:
        """`accounts` in the current sort order (stable: ties keep their order)."""
        self._order_ids = [a.id for a in self._accounts]  # for persistent indexes
        if self.sort_column < 0:
            return list(accounts)
        now = time.time()
        keys = [self._key(a, now) for a in accounts]
        order = sorted(range(len(accounts)), key=keys.__getitem__, reverse=self.descending)
        return [accounts[i] for i in order]

    def _key(self, account: Account, now: float) -> Any:
        try:
            return self._sort_key(account, self.sort_column, now)
        except Exception as exc:  # one odd value must not break sorting: it goes last
            report("AccountModel.sort", exc)
            return "\U0010ffff" if self.sort_column in (NAME, PROVIDER, STATUS) else _LAST

    def _comes_before(self, first: Any, second: Any) -> bool:
        return bool(first > second) if self.descending else bool(first < second)

    def _place_for(self, account: Account, row: int | None) -> int:
        """Where `account` belongs among the other rows (those but `row`), by binary search;
        after its equals, so an unchanged row stays where it is."""
        others = len(self._accounts) - (row is not None)
        if self.sort_column < 0:
            return others if row is None else row
        now = time.time()
        key = self._key(account, now)
        low, high = 0, others
        while low < high:
            middle = (low + high) // 2
            at = middle if row is None or middle < row else middle + 1
            if self._comes_before(key, self._key(self._accounts[at], now)):
                high = middle
            else:
                low = middle + 1
        return low

    def _reposition(self, account_id: str) -> None:
        """Move one row to where its sort key now puts it (a refresh, an expiry, a status)."""
        row = self._rows.get(account_id)
        if row is None or self.sort_column < 0:
            return
        account = self._accounts[row]
        now = time.time()
        key = self._key(account, now)
        last = len(self._accounts) - 1
        if (row == 0 or not self._comes_before(key, self._key(self._accounts[row - 1], now))) and (
            row == last or not self._comes_before(self._key(self._accounts[row + 1], now), key)
        ):
            return  # still in order
        target = self._place_for(account, row)
        destination = target if target < row else target + 1
        if not self.beginMoveRows(QModelIndex(), row, row, QModelIndex(), destination):
            return
        del self._accounts[row]
        self._accounts.insert(target, account)
        self._reindex(min(row, target), max(row, target))
        self.endMoveRows()

    def set_accounts(self, accounts: list[Account]) -> None:
        incoming = [checked(a) for a in accounts]
        if len(incoming) == len(self._accounts) and {a.id: a for a in incoming} == {
            a.id: a for a in self._accounts
        }:
            return  # what the window shows already (the first frame's preview): no reset
        self._shown.clear()
        self._next_lapse = None
        self.beginResetModel()
        self._accounts = self._in_order(incoming)
        self._reindex()
        self.endResetModel()

    def accounts(self) -> list[Account]:
        return list(self._accounts)

    def account_at(self, row: int) -> Account | None:
        return self._accounts[row] if 0 <= row < len(self._accounts) else None

    def cell_looks(self, row: int, column: int) -> tuple[str, QColor | None]:
        """What data(TICK_ROLE) answers for a cell, without the trip through Qt (for the
        countdown delegate): its text and colour, or a dash when it cannot be shown."""
        account = self.account_at(row)
        if account is None:
            return UNSHOWN, None
        try:
            return self._looks(account, column, time.time())
        except Exception as exc:
            report("AccountModel.data", exc)  # where data() would have said so
            return UNSHOWN, None

    def account(self, account_id: str) -> Account | None:
        row = self._rows.get(account_id)
        return None if row is None else self._accounts[row]

    def row_of(self, account_id: str) -> int | None:
        return self._rows.get(account_id)

    def retrying(self) -> set[str]:
        """Ids of the accounts with a retry scheduled."""
        return set(self._retry_at)

    def upsert(self, account: Account) -> None:
        account = checked(account)
        self._next_lapse = None
        row = self._rows.get(account.id)
        if row is None:
            row = self._place_for(account, None)
            self.beginInsertRows(QModelIndex(), row, row)
            self._accounts.insert(row, account)
            self._reindex(row)
            self.endInsertRows()
            return
        before, self._accounts[row] = self._accounts[row], account
        if account.status is not Status.ERROR:
            self._retry_at.pop(account.id, None)
        # A refresh changes the times and the status; name and provider rarely change, and a
        # signal for a cell that did not change still costs the sorted proxy a look.
        same_name = (before.name, before.provider) == (account.name, account.provider)
        self._row_changed(row, first=PROVIDER + 1 if same_name else 0)
        self._reposition(account.id)

    def remove(self, account_id: str) -> None:
        row = self._rows.get(account_id)
        if row is None:
            return
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._accounts[row]
        del self._rows[account_id]
        self._reindex(row)
        self.endRemoveRows()

    def set_busy(self, account_id: str, busy: bool) -> None:
        (self._busy.add if busy else self._busy.discard)(account_id)
        if busy:
            self._retry_at.pop(account_id, None)
        self._cell_changed(account_id, STATUS)
        if self.sort_column == STATUS:
            self._reposition(account_id)

    def set_retry(self, account_id: str, retry_at: float) -> None:
        if retry_at > 0:
            self._retry_at[account_id] = retry_at
        else:
            self._retry_at.pop(account_id, None)
        self._cell_changed(account_id, STATUS)
        if self.sort_column == STATUS:
            self._reposition(account_id)

    def set_pinned(self, pinned: Iterable[str]) -> None:
        changed = self.pinned.symmetric_difference(pinned)
        self.pinned = set(pinned)
        for account_id in changed:
            self._cell_changed(account_id, NAME)

    def _cell_changed(self, account_id: str, column: int) -> None:
        row = self._rows.get(account_id)
        if row is not None:
            index = self.index(row, column)
            self.dataChanged.emit(index, index)

    def _row_changed(self, row: int, first: int = 0) -> None:
        # One signal per cell: a view repaints a changed single cell only if it is on
        # screen, but any range by repainting everything (20 ms with buttons on 15 rows).
        for column in range(first, ACTIONS):
            cell = self.index(row, column)
            self.dataChanged.emit(cell, cell)

    def tick(self, rows: Iterable[int] | None = None) -> None:
        """Time passed: the time-driven cells of `rows` (the window passes the rows on
        screen) whose text or colour changed since the last tick get a signal each, so a view
        repaints those cells and nothing else (a range of cells makes it repaint
        everything). None: every row, one signal per column."""
        roles = [Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ForegroundRole]
        if rows is None:
            if self._accounts:
                last = len(self._accounts) - 1
                for column in TICKING:
                    self.dataChanged.emit(self.index(0, column), self.index(last, column), roles)
            return
        now = time.time()
        rows = list(rows)
        moved = self._expired_since_last_tick(now, set(rows))
        shown_before = self._shown
        for row in rows:
            if not 0 <= row < len(self._accounts):
                continue
            account = self._accounts[row]
            for column in TICKING:
                try:
                    text, colour = self._looks(account, column, now)
                except Exception as exc:
                    report("AccountModel.tick", exc)
                    text, colour = UNSHOWN, None
                looks = (text, None if colour is None else colour.rgb())
                key = (account.id, column)
                if shown_before.get(key) != looks:
                    shown_before[key] = looks
                    cell = self.index(row, column)
                    if column == STATUS:
                        self.dataChanged.emit(cell, cell)  # its icon may change as well
                        moved.append(account.id)
                    else:
                        self.dataChanged.emit(cell, cell, roles)
        if self.sort_column == STATUS:
            for account_id in moved:  # after the loop: a move renumbers rows
                self._reposition(account_id)

    def _expired_since_last_tick(self, now: float, on_screen: set[int]) -> list[str]:
        """Rows off screen whose token lapsed since the last tick: their status changes, so
        a table sorted or filtered by status moves them now, not when they scroll into view.
        Returns their ids."""
        last, self._last_tick = self._last_tick, now
        if last is None:
            return []
        if self._next_lapse is not None and now < self._next_lapse:
            return []  # nothing lapses before then: no look at 2,000 rows every second
        lapsed = []
        upcoming = float("inf")
        for row, account in enumerate(self._accounts):
            expires = account.access_expires_at
            if expires is None:
                continue
            if expires > now:
                upcoming = min(upcoming, expires)
            elif expires > last and row not in on_screen:
                self._shown.pop((account.id, STATUS), None)
                cell = self.index(row, STATUS)
                self.dataChanged.emit(cell, cell)
                lapsed.append(account.id)
        self._next_lapse = upcoming
        return lapsed

    # -- what a cell says -------------------------------------------------------------------

    def status_key(self, account: Account, now: float) -> str:
        """One of SEVERITY: what the status column shows for `account` at `now`."""
        if account.id in self._busy:
            return "refreshing"
        if account.status is Status.SIGN_IN_NEEDED:
            return "sign_in_needed"
        if account.status is Status.SIGNED_OUT:
            return "signed_out"
        expires = account.access_expires_at
        if expires is not None and expires <= now:
            return "expired"
        if account.status is Status.ERROR:
            return "retrying" if account.id in self._retry_at else "error"
        return "ok"

    def status_text(self, account: Account, now: float) -> str:
        key = self.status_key(account, now)
        words = STATUS_WORDS[key]
        if key == "retrying":
            left = self._retry_at[account.id] - now
            return words.format(span(left)) if left >= 1 else "Retrying…"
        return words

    def status_help(self, account: Account, now: float) -> str:
        """The status in a sentence or two, and the last error when there is one."""
        key = self.status_key(account, now)
        words = STATUS_HELP[key]
        if key == "retrying":
            words = words.format(span(max(self._retry_at[account.id] - now, 0)))
        if key == "expired" and account.provider == "static":
            words += " A fixed key cannot be refreshed: choose Account ▸ Edit… to paste a new one."
        elif key == "expired" and account.status is Status.ERROR:
            words += " Its last refresh failed; Token Vault keeps trying."
        if account.last_error and key in ("sign_in_needed", "expired", "error", "retrying"):
            words += f"\n\nWhat happened: {account.last_error}"
        return words

    def _text(self, account: Account, column: int, now: float) -> str:
        if column == NAME:
            return shown(account.name)
        if column == PROVIDER:
            return shown(account.provider)
        if column == STATUS:
            return self.status_text(account, now)
        if column == ACCESS:
            if account.status is Status.SIGNED_OUT:
                return UNSHOWN
            if account.access_expires_at is None:
                return "expiry unknown"
            left = account.access_expires_at - now
            return f"expired {span(left)} ago" if left <= 0 else span(left)
        if column == REFRESH:
            return self._refresh_text(account, now)
        if column == LAST:
            # A fixed key is stored, never refreshed: "just now" would claim a refresh.
            return UNSHOWN if account.provider == "static" else _ago(account.last_refresh_at, now)
        return ""

    def _refresh_text(self, account: Account, now: float) -> str:
        if account.status is Status.SIGN_IN_NEEDED and account.refresh_expires_at is not None:
            # The server refused it: its nominal lifetime means nothing any more.
            return "not accepted"
        expires = account.refresh_expires_at
        if expires is None:
            return UNSHOWN
        left = expires - now
        if left <= 0:
            return "expired"
        if left <= 14 * 86400:
            days = max(1, round(left / 86400))
            return f"expires in {days} day{'s' if days != 1 else ''}"
        return f"in {span(left)}"

    def _refresh_help(self, account: Account, now: float) -> str | None:
        if account.status is Status.SIGN_IN_NEEDED and account.refresh_expires_at is not None:
            return (
                "The server refused this refresh token; its expiry no longer applies. "
                "Choose Account ▸ Sign in… to get a new one."
            )
        return account.refresh_warning(now)

    def _looks(self, account: Account, column: int, now: float) -> tuple[str, QColor | None]:
        """What a time-driven cell shows: its text and, when not the default, its colour."""
        if column == STATUS:
            return self.status_text(account, now), None
        brush = self._countdown_brush(account, now) if column == ACCESS else None
        return self._text(account, column, now), None if brush is None else brush.color()

    def _sort_key(self, account: Account, column: int, now: float) -> Any:
        name = account.name.casefold()
        if column == STATUS:
            return f"{SEVERITY.index(self.status_key(account, now))}:{name}"
        if column == PROVIDER:
            return f"{account.provider.casefold()}:{name}"
        if column == ACCESS:
            if account.status is Status.SIGNED_OUT or account.access_expires_at is None:
                return float("inf")
            return account.access_expires_at
        if column == REFRESH:
            if account.status is Status.SIGN_IN_NEEDED and account.refresh_expires_at:
                return float("-inf")  # refused: the first to see
            return account.refresh_expires_at or float("inf")
        if column == LAST:
            return account.last_refresh_at or 0.0
        return name

    def _countdown_brush(self, account: Account, now: float) -> QBrush | None:
        expires = account.access_expires_at
        if expires is None or account.status is Status.SIGNED_OUT:
            return None
        colours = theme.current()
        if expires <= now:
            return QBrush(colours.bad)
        due = refresh_at(account, self.settings, 0.0)
        if due is not None and now >= due:
            return QBrush(colours.due)
        return None

    def _icon(self, key: str) -> QIcon:
        icon = self._icons.get(key)
        if icon is None:
            icon = self._icons[key] = QIcon(str(resource_path(f"icons/status-{key}.svg")))
        return icon

    # -- Qt model API -----------------------------------------------------------------------

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self._accounts)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(COLUMNS)

    @guarded()
    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section]
            if role == Qt.ItemDataRole.ToolTipRole and section == STATUS:
                return "Sorted by severity: what needs you comes first"
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Painting asks every cell for ten roles; most are answered "none" right here.
        if role not in _ROLES or not index.isValid() or not 0 <= index.row() < len(self._accounts):
            return None
        try:
            return self._data(self._accounts[index.row()], index.column(), role)
        except Exception as exc:
            report("AccountModel.data", exc)
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
                return UNSHOWN
            if role == TICK_ROLE:
                return (UNSHOWN, None)
            return None

    def _data(self, account: Account, column: int, role: int) -> Any:
        now = time.time()
        if role == ID_ROLE:
            return account.id
        if role == TICK_ROLE:
            return self._looks(account, column, now)
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._text(account, column, now) if column != ACTIONS else None
        if role == SORT_ROLE:
            return self._sort_key(account, column, now)
        if role == Qt.ItemDataRole.DecorationRole:
            if column == STATUS:
                return self._icon(self.status_key(account, now))
            if column == NAME and account.id in self.pinned:
                pin = self._icons.get("action-pin")
                if pin is None:
                    pin = self._icons["action-pin"] = theme.icon("pin")
                return pin
            return None
        if role == Qt.ItemDataRole.ForegroundRole and column == ACCESS:
            return self._countdown_brush(account, now)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(account, column, now)
        return None

    def _tooltip(self, account: Account, column: int, now: float) -> str | None:
        if column == NAME:
            pinned = "\nPinned to the tray menu" if account.id in self.pinned else ""
            return tooltip(f"{account.name} ({account.provider}){pinned}")
        if column == STATUS:
            return tooltip(self.status_help(account, now))
        if column == REFRESH:
            words = self._refresh_help(account, now)
            return tooltip(words) if words else None
        if column == LAST and account.provider == "static":
            return tooltip("A fixed key is never refreshed: edit the account to replace it.")
        if column == ACCESS and account.access_expires_at is not None:
            from datetime import datetime

            when = datetime.fromtimestamp(account.access_expires_at).strftime("%H:%M:%S")
            return tooltip(f"Expires at {when} (local time)")
        return None


def _ago(timestamp: float | None, now: float) -> str:
    """How long ago, to the minute ("just now", "5m ago", "2h 05m ago"): a time that changes
    once a minute, not every second."""
    if timestamp is None:
        return "never"
    seconds = max(now - timestamp, 0)
    if seconds < 60:
        return "just now"
    return f"{span(seconds - seconds % 60).removesuffix(' 00s')} ago"


class AccountFilter(QSortFilterProxyModel):
    """The filter box, which matches a name, provider or status word, case-insensitively
    (never the countdowns' text). Sorting is the source model's (AccountModel.sort): the
    view's requests are passed on, and this proxy keeps the source's order."""

    def __init__(self, source: AccountModel) -> None:
        super().__init__()
        self.setSourceModel(source)
        self.accounts = source
        self.setSortRole(SORT_ROLE)
        self.needle = ""
        # A filtered row comes or goes when its status words change; without a filter there
        # is nothing to look at again on every changed cell.
        self.setDynamicSortFilter(False)

    @guarded()
    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        self.accounts.sort(column, order)

    def set_needle(self, text: str) -> None:
        needle = text.strip().casefold()
        self.setDynamicSortFilter(bool(needle))
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.10
            self.beginFilterChange()
            self.needle = needle
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.needle = needle
            self.invalidateRowsFilter()

    @guarded(fallback=True)
    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        if not self.needle:
            return True
        model = self.accounts
        index = model.index(source_row, NAME, source_parent)
        account = model.account(str(model.data(index, ID_ROLE)))
        if account is None:
            return True
        now = time.time()
        haystack = (account.name, account.provider, model.status_text(account, now))
        return any(self.needle in text.casefold() for text in haystack)
