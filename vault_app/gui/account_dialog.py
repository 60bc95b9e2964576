"""Add and Edit: a form generated from the provider's field schema. Secrets are masked with a
reveal toggle, PEM fields load from files, values are checked as they are typed, and "Sign in"
shows its outcome without closing the dialog."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from vault_app.core.account_store import check_name
from vault_app.core.errors import UserFacingError
from vault_app.core.model import Account
from vault_app.core.providers.base import (
    Field,
    FieldKind,
    Provider,
    get_provider,
    kinds,
    missing_fields,
    normalize_fields,
)


class FieldEditor(QWidget):
    """One field's input: text, choice, masked secret or PEM text with a file button."""

    changed = Signal()

    def __init__(self, spec: Field, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.combo: QComboBox | None = None
        self.text: QPlainTextEdit | None = None
        self.line: QLineEdit | None = None
        if spec.kind is FieldKind.CHOICE:
            self.combo = QComboBox()
            self.combo.addItems(list(spec.choices))
            if spec.default in spec.choices:
                self.combo.setCurrentText(spec.default)
            self.combo.currentTextChanged.connect(self.changed)
            self.combo.setAccessibleName(spec.label)
            layout.addWidget(self.combo)
        elif spec.kind is FieldKind.PEM:
            self.text = QPlainTextEdit()
            self.text.setPlaceholderText("-----BEGIN …----- (or load a file)")
            self.text.setFixedHeight(64)
            self.text.setAccessibleName(spec.label)
            self.text.textChanged.connect(self.changed)
            load = QPushButton("Load file…")
            load.setAccessibleName(f"Load {spec.label} from a file")
            load.clicked.connect(self._load_pem)
            layout.addWidget(self.text)
            layout.addWidget(load)
        else:
            self.line = QLineEdit()
            self.line.setAccessibleName(spec.label)
            if spec.default:
                self.line.setPlaceholderText(spec.default)
            self.line.textChanged.connect(self.changed)
            layout.addWidget(self.line)
            if spec.secret:
                self.line.setEchoMode(QLineEdit.EchoMode.Password)
                reveal = QToolButton()
                reveal.setText("Show")
                reveal.setCheckable(True)
                reveal.setAccessibleName(f"Show {spec.label}")
                reveal.toggled.connect(self._reveal)
                layout.addWidget(reveal)
            if spec.kind is FieldKind.PATH:
                pick = QPushButton("Choose…")
                pick.setAccessibleName(f"Choose {spec.label}")
                pick.clicked.connect(self._pick_file)
                layout.addWidget(pick)
        self.setToolTip(spec.help)

    def value(self) -> str:
        if self.combo is not None:
            return self.combo.currentText()
        if self.text is not None:
            return self.text.toPlainText()
        assert self.line is not None
        return self.line.text()

    def set_value(self, value: str) -> None:
        if self.combo is not None:
            self.combo.setCurrentText(value)
        elif self.text is not None:
            self.text.setPlainText(value)
        elif self.line is not None:
            self.line.setText(value)

    def _reveal(self, shown: bool) -> None:
        assert self.line is not None
        self.line.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)

    def _load_pem(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, f"Load {self.spec.label}", "", "PEM files (*.pem *.crt *.key);;All files (*)"
        )
        if path and self.text is not None:
            try:
                self.text.setPlainText(Path(path).read_text())
            except (OSError, UnicodeDecodeError) as exc:
                self.setToolTip(f"Cannot read {path}: {exc}")

    def _pick_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, f"Choose {self.spec.label}")
        if path and self.line is not None:
            self.line.setText(path)


