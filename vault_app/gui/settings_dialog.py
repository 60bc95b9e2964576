"""Settings, saved in the vault's metadata file: when tokens are refreshed, the clipboard, what
a copy holds, the colour scheme, starting in the tray or at login, notifications. Worded for
the person using the window (the setting names are the file's business)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

# value stored -> what the user reads
COPY_FORMATS = {
    "raw": "The token alone",
    "bearer": "“Bearer” and the token",
    "header": "The whole header line (Authorization: Bearer …)",
}
COLOUR_SCHEMES = {"system": "As the system", "light": "Light", "dark": "Dark"}


def _number(settings: dict[str, Any], key: str, default: float) -> float:
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    return float(value)


class SettingsDialog(QDialog):
    def __init__(
        self,
        settings: dict[str, Any],
        autostart: bool | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """`autostart`: whether the system starts us at login now; None when not offered."""
        super().__init__(parent)
        self.setWindowTitle("Settings")
        outer = QVBoxLayout(self)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        outer.addLayout(form)

        self.ahead_percent = QSpinBox(minimum=5, maximum=75, suffix=" % of its lifetime is left")
        self.ahead_percent.setValue(round(_number(settings, "refresh_ahead_fraction", 0.25) * 100))
        self.ahead_min = QSpinBox(minimum=10, maximum=3600, suffix="s before it expires")
        self.ahead_min.setValue(int(_number(settings, "refresh_ahead_min_seconds", 60)))
        self.jitter = QSpinBox(minimum=0, maximum=25, suffix=" % of its lifetime")
        self.jitter.setValue(round(_number(settings, "refresh_jitter_fraction", 0.10) * 100))
        self.jitter.setToolTip(
            "Accounts whose tokens expire together are refreshed at slightly different "
            "times, so a server is not asked for all of them at once."
        )
        self.clipboard = QSpinBox(minimum=0, maximum=3600, suffix="s")
        self.clipboard.setSpecialValueText("Never")
        self.clipboard.setValue(int(_number(settings, "clipboard_seconds", 30)))
        self.copy_format = QComboBox()
        for value, words in COPY_FORMATS.items():
            self.copy_format.addItem(words, value)
        self._select(self.copy_format, settings.get("copy_format"), "raw")
        self.colour_scheme = QComboBox()
        for value, words in COLOUR_SCHEMES.items():
            self.colour_scheme.addItem(words, value)
        self._select(self.colour_scheme, settings.get("colour_scheme"), "system")
        self.start_minimized = QCheckBox("Start in the tray, without opening the window")
        self.start_minimized.setChecked(settings.get("start_minimized") is True)
        self.autostart = QCheckBox("Start Token Vault when I log in (in the tray)")
        self.autostart.setChecked(bool(autostart))
        if autostart is None:
            self.autostart.setEnabled(False)
            self.autostart.setToolTip("Not in the demo: it changes nothing on this computer")
        self.notifications = QCheckBox(
            "Notify me when an account needs a sign-in or keeps failing to refresh"
        )
        self.notifications.setChecked(settings.get("notifications") is not False)

        form.addRow("Refresh a token when less than", self.ahead_percent)
        form.addRow("and at least", self.ahead_min)
        form.addRow("Spread refreshes by up to", self.jitter)
        form.addRow("Clear the clipboard after", self.clipboard)
        form.addRow("Copy puts on the clipboard", self.copy_format)
        form.addRow("Colours", self.colour_scheme)
        form.addRow(self.start_minimized)
        form.addRow(self.autostart)
        form.addRow(self.notifications)
        for widget, name in (
            (self.ahead_percent, "Refresh when less than this share of the lifetime is left"),
            (self.ahead_min, "Refresh at least this many seconds before expiry"),
            (self.jitter, "Spread refreshes by up to this share of the lifetime"),
            (self.clipboard, "Clear the clipboard after this many seconds"),
            (self.copy_format, "What Copy puts on the clipboard"),
            (self.colour_scheme, "Colours"),
        ):
            widget.setAccessibleName(name)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        outer.addWidget(buttons)
        for label in self.findChildren(QLabel):
            label.setTextFormat(Qt.TextFormat.PlainText)

    @staticmethod
    def _select(combo: QComboBox, value: object, default: str) -> None:
        index = combo.findData(value if isinstance(value, str) else default)
        combo.setCurrentIndex(index if index >= 0 else combo.findData(default))

    def values(self) -> dict[str, Any]:
        return {
            "refresh_ahead_fraction": self.ahead_percent.value() / 100,
            "refresh_ahead_min_seconds": self.ahead_min.value(),
            "refresh_jitter_fraction": self.jitter.value() / 100,
            "clipboard_seconds": self.clipboard.value(),
            "copy_format": str(self.copy_format.currentData()),
            "colour_scheme": str(self.colour_scheme.currentData()),
            "start_minimized": self.start_minimized.isChecked(),
            **({"autostart": self.autostart.isChecked()} if self.autostart.isEnabled() else {}),
            "notifications": self.notifications.isChecked(),
        }
