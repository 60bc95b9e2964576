"""A message inside a dialog: an icon for its kind and wrapped plain text (never rich text:
messages carry server text and names). The icon, not a colour, tells an error from a note,
so it reads the same in light and dark palettes."""

from __future__ import annotations

import enum

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QStyle, QWidget


class Tone(enum.Enum):
    INFO = QStyle.StandardPixmap.SP_MessageBoxInformation
    WARNING = QStyle.StandardPixmap.SP_MessageBoxWarning
    ERROR = QStyle.StandardPixmap.SP_MessageBoxCritical


class MessageBar(QFrame):
    """Hidden while empty; `show_message` fills and shows it, `clear` hides it. `changed`
    tells the dialog to fit its size to the new text."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        self.icon = QLabel()
        self.icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        layout.addWidget(self.icon)
        layout.addWidget(self.label, 1)
        self.tone: Tone | None = None
        self.setVisible(False)

    def text(self) -> str:
        return self.label.text()

    def show_message(self, text: str, tone: Tone = Tone.ERROR) -> None:
        if not text:
            self.clear()
            return
        self.tone = tone
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        self.icon.setPixmap(self.style().standardIcon(tone.value).pixmap(size, size))
        changed = text != self.label.text() or self.isHidden()
        self.label.setText(text)
        self.setAccessibleName(text)
        self.setVisible(True)
        if changed:
            self.changed.emit()

    def clear(self) -> None:
        was_shown = not self.isHidden()
        self.tone = None
        self.label.setText("")
        self.setAccessibleName("")
        self.setVisible(False)
        if was_shown:
            self.changed.emit()
