"""One field of the Add / Edit form, built from the provider's field schema: a text line, a
choice, a masked secret with a reveal toggle, a file path, or a PEM block (masked too: a
summary until "Show", filled by Paste or Load file)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from vault_app.core import files
from vault_app.core.providers.base import Field, FieldKind

# Largest PEM file read by "Load file…": keys and certificates are a few KiB.
PEM_FILE_LIMIT = 256 * 1024

PLACEHOLDERS = {
    FieldKind.URL: "https://…",
    FieldKind.DATE: "e.g. 2026-01-31 or 2026-01-31T18:00Z",
    FieldKind.LIST: "comma-separated, e.g. D12345, G67890",
    FieldKind.INTEGER: "seconds",
    FieldKind.PATH: "a file on this computer",
}


class FieldEditor(QWidget):
    """The input for one field. `changed` fires on every edit, `left` when the person moves
    on from it (focus out or Return): the form checks a field's format from then on."""

    changed = Signal()
    left = Signal()
    problem = Signal(str)  # a file that could not be loaded, said in words

    def __init__(
        self,
        spec: Field,
        *,
        stored: bool = False,
        none_choice: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """`stored`: an Edit form whose secret is kept unless replaced. `none_choice`: the
        text of an explicit "no value" choice for a field whose empty value means something
        (the static key's scheme: a bare key), shown as a check box."""
        super().__init__(parent)
        self.spec = spec
        self.stored = stored
        self.combo: QComboBox | None = None
        self.text: QPlainTextEdit | None = None
        self.line: QLineEdit | None = None
        self.none_box: QCheckBox | None = None
        self.reveal: QToolButton | None = None
        self.summary: QLabel | None = None
        self.buttons: list[QWidget] = []  # focusable helpers, in the order Tab visits them
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        description = spec.help or spec.label
        if spec.kind is FieldKind.CHOICE:
            self.combo = QComboBox()
            self.combo.addItems(list(spec.choices))
            if spec.default in spec.choices:
                self.combo.setCurrentText(spec.default)
            self.combo.currentTextChanged.connect(self.changed)
            self.combo.activated.connect(lambda _i: self.left.emit())
            self.combo.setAccessibleName(spec.label)
            self.combo.setAccessibleDescription(description)
            layout.addWidget(self.combo, 1)
        elif spec.kind is FieldKind.PEM:
            self._build_pem(layout)
        else:
            self._build_line(layout, none_choice)
        tip = spec.help
        if spec.kind is FieldKind.DATE:
            tip += " A date-time without a zone is read as UTC."
        self.setToolTip(tip.strip())

    # -- construction ---------------------------------------------------------------------

    def _build_line(self, layout: QHBoxLayout, none_choice: str | None) -> None:
        spec = self.spec
        self.line = QLineEdit()
        self.line.setAccessibleName(spec.label)
        self.line.setAccessibleDescription(spec.help or spec.label)
        if self.stored and spec.secret:
            self.line.setPlaceholderText("stored; type a new one to replace it")
        elif spec.default:
            self.line.setPlaceholderText(f"{spec.default} (default)")
        else:
            self.line.setPlaceholderText(PLACEHOLDERS.get(spec.kind, ""))
        self.line.textChanged.connect(self.changed)
        self.line.editingFinished.connect(self.left)
        layout.addWidget(self.line, 1)
        if spec.secret:
            self.line.setEchoMode(QLineEdit.EchoMode.Password)
            self.reveal = QToolButton()
            self.reveal.setText("Show")
            self.reveal.setCheckable(True)
            self.reveal.setAccessibleName(f"Show {spec.label}")
            self.reveal.setToolTip(f"Show or hide {spec.label}")
            self.reveal.toggled.connect(self._reveal)
            layout.addWidget(self.reveal)
            self.buttons.append(self.reveal)
        if spec.kind is FieldKind.PATH:
            pick = QPushButton("Choose…")
            pick.setAccessibleName(f"Choose {spec.label}")
            pick.clicked.connect(self._pick_file)
            layout.addWidget(pick)
            self.buttons.append(pick)
        if none_choice is not None:
            self.none_box = QCheckBox(none_choice)
            self.none_box.setAccessibleName(f"{spec.label}: {none_choice}")
            self.none_box.toggled.connect(self._none_toggled)
            layout.addWidget(self.none_box)
            self.buttons.append(self.none_box)

    def _build_pem(self, layout: QHBoxLayout) -> None:
        spec = self.spec
        column = QVBoxLayout()
        column.setContentsMargins(0, 0, 0, 0)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.text = QPlainTextEdit()
        self.text.setTabChangesFocus(True)  # Tab moves on; a PEM never holds a tab
        self.text.setPlaceholderText("-----BEGIN …-----")
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setFixedHeight(self.text.fontMetrics().lineSpacing() * 4 + 12)
        self.text.setAccessibleName(spec.label)
        self.text.setAccessibleDescription(spec.help or spec.label)
        self.text.textChanged.connect(self._pem_changed)
        self.text.setVisible(False)
        column.addWidget(self.summary)
        column.addWidget(self.text)
        layout.addLayout(column, 1)
        paste = QPushButton("Paste")
        paste.setAccessibleName(f"Paste {spec.label} from the clipboard")
        paste.clicked.connect(self._paste)
        load = QPushButton("Load file…")
        load.setAccessibleName(f"Load {spec.label} from a file")
        load.clicked.connect(self._load_pem)
        self.reveal = QToolButton()
        self.reveal.setText("Show")
        self.reveal.setCheckable(True)
        self.reveal.setAccessibleName(f"Show {spec.label}")
        self.reveal.setToolTip(f"Show or hide {spec.label}, to read or type it")
        self.reveal.toggled.connect(self._reveal)
        buttons = QVBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(paste)
        row.addWidget(load)
        row.addWidget(self.reveal)
        buttons.addLayout(row)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.buttons += [paste, load, self.reveal]
        self._pem_changed()

    # -- value ----------------------------------------------------------------------------

    def value(self) -> str:
        if self.combo is not None:
            return self.combo.currentText()
        if self.text is not None:
            return self.text.toPlainText()
        assert self.line is not None
        if self.none_box is not None and self.none_box.isChecked():
            return ""
        return self.line.text()

    def set_value(self, value: str) -> None:
        if self.combo is not None:
            if value and self.combo.findText(value) < 0:
                # A stored value this version does not offer (an edited or newer file): shown
                # as it is, so the form says it must change, rather than silently replaced by
                # the first choice on the next save.
                self.combo.addItem(value)
            self.combo.setCurrentText(value)
        elif self.text is not None:
            self.text.setPlainText(value)
        elif self.line is not None:
            if self.none_box is not None:
                self.none_box.setChecked(value == "")
            self.line.setText(value)

    def explicit_none(self) -> bool:
        """The person chose "no value" (an empty value that must be stored as such)."""
        return self.none_box is not None and self.none_box.isChecked()

    def focus_target(self) -> QWidget:
        """Where focus goes to fill this field in."""
        if self.combo is not None:
            return self.combo
        if self.text is not None:
            if not self.text.isHidden() or self.reveal is None:
                return self.text
            return self.buttons[0]  # Paste
        assert self.line is not None
        return self.line

    def focus_chain(self) -> list[QWidget]:
        """The focusable widgets of this field in the order they appear."""
        main: list[QWidget] = []
        if self.combo is not None:
            main = [self.combo]
        elif self.text is not None:
            main = [self.text]
        elif self.line is not None:
            main = [self.line]
        return main + self.buttons

    def revealed(self) -> bool:
        return self.reveal is not None and self.reveal.isChecked()

    # -- behaviour ------------------------------------------------------------------------

    def _reveal(self, shown: bool) -> None:
        if self.reveal is not None:
            self.reveal.setText("Hide" if shown else "Show")
        if self.line is not None:
            mode = QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
            self.line.setEchoMode(mode)
        if self.text is not None:
            self.text.setVisible(shown)
            self._pem_changed()
            if shown:
                self.text.setFocus()
        self.changed.emit()

    def _none_toggled(self, checked: bool) -> None:
        assert self.line is not None
        self.line.setEnabled(not checked)
        self.changed.emit()
        self.left.emit()

    def _pem_changed(self) -> None:
        assert self.text is not None and self.summary is not None
        text = self.text.toPlainText().strip()
        if not self.text.isHidden():
            self.summary.setVisible(False)
        else:
            self.summary.setVisible(True)
            if text:
                first = text.splitlines()[0][:60]
                lines = len(text.splitlines())
                self.summary.setText(f"Set, hidden ({lines} lines, {first.strip('- ')})")
            elif self.stored:
                self.summary.setText("Stored, hidden.")
            else:
                self.summary.setText("Not set.")
        self.changed.emit()

    def _paste(self) -> None:
        assert self.text is not None
        self.text.setPlainText(QGuiApplication.clipboard().text())
        self.left.emit()

    def _load_pem(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            f"Load {self.spec.label}",
            "",
            "PEM files (*.pem *.crt *.cer *.key);;All files (*)",
        )
        if path:
            self.load_file(Path(path))

    def load_file(self, path: Path) -> None:
        """Fill the field from a PEM file; a file that cannot be used is reported in words."""
        assert self.text is not None
        try:
            # A regular file only: a named pipe or a device chosen by mistake would block
            # this (the GUI) thread or fill memory.
            content = files.read_capped(path, PEM_FILE_LIMIT).decode("ascii")
        except files.FileTooLarge:
            self.problem.emit(
                f"{self.spec.label}: cannot use {path.name}: too large for a key or certificate."
            )
            return
        except (OSError, UnicodeDecodeError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            if isinstance(exc, UnicodeDecodeError):
                why = "not a text (PEM) file"
            self.problem.emit(f"{self.spec.label}: cannot use {path.name}: {why}.")
            return
        self.text.setPlainText(content)
        self.left.emit()

    def _pick_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, f"Choose {self.spec.label}")
        if path and self.line is not None:
            self.line.setText(path)
            self.left.emit()
