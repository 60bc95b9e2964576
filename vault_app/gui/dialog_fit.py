"""Dialogs that fit their screen: the long part scrolls, everything else (messages, buttons)
stays on screen, and the dialog takes the size of its contents, growing and shrinking with
them, never beyond the screen's available area."""

from __future__ import annotations

import logging

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QFrame, QScrollArea, QWidget

log = logging.getLogger(__name__)

# Room kept for a window manager's title bar and borders before the dialog is mapped (once
# mapped, the real frame is measured).
FRAME_ALLOWANCE = 40
# The scroll area never shrinks below this many pixels: a few rows stay visible.
MIN_SCROLL_HEIGHT = 96


class FittingScrollArea(QScrollArea):
    """A scroll area whose size hint is its content's full size (Qt's default hint is a fixed
    guess), so the dialog sizes to the content until the screen is full, then scrolls."""

    def __init__(self, content: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidget(content)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)

    # Qt virtuals: an exception here would abort the process, so each falls back to Qt's own.
    def sizeHint(self) -> QSize:
        try:
            content = self.widget()
            if content is None:
                return super().sizeHint()
            hint = content.sizeHint()
            frame = 2 * self.frameWidth()
            bar = self.verticalScrollBar().sizeHint().width()
            return QSize(hint.width() + frame + bar, hint.height() + frame)
        except Exception:
            log.exception("scroll area size hint")
            return super().sizeHint()

    def hasHeightForWidth(self) -> bool:
        try:
            content = self.widget()
            return content is not None and content.hasHeightForWidth()
        except Exception:
            log.exception("scroll area height for width")
            return False

    def heightForWidth(self, width: int) -> int:
        """The content's height at the width it will get: wrapped text is as tall as that
        width makes it, not as its size hint guessed."""
        try:
            content = self.widget()
            if content is None:
                return super().heightForWidth(width)
            frame = 2 * self.frameWidth()
            bar = self.verticalScrollBar().sizeHint().width()
            return content.heightForWidth(max(width - frame - bar, 1)) + frame
        except Exception:
            log.exception("scroll area height for width")
            return super().heightForWidth(width)

    def minimumSizeHint(self) -> QSize:
        try:
            content = self.widget()
            width = content.minimumSizeHint().width() if content is not None else 0
            bar = self.verticalScrollBar().sizeHint().width()
            height = min(MIN_SCROLL_HEIGHT, self.sizeHint().height())
            return QSize(width + 2 * self.frameWidth() + bar, height)
        except Exception:
            log.exception("scroll area minimum size hint")
            return super().minimumSizeHint()


def available(widget: QWidget) -> tuple[int, int, int, int]:
    """The screen area a dialog may use, minus its frame: (left, top, width, height)."""
    screen = widget.screen()
    parent = widget.parentWidget()
    if parent is not None and parent.isVisible():
        screen = parent.screen()
    area = screen.availableGeometry()
    if widget.isVisible() and widget.frameGeometry().height() > widget.height():
        frame_w = widget.frameGeometry().width() - widget.width()
        frame_h = widget.frameGeometry().height() - widget.height()
    else:
        frame_w, frame_h = 0, FRAME_ALLOWANCE
    return area.left(), area.top(), area.width() - frame_w, area.height() - frame_h


def fit_to_screen(dialog: QWidget, preferred_width: int = 0) -> None:
    """Resize `dialog` to its size hint (at least `preferred_width` wide), within the screen,
    and move it back onto the screen if part of it is off."""
    # Rows just shown or hidden post their layout requests; apply them now, inner layouts
    # first, so the hints below are the new form's and not the last one's.
    for area in dialog.findChildren(FittingScrollArea):
        content = area.widget()
        inner = content.layout() if content is not None else None
        if inner is not None:
            inner.invalidate()
            inner.activate()
        area.updateGeometry()
    layout = dialog.layout()
    if layout is not None:
        layout.invalidate()
        layout.activate()
    left, top, width, height = available(dialog)
    hint = dialog.sizeHint()
    minimum = dialog.minimumSizeHint()
    new_width = min(max(hint.width(), preferred_width, minimum.width()), width)
    wanted = hint.height()
    if layout is not None and layout.hasHeightForWidth():
        # Wrapped text is as tall as the width it gets, not as the hint guessed.
        wanted = layout.totalHeightForWidth(new_width)
    new_height = min(max(wanted, minimum.height()), height)
    dialog.resize(new_width, new_height)
    if dialog.isVisible():
        x = min(max(dialog.x(), left), left + width - new_width)
        y = min(max(dialog.y(), top), top + max(height - new_height, 0))
        if (x, y) != (dialog.x(), dialog.y()):
            dialog.move(x, y)
