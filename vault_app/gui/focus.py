"""Focus that survives a QDialogButtonBox re-laying out its buttons: showing or hiding one
of them briefly takes the others out, and the focused one loses its focus to the next
widget in the chain (seen: Show's Close button handing focus to the token field)."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget


def set_visible_keeping_focus(widget: QWidget, visible: bool) -> None:
    """`widget.setVisible(visible)`, with the window's focus where it was (unless the focus
    was on `widget` itself and it is hidden)."""
    window = widget.window()
    focused = window.focusWidget()
    widget.setVisible(visible)
    if (
        focused is not None
        and focused is not window.focusWidget()
        and focused.isVisible()
        and focused.isEnabled()
    ):
        focused.setFocus()