class AccountDialog(QDialog):
    """Add (no account given) or Edit (an account given). `submit` is emitted with
    (name, kind, fields, secrets); the owner runs it and calls `show_outcome`."""

    submit = Signal(str, str, dict, dict)

    def __init__(self, account: Account | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.account = account
        self.setWindowTitle("Edit account" if account else "Add account")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        top = QFormLayout()
        self.name = QLineEdit(account.name if account else "")
        self.name.setAccessibleName("Account name")
        self.name.setReadOnly(account is not None)
        self.kind = QComboBox()
        self.kind.setAccessibleName("Provider")
        for kind in kinds():
            self.kind.addItem(f"{get_provider(kind).title} ({kind})", kind)
        if account is not None:
            self.kind.setCurrentIndex(kinds().index(account.provider))
            self.kind.setEnabled(False)
        top.addRow("Name", self.name)
        top.addRow("Provider", self.kind)
        layout.addLayout(top)
        self.fields_box = QWidget()
        self.form = QFormLayout(self.fields_box)
        layout.addWidget(self.fields_box)
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setStyleSheet("color: #c2372f")
        self.outcome = QLabel()
        self.outcome.setWordWrap(True)
        layout.addWidget(self.problem)
        layout.addWidget(self.outcome)
        buttons = QDialogButtonBox()
        self.sign_in = buttons.addButton("Sign in", QDialogButtonBox.ButtonRole.AcceptRole)
        self.sign_in.setAccessibleName("Save and sign in")
        buttons.addButton(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.sign_in.clicked.connect(self._submit)
        layout.addWidget(buttons)
        self.editors: dict[str, FieldEditor] = {}
        self.kind.currentIndexChanged.connect(self._build_fields)
        self.name.textChanged.connect(self.validate)
        self._build_fields()

    def provider(self) -> Provider:
        return get_provider(str(self.kind.currentData()))

    def _build_fields(self) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.editors = {}
        for spec in self.provider().fields:
            editor = FieldEditor(spec)
            if self.account is not None and not spec.secret:
                editor.set_value(self.account.fields.get(spec.name, ""))
            if self.account is not None and spec.secret and editor.line is not None:
                editor.line.setPlaceholderText("stored; type to replace")
            editor.changed.connect(self.validate)
            label = spec.label + (" *" if spec.required else "")
            self.form.addRow(label, editor)
            self.editors[spec.name] = editor
        self._show_relevant()
        self.validate()

    def _show_relevant(self) -> None:
        """Only the fields that matter for the current choices (e.g. the OAuth2 grant)."""
        current = {
            name: editor.value()
            for name, editor in self.editors.items()
            if editor.combo is not None
        }
        for row, editor in enumerate(self.editors.values()):
            self.form.setRowVisible(row, editor.spec.relevant(current))

    def values(self) -> tuple[dict[str, str], dict[str, str]]:
        fields: dict[str, str] = {}
        secrets: dict[str, str] = {}
        choices = {n: e.value() for n, e in self.editors.items() if e.combo is not None}
        for name, editor in self.editors.items():
            if not editor.spec.relevant(choices):
                continue
            value = editor.value()
            if editor.spec.secret:
                if value:
                    secrets[name] = value if editor.spec.kind is FieldKind.PEM else value.strip()
            elif value or (self.account is not None and name in self.account.fields):
                fields[name] = value
        return fields, secrets

    def validate(self) -> bool:
        """Inline checks: the name, every field's format, required values."""
        self._show_relevant()
        provider = self.provider()
        fields, secrets = self.values()
        try:
            if self.account is None:
                check_name(self.name.text())
            clean = normalize_fields(provider, fields, complete=self.account is None)
            if self.account is None:
                missing = missing_fields(provider, clean, secrets)
                if missing:
                    raise UserFacingError(f"Needed: {', '.join(s.label for s in missing)}")
        except UserFacingError as exc:
            self.problem.setText(exc.message)
            self.sign_in.setEnabled(False)
            return False
        self.problem.setText("")
        self.sign_in.setEnabled(True)
        return True

    def _submit(self) -> None:
        if not self.validate():
            return
        fields, secrets = self.values()
        self.sign_in.setEnabled(False)
        self.outcome.setText("Signing in…")
        self.submit.emit(self.name.text().strip(), str(self.kind.currentData()), fields, secrets)

    def show_outcome(self, ok: bool, message: str) -> None:
        self.outcome.setStyleSheet("" if ok else "color: #c2372f")
        self.outcome.setText(message)
        self.sign_in.setEnabled(True)
        if ok and self.account is None:
            # Saved: further presses edit this account instead of adding a duplicate.
            self.name.setReadOnly(True)
            self.kind.setEnabled(False)
