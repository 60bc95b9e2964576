"""Settings, saved in the vault's metadata file: refresh-ahead, clipboard wipe, default copy
format, start minimized, autostart at login, notifications."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QSpinBox,
    QWidget,
)

COPY_FORMATS = ("raw", "bearer", "header")


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
        form = QFormLayout(self)
        self.ahead_percent = QSpinBox(minimum=5, maximum=75, suffix=" % of the lifetime")
        self.ahead_percent.setValue(round(float(settings["refresh_ahead_fraction"]) * 100))
        self.ahead_min = QSpinBox(minimum=10, maximum=3600, suffix=" s at least")
        self.ahead_min.setValue(int(settings["refresh_ahead_min_seconds"]))
        self.jitter = QDoubleSpinBox(minimum=0, maximum=25, decimals=0, suffix=" % jitter")
        self.jitter.setValue(float(settings["refresh_jitter_fraction"]) * 100)
        self.clipboard = QSpinBox(minimum=0, maximum=3600, suffix=" s (0: never)")
        self.clipboard.setValue(int(settings["clipboard_seconds"]))
        self.copy_format = QComboBox()
        self.copy_format.addItems(list(COPY_FORMATS))
        self.copy_format.setCurrentText(str(settings["copy_format"]))
        self.start_minimized = QCheckBox("Start in the tray")
        self.start_minimized.setChecked(bool(settings["start_minimized"]))
        self.autostart = QCheckBox("Start at login, in the tray")
        self.autostart.setChecked(bool(autostart))
        if autostart is None:
            self.autostart.setEnabled(False)
            self.autostart.setToolTip("Not in the demo: it changes nothing on this computer")
        self.notifications = QCheckBox("Notify on sign-in needed and repeated failures")
        self.notifications.setChecked(bool(settings["notifications"]))
        form.addRow("Refresh when less than", self.ahead_percent)
        form.addRow("", self.ahead_min)
        form.addRow("Spread refreshes by", self.jitter)
        form.addRow("Wipe the clipboard after", self.clipboard)
        form.addRow("Copy as", self.copy_format)
        form.addRow(self.start_minimized)
        form.addRow(self.autostart)
        form.addRow(self.notifications)
        for widget, name in (
            (self.ahead_percent, "Refresh-ahead share"),
            (self.ahead_min, "Refresh-ahead minimum"),
            (self.jitter, "Jitter"),
            (self.clipboard, "Clipboard wipe seconds"),
            (self.copy_format, "Copy format"),
        ):
            widget.setAccessibleName(name)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> dict[str, Any]:
        return {
            "refresh_ahead_fraction": self.ahead_percent.value() / 100,
            "refresh_ahead_min_seconds": self.ahead_min.value(),
            "refresh_jitter_fraction": self.jitter.value() / 100,
            "clipboard_seconds": self.clipboard.value(),
            "copy_format": self.copy_format.currentText(),
            "start_minimized": self.start_minimized.isChecked(),
            **({"autostart": self.autostart.isChecked()} if self.autostart.isEnabled() else {}),
            "notifications": self.notifications.isChecked(),
        }
