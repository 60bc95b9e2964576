"""The window's status bar: a message on the left (elided, the full text in its tooltip), then the
next refresh, the clipboard countdown and where secrets are kept, in plain words. The time
labels have a fixed width, so the bar does not jump as the seconds change."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtWidgets import QLabel, QSizePolicy, QStatusBar, QWidget

from vault_app.core.timefmt import span
from vault_app.gui.guard import guarded
from vault_app.gui.plain_text import paragraphs, shown, tooltip

# keyring backend names (secret_store._backend_name) in words a user knows
KEYRING_WORDS = {
    "SecretService.Keyring": "the system keyring (Secret Service)",
    "libsecret.Keyring": "the system keyring (libsecret)",
    "kwallet.DBusKeyring": "KDE Wallet",
    "Windows.WinVaultKeyring": "Windows Credential Manager",
    "macOS.Keyring": "the macOS Keychain",
    "chainer.ChainerBackend": "the system keyring",
}


def keyring_words(name: str) -> str:
    """Where secrets are kept, for the status bar ("Secrets in KDE Wallet")."""
    if name.startswith("memory"):
        return "Secrets in memory only (demo: nothing is saved)"
    known = KEYRING_WORDS.get(name)
    if known is None:
        known = f"the keyring {name.rsplit('.', 1)[0]!r}" if name else "the system keyring"
    return f"Secrets in {shown(known, 80)}"


class ElidedLabel(QLabel):
    """One line that fits the space it has, cut with "…"; the whole text is in its tooltip.
    It asks for its whole text's width and makes do with `minimum` px."""

    def __init__(self, minimum: int = 40, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.minimum = minimum
        self.full = ""
        self.tip: str | None = None  # a tooltip of its own (else: the text, when cut)

    def set_full_text(self, text: str, tip: str | None = None) -> None:
        self.full = paragraphs(text)
        self.tip = tip
        self.updateGeometry()
        self._elide()

    def _line(self) -> str:
        return " ".join(self.full.split("\n"))

    def _cut(self) -> bool:
        return self.fontMetrics().horizontalAdvance(self._line()) > self.width()

    @guarded(fallback=lambda self: QSize(0, 0))
    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(self.fontMetrics().horizontalAdvance(self._line()) + 4, hint.height())

    @guarded(fallback=lambda self: QSize(0, 0))
    def minimumSizeHint(self) -> QSize:
        return QSize(self.minimum, super().minimumSizeHint().height())

    @guarded()
    def resizeEvent(self, event: object) -> None:
        self._elide()

    def _elide(self) -> None:
        line = self._line()
        self.setText(
            self.fontMetrics().elidedText(line, Qt.TextElideMode.ElideRight, max(self.width(), 0))
        )
        if self.tip is not None:
            self.setToolTip(tooltip(self.tip))
        else:
            self.setToolTip(tooltip(self.full) if self.full and self._cut() else "")


class StatusBar:
    """Fills a QMainWindow's QStatusBar; the window calls the setters."""

    def __init__(self, bar: QStatusBar) -> None:
        self.bar = bar
        self.message = ElidedLabel(minimum=80)
        self.message.setAccessibleName("Status message")
        # What just happened comes first: on a narrow bar the message gets three parts of
        # the room and where secrets are kept (always the same, whole in its tooltip) one;
        # with room to spare the latter takes only what its words need.
        bar.addWidget(self.message, 3)
        self.next_label = self._fixed("Next refresh in 59m 59s")
        self.clipboard_label = self._fixed("Clipboard clears in 59m 59s")
        self.keyring_label = ElidedLabel(minimum=60)
        self.keyring_label.setAccessibleName("Where secrets are kept")
        self._set_keyring_text("Opening the keyring…")
        for label in (self.next_label, self.clipboard_label):
            bar.addPermanentWidget(label)
        bar.addPermanentWidget(self.keyring_label, 1)
        self._clear = QTimer(bar)
        self._clear.setSingleShot(True)
        self._clear.timeout.connect(lambda: self.show_message("", 0))
        # No message yet takes no room either: where secrets are kept was cut short beside
        # 650 px of empty message on the first-run page.
        self.show_message("", 0)

    def _fixed(self, widest: str) -> QLabel:
        """A label as wide as its widest text (so it does not jump as seconds change),
        hidden while it has nothing to say."""
        label = QLabel("")
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setMinimumWidth(label.fontMetrics().horizontalAdvance(widest) + 8)
        label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        label.setVisible(False)
        return label

    @staticmethod
    def _say(label: QLabel, text: str) -> None:
        if label.text() != text:
            label.setText(text)
        label.setVisible(bool(text))

    def show_message(self, text: str, seconds: float = 10) -> None:
        self.message.set_full_text(text)
        # No wider than its words: room it does not need goes to the labels on the right.
        self.message.setMaximumWidth(max(self.message.sizeHint().width(), self.message.minimum))
        if seconds > 0:
            self._clear.start(int(seconds * 1000))
        else:
            self._clear.stop()

    def message_text(self) -> str:
        return self.message.full

    def set_next_refresh(self, seconds: float | None, paused: bool) -> None:
        if paused:
            text = "Refreshing paused"
        elif seconds is None:
            text = ""
        else:
            text = f"Next refresh in {span(max(seconds, 0))}"
        self._say(self.next_label, text)

    def set_clipboard(self, seconds: int) -> None:
        self._say(self.clipboard_label, f"Clipboard clears in {span(seconds)}" if seconds else "")

    def set_keyring(self, backend_name: str | None, problem: str | None = None) -> None:
        if problem is not None:
            self._set_keyring_text("No usable keyring", tip=problem)
        else:
            self._set_keyring_text(keyring_words(backend_name or ""))

    def _set_keyring_text(self, text: str, tip: str | None = None) -> None:
        self.keyring_label.set_full_text(text, tip)
        self.keyring_label.setMaximumWidth(self.keyring_label.sizeHint().width())
