"""The buttons in each table row: Show, Copy, Refresh, Revoke as icon buttons with a tooltip and
an accessible name each. They never shrink below their size hint (the actions column has a fixed
width that fits them), so nothing is ever cut to "…". They take no keyboard focus: Tab moves
between the window's parts, and the same actions are in the Account menu, the context menu and
on shortcuts."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QSizePolicy, QToolButton, QWidget

from vault_app.core.model import Account, Status
from vault_app.gui import theme
from vault_app.gui.plain_text import shown

# action, icon, tooltip template ({name} is the account's)
BUTTONS = (
    ("show", "show", "Show the token of {name}"),
    ("copy", "copy", "Copy the token of {name}"),
    ("refresh", "refresh", "Refresh {name} now"),
    ("revoke", "revoke", "Revoke {name}…"),
)
ICON_SIZE = 16
MARGIN = 3  # px around the buttons inside the cell
SPACING = 2


class RowActions(QWidget):
    """Show / Copy / Refresh / Revoke for one account."""

    triggered = Signal(str, str)  # action, account id

    def __init__(self, account: Account, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.account_id = account.id
        layout = QHBoxLayout(self)
        layout.setContentsMargins(MARGIN, 1, MARGIN, 1)
        layout.setSpacing(SPACING)
        self.buttons: dict[str, QToolButton] = {}
        for action, icon_name, _tip in BUTTONS:
            button = QToolButton()
            button.setIcon(theme.icon(icon_name))
            button.setIconSize(QSize(ICON_SIZE, ICON_SIZE))
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
            button.setAutoRaise(False)  # drawn as a button, not as flat text
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            button.clicked.connect(
                lambda _=False, a=action: self.triggered.emit(a, self.account_id)
            )
            layout.addWidget(button)
            self.buttons[action] = button
        layout.addStretch(1)
        self.update_for(account)

    def update_for(self, account: Account) -> None:
        """Names, tooltips and what is enabled, for the account as it is now."""
        name = shown(account.name, 60)
        for action, _icon, tip in BUTTONS:
            button = self.buttons[action]
            words = tip.format(name=name)
            button.setToolTip(words)
            button.setAccessibleName(words.rstrip("…"))
        refresh = self.buttons["refresh"]
        if account.provider == "static":
            refresh.setEnabled(False)
            refresh.setToolTip(f"{name} is a fixed key: there is nothing to refresh")
        else:
            refresh.setEnabled(True)
        self.buttons["revoke"].setEnabled(account.status is not Status.SIGNED_OUT)

    def update_icons(self) -> None:
        for action, icon_name, _tip in BUTTONS:
            self.buttons[action].setIcon(theme.icon(icon_name))


def actions_width() -> int:
    """The width the actions column needs for its buttons (from a sample row's size hint)."""
    sample = RowActions(Account(id="", name="", provider=""))
    width = sample.sizeHint().width()
    sample.deleteLater()
    return width
