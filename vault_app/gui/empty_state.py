"""What the window shows before the first account: what Token Vault does, and the ways to
start (add an account, import definitions, try the demo)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from vault_app.gui import theme

INTRO = (
    "Token Vault keeps the access tokens of your API accounts fresh in the background and "
    "copies them with one click. Passwords, keys and tokens stay in the system keyring; "
    "nothing secret is written anywhere else."
)


class EmptyState(QWidget):
    add_requested = Signal()
    import_requested = Signal()
    demo_requested = Signal()

    def __init__(self, offer_demo: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QHBoxLayout(self)
        column = QWidget()  # a readable line length, centred
        column.setMaximumWidth(self.fontMetrics().averageCharWidth() * 70)
        outer.addStretch(1)
        outer.addWidget(column, 4)
        outer.addStretch(1)
        layout = QVBoxLayout(column)
        layout.addStretch(1)
        title = QLabel("No accounts yet")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        title.setFont(font)
        intro = QLabel(INTRO)
        intro.setWordWrap(True)
        for label in (title, intro):
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            layout.addWidget(label)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.add_button = QPushButton(theme.icon("add"), "Add an account…")
        self.add_button.setDefault(True)
        self.add_button.clicked.connect(self.add_requested)
        self.import_button = QPushButton(theme.icon("import"), "Import…")
        self.import_button.clicked.connect(self.import_requested)
        self.demo_button = QPushButton("Try the demo")
        self.demo_button.setToolTip(
            "Opens a second window with sample accounts against a built-in test server; "
            "nothing is saved"
        )
        self.demo_button.clicked.connect(self.demo_requested)
        self.demo_button.setVisible(offer_demo)
        for button in (self.add_button, self.import_button, self.demo_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addSpacing(12)
        layout.addLayout(buttons)
        layout.addStretch(2)

    def update_icons(self) -> None:
        self.add_button.setIcon(theme.icon("add"))
        self.import_button.setIcon(theme.icon("import"))
