"""The window's side of the local proxies (service/proxy.py): "Serve through a local proxy…"
for the selected account (upstream URL and loopback address in; address and key out, with copy
buttons), and "Local proxies" listing the running ones with Stop.

Everything here only starts, shows and stops what VaultService runs; starting and stopping are
tasks on the event loop, never waits on the GUI thread. The key is shown masked until
revealed and copied through the window's clipboard (marked secret, wiped after its timeout)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from vault_app.core.model import Account
from vault_app.gui.adapter import VaultAdapter
from vault_app.service.proxy import KEY_HEADER, LocalProxy
from vault_app.service.vault_service import VaultService

log = logging.getLogger(__name__)

# Fields of the providers that name an API's base URL: a good first guess for the upstream.
UPSTREAM_FIELDS = ("base_url", "api_url", "upstream")
MASK = "•" * 12


def curl_example(proxy: LocalProxy) -> str:
    return f'curl -H "{KEY_HEADER}: {proxy.config.key}" {proxy.address}/'


class _CopyRow(QWidget):
    """A read-only value with a Copy button (and a Show toggle when it is a secret)."""

    def __init__(self, copy: Callable[[str], None], *, secret: bool = False) -> None:
        super().__init__()
        self._copy = copy
        self.value = ""
        self.field = QLineEdit()
        self.field.setReadOnly(True)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.field, 1)
        self.reveal: QPushButton | None = None
        if secret:
            self.field.setEchoMode(QLineEdit.EchoMode.Password)
            self.reveal = QPushButton("Show")
            self.reveal.setCheckable(True)
            self.reveal.toggled.connect(self._toggle)
            row.addWidget(self.reveal)
        self.copy_button = QPushButton("Copy")
        self.copy_button.clicked.connect(lambda: self._copy(self.value))
        row.addWidget(self.copy_button)

    def set_value(self, value: str) -> None:
        self.value = value
        self.field.setText(value)

    def _toggle(self, shown: bool) -> None:
        self.field.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)
        if self.reveal is not None:
            self.reveal.setText("Hide" if shown else "Show")


class ProxyDialog(QDialog):
    """Serve one account through a local proxy."""

    def __init__(
        self,
        service: VaultService,
        adapter: VaultAdapter,
        account: Account,
        copy: Callable[[str], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.adapter = adapter
        self.account = account
        self.proxy: LocalProxy | None = None
        self.setWindowTitle(f"{account.name} — local proxy")
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        intro = QLabel(
            "Requests to the local address go to the upstream with this account's token "
            f"added. Each must carry the header {KEY_HEADER} with the key below; requests "
            "from web pages are refused."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.upstream = QLineEdit(_guess_upstream(account))
        self.upstream.setPlaceholderText("https://api.example.com")
        self.listen = QLineEdit()
        self.listen.setPlaceholderText("127.0.0.1 and any free port")
        form.addRow("Upstream URL", self.upstream)
        form.addRow("Listen on", self.listen)
        self.address = _CopyRow(copy)
        self.key = _CopyRow(copy, secret=True)
        self.example = _CopyRow(copy, secret=True)
        form.addRow("Address", self.address)
        form.addRow("Key", self.key)
        form.addRow("curl", self.example)
        layout.addLayout(form)
        for row in (self.address, self.key, self.example):
            row.setEnabled(False)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        layout.addWidget(self.message)
        buttons = QDialogButtonBox()
        self.start_button = buttons.addButton("Start", QDialogButtonBox.ButtonRole.AcceptRole)
        self.stop_button = buttons.addButton("Stop", QDialogButtonBox.ButtonRole.ActionRole)
        self.stop_button.setEnabled(False)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        close.clicked.connect(self.close)
        layout.addWidget(buttons)

    def start(self) -> None:
        self.start_button.setEnabled(False)
        self.message.setText("Starting…")
        self.adapter.spawn(
            self.service.start_proxy(
                self.account, self.upstream.text().strip(), self.listen.text().strip() or None
            ),
            self._started,
            lambda exc: self._failed(exc.message),
        )

    def _started(self, proxy: LocalProxy) -> None:
        self.proxy = proxy
        self.address.set_value(proxy.address)
        self.key.set_value(proxy.config.key)
        self.example.set_value(curl_example(proxy))
        for row in (self.address, self.key, self.example):
            row.setEnabled(True)
        self.upstream.setReadOnly(True)
        self.listen.setReadOnly(True)
        self.stop_button.setEnabled(True)
        self.message.setText(f"Serving {self.account.name} on {proxy.address}.")

    def _failed(self, message: str) -> None:
        self.start_button.setEnabled(True)
        self.message.setText(message)

    def stop(self) -> None:
        proxy, self.proxy = self.proxy, None
        if proxy is None:
            return
        self.stop_button.setEnabled(False)
        self.adapter.spawn(
            self.service.stop_proxy(proxy),
            lambda _r: self._stopped(),
            lambda exc: self._failed(exc.message),
        )

    def _stopped(self) -> None:
        self.message.setText("Stopped.")
        for row in (self.address, self.key, self.example):
            row.setEnabled(False)


class ProxyList(QDialog):
    """The running local proxies, with Stop for each."""

    COLUMNS = ("Account", "Address", "Upstream", "Requests", "")

    def __init__(
        self,
        service: VaultService,
        adapter: VaultAdapter,
        copy: Callable[[str], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.adapter = adapter
        self._copy = copy
        self.setWindowTitle("Local proxies")
        self.resize(760, 280)
        layout = QVBoxLayout(self)
        self.empty = QLabel(
            "No local proxy runs. Start one for an account with "
            "Serve through a local proxy… (account context menu)."
        )
        self.empty.setWordWrap(True)
        layout.addWidget(self.empty)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        layout.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)
        self._listener = self._refill
        service.proxies_changed.append(self._listener)
        # The request counts move on their own: a light look once a second while open.
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._update_counts)
        self._timer.start()
        self._refill()

    def _refill(self) -> None:
        proxies = list(self.service.proxies)
        self.empty.setVisible(not proxies)
        self.table.setVisible(bool(proxies))
        self.table.setRowCount(len(proxies))
        for row, proxy in enumerate(proxies):
            values = (
                proxy.config.account,
                proxy.address,
                proxy.config.upstream,
                str(proxy.requests),
            )
            for column, text in enumerate(values):
                self.table.setItem(row, column, QTableWidgetItem(text))
            cell = QWidget()
            buttons = QHBoxLayout(cell)
            buttons.setContentsMargins(2, 0, 2, 0)
            for label, slot in (
                ("Copy key", lambda _c=False, p=proxy: self._copy(p.config.key)),
                ("Copy curl", lambda _c=False, p=proxy: self._copy(curl_example(p))),
                ("Stop", lambda _c=False, p=proxy: self._stop(p)),
            ):
                button = QPushButton(label)
                button.clicked.connect(slot)
                buttons.addWidget(button)
            self.table.setCellWidget(row, len(self.COLUMNS) - 1, cell)
        self.table.resizeColumnsToContents()

    def _update_counts(self) -> None:
        for row, proxy in enumerate(list(self.service.proxies)[: self.table.rowCount()]):
            item = self.table.item(row, 3)
            if item is not None:
                item.setText(str(proxy.requests))

    def _stop(self, proxy: LocalProxy) -> None:
        self.adapter.spawn(
            self.service.stop_proxy(proxy), None, lambda exc: self._report(exc.message)
        )

    def _report(self, message: str) -> None:
        self.empty.setText(message)
        self.empty.setVisible(True)

    def _detach(self) -> None:
        if self._listener in self.service.proxies_changed:
            self.service.proxies_changed.remove(self._listener)
        self._timer.stop()

    def done(self, result: int) -> None:
        try:
            self._detach()
        except Exception:  # never out of a Qt virtual
            log.exception("closing the proxy list")
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        try:
            self._detach()
        except Exception:  # never out of a Qt virtual
            log.exception("closing the proxy list")
        super().closeEvent(event)


class ProxyControls:
    """The window's two actions: serve the selected account, and list the running proxies.
    `selected` gives the account the serve action applies to; `copy` puts text on the
    window's secret-marked clipboard."""

    def __init__(
        self,
        window: QMainWindow,
        service: VaultService,
        adapter: VaultAdapter,
        selected: Callable[[], Account | None],
        copy: Callable[[str], None],
    ) -> None:
        self.window = window
        self.service = service
        self.adapter = adapter  # its spawn() runs the work: failures reported, quit cancels it
        self.selected = selected
        self.copy = copy
        self._open: list[QDialog] = []
        self.serve_action = QAction("Serve through a local &proxy…", window)
        self.serve_action.setStatusTip("Forward requests to an API with this account's token added")
        self.serve_action.triggered.connect(lambda _c=False: self.serve_selected())
        self.list_action = QAction("&Local proxies…", window)
        self.list_action.setStatusTip("The running local proxies, with their address and key")
        self.list_action.triggered.connect(lambda _c=False: self.open_list())

    def serve_selected(self) -> ProxyDialog | None:
        account = self.selected()
        if account is None:
            return None
        dialog = ProxyDialog(self.service, self.adapter, account, self.copy, self.window)
        self._keep(dialog)
        dialog.open()
        return dialog

    def open_list(self) -> ProxyList:
        dialog = ProxyList(self.service, self.adapter, self.copy, self.window)
        self._keep(dialog)
        dialog.open()
        return dialog

    def _keep(self, dialog: QDialog) -> None:
        self._open.append(dialog)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(lambda _o=None, d=dialog: self._forget(d))

    def _forget(self, dialog: QDialog) -> None:
        if dialog in self._open:
            self._open.remove(dialog)


def _guess_upstream(account: Account) -> str:
    for name in UPSTREAM_FIELDS:
        value = account.fields.get(name, "")
        if value.startswith(("https://", "http://")):
            return value
    return ""
