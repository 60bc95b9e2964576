"""Add, Edit and Sign in: one form generated from the provider's field schema.

- Add keeps nothing until signing in works: a failed first sign-in says why, removes what it
  stored and offers "Save anyway" (kept signed out, with the reason). Success closes the
  dialog; the window shows and selects the new account.
- Edit (Name and Provider locked) saves the changes and signs in with them.
- Sign in (`for_sign_in`) is Edit opened for an account that needs the user: it says why and
  puts the cursor in the field to replace.

The fields scroll; the messages and buttons stay on screen, and the dialog sizes to its form.
The main button hands the form to a sign-in action chosen per provider and grant (the seam for
interactive grants: `register_sign_in_action`)."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from vault_app.core.account_store import check_name
from vault_app.core.errors import UsageError, UserFacingError
from vault_app.core.model import Account, Status
from vault_app.core.providers.base import (
    AccountConfig,
    Field,
    FieldKind,
    Provider,
    get_provider,
    kinds,
    normalize_fields,
)
from vault_app.gui.dialog_fit import FittingScrollArea, fit_to_screen
from vault_app.gui.failures import what_to_do
from vault_app.gui.field_editor import FieldEditor
from vault_app.gui.focus import set_visible_keeping_focus
from vault_app.gui.message_bar import MessageBar, Tone
from vault_app.gui.plain_words import field_to_replace, in_user_words

if TYPE_CHECKING:
    from vault_app.gui.adapter import VaultAdapter

log = logging.getLogger(__name__)

# Fields whose empty value means something, with the words of that explicit choice.
NONE_CHOICES = {("static", "scheme"): "None: send the key alone"}
PREFERRED_WIDTH = 560
FIRST_FIELD_ROW = 2  # the form's rows: Name, Provider, then the provider's fields
MASK = "••••••••"


@dataclass(frozen=True)
class SignInRequest:
    """What the form asks for: `account` is None when adding."""

    name: str
    kind: str
    fields: dict[str, str]
    secrets: dict[str, str]
    account: Account | None


class SignInAction:
    """What the form's main button does for a provider and grant. This default stores the
    form's values and signs in with the stored credentials (adapter.add / adapter.edit), then
    calls back `dialog.added` / `dialog.edited` / `dialog.failed`.

    Interactive grants register their own (`register_sign_in_action`; the browser and device
    grants' are in gui/interactive_sign_in.py): `start` may put its waiting state (a link, a
    user code, Cancel) into `dialog.action_area` (an empty, hidden widget with a vertical
    layout, between the form and the messages; show it, then `dialog.refit()`), must end
    with one of the same callbacks, and `cancel` is called when the dialog closes first."""

    button_text = "Sign in"

    def cancel(self) -> None:
        """The dialog closed while `start`'s work runs. The default lets it finish: the
        window then reports its outcome."""

    def start(self, dialog: AccountDialog, request: SignInRequest) -> None:
        adapter = dialog.adapter
        if adapter is None:
            dialog.failed(UserFacingError("the vault is not open yet; try again in a moment"))
            return
        if request.account is None:
            adapter.spawn(
                adapter.add(request.name, request.kind, request.fields, request.secrets),
                dialog.added,
                dialog.failed,
            )
        else:
            adapter.spawn(
                adapter.edit(request.account.id, request.fields, request.secrets),
                dialog.edited,
                dialog.failed,
            )


_ACTIONS: dict[tuple[str, str], Callable[[], SignInAction]] = {}


def register_sign_in_action(
    kind: str, grant: str, make: Callable[[], SignInAction], *, replace: bool = True
) -> None:
    """Use `make()` for accounts of `kind` whose `grant` field has this value ("*": any);
    `replace=False` keeps an action registered for them already."""
    if replace or (kind, grant) not in _ACTIONS:
        _ACTIONS[(kind, grant)] = make


def sign_in_action_for(kind: str, choices: dict[str, str]) -> SignInAction:
    # The browser and device grants' own actions (registered on first use, so any form
    # made, however it was imported, signs those accounts in through the person).
    from vault_app.gui import interactive_sign_in

    interactive_sign_in.register_actions()
    make = _ACTIONS.get((kind, choices.get("grant", ""))) or _ACTIONS.get((kind, "*"))
    return make() if make is not None else SignInAction()


class AccountDialog(QDialog):
    """Add (no account), Edit (an account) or Sign in (`for_sign_in`). `saved` carries the
    stored account once the dialog is done with it; the dialog then closes."""

    saved = Signal(object)  # Account

    def __init__(
        self,
        account: Account | None = None,
        parent: QWidget | None = None,
        *,
        adapter: VaultAdapter | None = None,
        sign_in_mode: bool = False,
    ) -> None:
        super().__init__(parent)
        self.account = account
        self.adapter = adapter if adapter is not None else getattr(parent, "adapter", None)
        self.sign_in_mode = sign_in_mode and account is not None
        self.editors: dict[str, FieldEditor] = {}
        self._rows: dict[str, int] = {}
        self._left: set[str] = set()  # fields the person has moved on from: checked from now
        self._tried = False  # the main button was pressed: every check applies
        self._working = False
        self._failed_request: SignInRequest | None = None
        self._failure: UserFacingError | None = None
        self._pending: SignInRequest | None = None
        self._action = SignInAction()
        self._existing = self._existing_names()
        self._fitted: object = None
        self._fit_timer = QTimer(self)
        self._fit_timer.setSingleShot(True)
        self._fit_timer.setInterval(0)
        self._fit_timer.timeout.connect(self._fit_now)
        self.preview: QLabel | None = None

        layout = QVBoxLayout(self)
        self.reason = MessageBar()
        layout.addWidget(self.reason)
        self.name = QLineEdit(account.name if account else "")
        self.name.setAccessibleName("Account name")
        self.name.setPlaceholderText("a short name you choose, e.g. alor-main")
        self.kind = QComboBox()
        self.kind.setAccessibleName("Provider")
        for kind in kinds():
            self.kind.addItem(f"{get_provider(kind).title} ({kind})", kind)
        if account is not None:
            self.kind.setCurrentIndex(max(self.kind.findData(account.provider), 0))
        # Name and Provider share the form (one label column); the whole form scrolls.
        self.fields_box = QWidget()
        self.form = QFormLayout(self.fields_box)
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.addRow("Name", self.name)
        self.form.addRow("Provider", self.kind)
        self.scroll_area = FittingScrollArea(self.fields_box)
        self.scroll_area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        layout.addWidget(self.scroll_area, 1)
        self.legend = QLabel("Fields marked * are needed.")
        layout.addWidget(self.legend)
        self.action_area = QWidget()  # for a sign-in action's waiting state (see SignInAction)
        QVBoxLayout(self.action_area).setContentsMargins(0, 0, 0, 0)
        self.action_area.setVisible(False)
        layout.addWidget(self.action_area)
        self.problem = MessageBar()
        self.outcome = MessageBar()
        layout.addWidget(self.problem)
        layout.addWidget(self.outcome)
        for bar in (self.reason, self.problem, self.outcome):
            bar.changed.connect(self.refit)

        self.buttons = QDialogButtonBox()
        self.save_anyway = self.buttons.addButton(
            "Save anyway", QDialogButtonBox.ButtonRole.ActionRole
        )
        self.save_anyway.setToolTip("Keep the account signed out, and sign in later")
        set_visible_keeping_focus(self.save_anyway, False)
        self.save_anyway.clicked.connect(self._save_anyway)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.sign_in = self.buttons.addButton("Sign in", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.rejected.connect(self.reject)
        self.sign_in.clicked.connect(self._submit)
        layout.addWidget(self.buttons)
        # Only once the button is inside the dialog does the dialog remember it as its
        # default (Return anywhere in the form); set before, it is forgotten at first focus.
        self.sign_in.setDefault(True)

        self.kind.currentIndexChanged.connect(self._build_fields)
        self.name.textChanged.connect(self._form_changed)
        self.name.editingFinished.connect(lambda: self._leave("name"))
        self._apply_mode()
        self._build_fields()
        if self.sign_in_mode:
            self.show_reason()  # before the first show: the dialog is sized with it

    # -- construction ---------------------------------------------------------------------

    @classmethod
    def for_sign_in(cls, account: Account, parent: QWidget | None = None) -> AccountDialog:
        """The Edit form for an account that needs the user: the reason shown in plain
        words, the field to replace focused, Name and Provider locked."""
        return cls(account, parent, sign_in_mode=True)

    def _existing_names(self) -> set[str]:
        if self.adapter is None:
            return set()
        try:
            return {a.name for a in self.adapter.vault.load().accounts}
        except UserFacingError:
            return set()

    def _apply_mode(self) -> None:
        """Title, locked fields, button text and the reason, for Add, Edit or Sign in."""
        account = self.account
        if account is None:
            self.setWindowTitle("Add account")
            self.sign_in.setText(self._action.button_text)
            self.sign_in.setAccessibleName("Save and sign in")
            return
        self.name.setText(account.name)
        self.name.setReadOnly(True)
        self.name.setEnabled(False)  # locked, and drawn so
        self.name.setToolTip("An account's name cannot be changed")
        self.kind.setEnabled(False)
        self.kind.setToolTip("An account's provider cannot be changed; add a new account")
        if self.sign_in_mode:
            self.setWindowTitle(f"Sign in to {account.name}")
            self.sign_in.setText(self._action.button_text)
        else:
            self.setWindowTitle(f"Edit {account.name}")
            self.sign_in.setText("Save and sign in")
        self.sign_in.setAccessibleName(self.sign_in.text())

    def provider(self) -> Provider:
        return get_provider(str(self.kind.currentData()))

    def _build_fields(self) -> None:
        while self.form.rowCount() > FIRST_FIELD_ROW:
            self.form.removeRow(FIRST_FIELD_ROW)
        self.editors, self._rows = {}, {}
        provider = self.provider()
        stored = set(self.account.secret_fields) if self.account is not None else set()
        editing = self.account is not None and self.account.provider == provider.kind
        for spec in provider.fields:
            editor = FieldEditor(
                spec,
                stored=editing and spec.name in stored,
                none_choice=NONE_CHOICES.get((provider.kind, spec.name)),
            )
            if editing and not spec.secret and self.account is not None:
                value = self.account.fields.get(spec.name, spec.default or "")
                editor.set_value(value)
            elif spec.default is not None and spec.kind is not FieldKind.CHOICE:
                editor.set_value(spec.default)  # a real value, not a grey placeholder
            editor.changed.connect(self._form_changed)
            editor.left.connect(lambda name=spec.name: self._leave(name))
            editor.problem.connect(lambda text: self.problem.show_message(text, Tone.ERROR))
            self._rows[spec.name] = self.form.rowCount()
            self.form.addRow(self._label_text(spec, False), editor)
            self.editors[spec.name] = editor
        self.preview = None
        if provider.field("header_name") is not None:
            self.preview = QLabel()
            self.preview.setTextFormat(Qt.TextFormat.PlainText)
            self.preview.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
            self.preview.setWordWrap(True)
            self.preview.setAccessibleName("What will be sent")
            self.form.addRow("Sent as", self.preview)
        self._action = sign_in_action_for(provider.kind, self._choices())
        self._apply_mode()
        self._chain_tab_order()
        self._form_changed()

    @staticmethod
    def _label_text(spec: Field, needed: bool) -> str:
        return spec.label + (" *" if needed else "")

    def _chain_tab_order(self) -> None:
        """Tab follows the layout: name, provider, each field (and its buttons) top to
        bottom, then the buttons left to right."""
        chain: list[QWidget] = [self.name, self.kind]
        for editor in self.editors.values():
            chain += editor.focus_chain()
        layout = self.buttons.layout()
        if layout is not None:  # the button box lays its buttons out in the platform's order
            for index in range(layout.count()):
                item = layout.itemAt(index)
                widget = item.widget() if item is not None else None
                if isinstance(widget, QPushButton):
                    chain.append(widget)
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

    # -- state ----------------------------------------------------------------------------

    def _choices(self) -> dict[str, str]:
        return {n: e.value() for n, e in self.editors.items() if e.combo is not None}

    def _relevant(self, choices: dict[str, str] | None = None) -> list[FieldEditor]:
        choices = self._choices() if choices is None else choices
        return [e for e in self.editors.values() if e.spec.relevant(choices)]

    def values(self) -> tuple[dict[str, str], dict[str, str]]:
        """The non-secret fields and the secrets to store, for the fields the current
        choices use. Empty means "the default" except where "none" was chosen explicitly."""
        fields: dict[str, str] = {}
        secrets: dict[str, str] = {}
        stored = self.account.fields if self.account is not None else {}
        for editor in self._relevant():
            spec, value = editor.spec, editor.value()
            if spec.secret:
                if value.strip():
                    secrets[spec.name] = value if spec.kind is FieldKind.PEM else value.strip()
            elif value.strip() or editor.explicit_none():
                fields[spec.name] = value
            elif spec.default is not None:
                if self.account is not None:
                    fields[spec.name] = spec.default
            elif spec.name in stored:
                fields[spec.name] = ""  # cleared
        return fields, secrets

    def shown_fields(self) -> list[str]:
        """The fields the form shows for the current provider and choices."""
        return [name for name, row in self._rows.items() if self.form.isRowVisible(row)]

    def needed_fields(self) -> list[str]:
        """The fields marked as needed (*) for the current choices."""
        needed = set(self._needed())
        return [name for name in self.editors if name in needed]

    def _needed(self) -> tuple[str, ...]:
        fields, _ = self.values()
        provider = self.provider()
        try:
            complete = normalize_fields(provider, fields, complete=True)
        except UserFacingError:
            complete = dict(fields)
        return provider.required_fields(complete)

    def _leave(self, name: str) -> None:
        self._left.add(name)
        self.validate()

    def _form_changed(self) -> None:
        if self._failed_request is not None:
            # "Save anyway" keeps what failed; once the form changes it no longer applies.
            set_visible_keeping_focus(self.save_anyway, self._request() == self._failed_request)
        choices = self._choices()
        needed = set(self._needed())
        for name, editor in self.editors.items():
            row = self._rows[name]
            self.form.setRowVisible(row, editor.spec.relevant(choices))
            label = self.form.labelForField(editor)
            if isinstance(label, QLabel):
                label.setText(self._label_text(editor.spec, name in needed))
            described = ("Needed. " if name in needed else "") + (editor.spec.help or "")
            editor.focus_chain()[0].setAccessibleDescription(described.strip())
        action = sign_in_action_for(str(self.kind.currentData()), choices)
        if type(action) is not type(self._action):
            self._action = action
            self._apply_mode()
        self._update_preview()
        self.validate()
        self.refit()

    def refit(self) -> None:
        """Size the dialog to its contents again. Before it is shown: at once, so its window
        is created at that size (a resize racing the first map was seen to lose against the
        default 640x480). Once shown: after the rows just added have been shown too (Qt
        shows them from the event loop; until then they count for nothing)."""
        if self.isVisible():
            self._fit_timer.start()
        else:
            self._fitted = None
            fit_to_screen(self, PREFERRED_WIDTH)

    def _fit_now(self) -> None:
        """Fit when what the dialog shows changed (rows, messages), not on every key press:
        a size the person chose stays meanwhile."""
        shown = (
            tuple(self.form.isRowVisible(row) for row in range(self.form.rowCount()))
            + tuple(bar.text() for bar in (self.reason, self.problem, self.outcome))
            + (self.action_area.isVisible(), self.action_area.sizeHint().height())
        )
        if self.isVisible() and shown != self._fitted:
            self._fitted = shown
            fit_to_screen(self, PREFERRED_WIDTH)

    def _update_preview(self) -> None:
        if self.preview is None:
            return
        header = self.editors.get("header_name")
        scheme = self.editors.get("scheme")
        token = self.editors.get("token")
        name = (header.value().strip() if header else "") or "Authorization"
        prefix = scheme.value().strip() if scheme else ""
        if scheme is not None and not scheme.explicit_none() and not prefix:
            prefix = scheme.spec.default or ""
        value = MASK
        if token is not None and token.revealed() and token.value().strip():
            value = token.value().strip()
        elif token is not None and not token.value().strip() and not token.stored:
            value = "<your key>"
        self.preview.setText(f"{name}: {prefix} {value}" if prefix else f"{name}: {value}")

    # -- checks ---------------------------------------------------------------------------

    def problems(self) -> list[tuple[str, str]]:
        """(field name or "name", message in the person's words) for what is wrong now.
        Format problems count for fields the person has left (or after pressing the main
        button); what is missing, only after pressing it."""
        provider = self.provider()
        found: list[tuple[str, str]] = []
        typed = self.name.text().strip()
        if self.account is None and typed and ("name" in self._left or self._tried):
            try:
                name = check_name(typed)
                if name in self._existing:
                    found.append(("name", f"An account named {name} exists already."))
            except UserFacingError as exc:
                # "invalid account name 'x': 1 to 64 characters, …": the rule, not the echo.
                rule = exc.message.split(": ", 1)[-1]
                found.append(("name", f"Name: {_after_label(in_user_words(rule))}"))
        for editor in self._relevant():
            spec = editor.spec
            value = editor.value().strip()
            if spec.secret or not value or not (spec.name in self._left or self._tried):
                continue
            try:
                normalize_fields(provider, {spec.name: value}, complete=False)
            except UserFacingError as exc:
                message = exc.message.removeprefix(f"{spec.name}: ")
                text = _after_label(in_user_words(message, provider))
                found.append((spec.name, f"{spec.label}: {text}"))
        if not self._tried:
            return found
        fields, secrets = self.values()
        stored = set(self.account.secret_fields) if self.account is not None else set()
        missing = [
            spec.name
            for spec in provider.fields
            if spec.name in self._needed()
            and not (secrets.get(spec.name) or spec.name in stored)
            and not fields.get(spec.name, "").strip()
            and (spec.secret or spec.default is None)
        ]
        labels = [spec.label for spec in provider.fields if spec.name in missing]
        if self.account is None and not typed:
            missing.insert(0, "name")
            labels.insert(0, "Name")
        if missing:
            found.append((missing[0], f"Fill in {_join(labels)}."))
        if not found and self.account is None:
            try:
                clean = normalize_fields(provider, fields, complete=True)
                provider.validate(AccountConfig(clean, secrets))
            except UserFacingError as exc:
                found.append(("", in_user_words(exc.message, provider)))
        return found

    def validate(self) -> bool:
        """Show what is wrong now (see `problems`); True when nothing is."""
        found = self.problems()
        self.problem.show_message("\n".join(text for _f, text in found), Tone.ERROR)
        return not found

    # -- signing in -----------------------------------------------------------------------

    def _request(self) -> SignInRequest:
        fields, secrets = self.values()
        return SignInRequest(
            self.name.text().strip(), str(self.kind.currentData()), fields, secrets, self.account
        )

    def _submit(self) -> None:
        if self._working:
            return
        self._tried = True
        found = self.problems()
        if not self.validate():
            self._focus_field(found[0][0])
            return
        request = self._request()
        self._pending = request  # what the outcome is about, even once the dialog is gone
        self._set_working(True)
        self.outcome.show_message(f"Signing in to {self.provider().title}…", Tone.INFO)
        self.refit()
        self._action.start(self, request)

    def _pending_name(self) -> str:
        return self._pending.name if self._pending is not None else ""

    def _set_working(self, working: bool) -> None:
        self._working = working
        self.sign_in.setEnabled(not working)
        self.save_anyway.setEnabled(not working)
        self.fields_box.setEnabled(not working)
        self.kind.setEnabled(not working and self.account is None)
        self.name.setEnabled(not working and self.account is None)

    def _alive(self) -> bool:
        return shiboken6.isValid(self) and self.isVisible()

    def _tell_window(self, text: str) -> None:
        """The dialog was closed while working: the window says what happened instead."""
        if self.adapter is not None and shiboken6.isValid(self.adapter):
            self.adapter.error.emit(text)

    def added(self, result: tuple[Account | None, UserFacingError | None]) -> None:
        """The add action's outcome: success closes; a failed sign-in stored nothing
        (account None) and offers "Save anyway"."""
        account, failure = result
        name = account.name if account is not None else self._pending_name()
        if not self._alive():
            if failure is not None:
                self._tell_window(
                    f"Signing in to {name} failed, so it was not added: {failure.message}"
                )
            return
        self._set_working(False)
        if failure is None and account is not None:
            self._done(account)
            return
        assert failure is not None
        provider = self.provider()
        reason = in_user_words(failure.message, provider)
        if account is None:
            self._failed_request, self._failure = self._request(), failure
            set_visible_keeping_focus(self.save_anyway, True)
            self.outcome.show_message(
                f"Could not sign in, so {name} was not added: {reason} "
                f"{self._advice(failure)} Or press Save anyway to keep {name} as it is and "
                "sign in later.",
                Tone.ERROR,
            )
        else:
            # The failed account could not be removed again: say so and continue as Edit.
            self.account = account
            self.sign_in_mode = True
            self._apply_mode()
            self.outcome.show_message(
                f"{name} was saved, but signing in failed: {reason} {self._advice(failure)} "
                "This form now edits it.",
                Tone.ERROR,
            )
        self._focus_replacement(failure.message)
        self.refit()

    def edited(self, result: tuple[Account, UserFacingError | None]) -> None:
        account, failure = result
        if not self._alive():
            if failure is not None:
                self._tell_window(
                    f"{account.name}: changes saved, but signing in failed: {failure.message}"
                )
            return
        self._set_working(False)
        self.account = account
        if failure is None:
            self._done(account)
            return
        self.outcome.show_message(
            f"Your changes to {account.name} were saved, but signing in failed: "
            f"{in_user_words(failure.message, self.provider())} {self._advice(failure)}",
            Tone.ERROR,
        )
        self._focus_replacement(failure.message)
        self.refit()

    def failed(self, error: UserFacingError) -> None:
        """The work could not start or broke off (invalid input, the keyring): nothing was
        changed."""
        name = self._pending_name()
        if not self._alive():
            self._tell_window(f"{name}: nothing was saved: {error.message}")
            return
        self._set_working(False)
        verb, nothing = ("add", "Nothing was saved.")
        if self.account is not None:
            verb, nothing = ("save", "Nothing was changed.")
        self.outcome.show_message(
            f"Could not {verb} {name or 'the account'}: "
            f"{in_user_words(error.message, self.provider())} {nothing} "
            f"{what_to_do(error, self.provider(), self._choices(), in_form=True)}",
            Tone.ERROR,
        )
        self.refit()

    def _save_anyway(self) -> None:
        request, failure = self._failed_request, self._failure
        if request is None or failure is None or self.adapter is None or self._working:
            return
        self._set_working(True)
        self.outcome.show_message(f"Saving {request.name}…", Tone.INFO)
        self.adapter.spawn(
            self.adapter.add_signed_out(
                request.name, request.kind, request.fields, request.secrets, failure
            ),
            self._kept,
            self.failed,
        )

    def _kept(self, account: Account) -> None:
        if self._alive():
            self._set_working(False)
            self._done(account)

    def _done(self, account: Account) -> None:
        self.saved.emit(account)
        self.accept()

    # -- reasons and focus ----------------------------------------------------------------

    def _advice(self, error: UserFacingError | None) -> str:
        last = self.account.last_error if self.account is not None else None
        return what_to_do(
            error, self.provider(), self._choices(), self._status(), in_form=True, message=last
        )

    def _status(self) -> Status | None:
        return self.account.status if self.account is not None else None

    def show_reason(self) -> None:
        """Sign-in mode: why the account needs the user, in plain words, and what to do."""
        account = self.account
        if account is None:
            return
        provider = self.provider()
        if account.status is Status.OK:  # asked for by choice (a browser or device grant)
            self.reason.show_message(
                f"{account.name} is signed in. Signing in again replaces its tokens; until "
                "then it keeps the ones it has.",
                Tone.INFO,
            )
            return
        if account.last_error:
            why = in_user_words(account.last_error, provider)
        elif account.status is Status.SIGNED_OUT:
            why = "It is signed out: it holds no tokens (revoked, or never signed in)."
        else:
            why = "Its last sign-in did not succeed."
        self.reason.show_message(
            f"{account.name} needs you to sign in again. {why} {self._advice(None)}",
            Tone.WARNING,
        )

    def _focus_replacement(self, message: str | None) -> None:
        name = field_to_replace(self.provider(), self._choices(), message)
        if name is not None:
            self._focus_field(name)

    def _focus_field(self, name: str) -> None:
        if name == "name":
            target: QWidget = self.name
        elif name in self.editors:
            target = self.editors[name].focus_target()
        else:
            return
        target.setFocus(Qt.FocusReason.OtherFocusReason)
        self.scroll_area.ensureWidgetVisible(target)

    def field_to_focus(self) -> QWidget:
        """Where the cursor starts: the field to replace when signing in, the first field
        when editing, the name when adding."""
        if self.account is None:
            return self.name
        if self.sign_in_mode:
            name = field_to_replace(self.provider(), self._choices(), self.account.last_error)
            if name is not None:
                return self.editors[name].focus_target()
            return self.sign_in  # nothing to type again: a browser or device sign-in
        first = next(iter(self._relevant()), None)
        return first.focus_target() if first is not None else self.sign_in

    def done(self, result: int) -> None:
        try:
            if self._working:
                self._action.cancel()
        except Exception:  # a Qt virtual must never raise; the dialog still closes
            log.exception("cancelling a sign-in action")
        super().done(result)

    def showEvent(self, event: QShowEvent) -> None:
        try:
            super().showEvent(event)
            self._fitted = None
            self._fit_now()
            target = self.field_to_focus()
            target.setFocus(Qt.FocusReason.OtherFocusReason)
            QTimer.singleShot(0, lambda: self._refocus(target))
        except Exception:  # a Qt virtual must never raise (it would abort the process)
            log.exception("showing the account dialog")

    def _refocus(self, target: QWidget) -> None:
        # Some window managers hand focus to the first widget when they map the dialog.
        if shiboken6.isValid(self) and shiboken6.isValid(target) and self.isVisible():
            target.setFocus(Qt.FocusReason.OtherFocusReason)
            self.scroll_area.ensureWidgetVisible(target)


def _after_label(sentence: str) -> str:
    """A sentence continued after "Label: ": a plain first word loses its capital."""
    if len(sentence) > 1 and sentence[1].islower():
        return sentence[0].lower() + sentence[1:]
    return sentence


def _join(words: list[str]) -> str:
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def sample_for_screenshot(
    kind: str = "oauth2",
    grant: str | None = None,
    *,
    mode: str = "add",
    parent: QWidget | None = None,
) -> AccountDialog:
    """A filled-in dialog for pictures and layout tests, with no vault behind it: `mode` is
    "add", "edit" or "sign_in" (the last two show a stored account of `kind` that needs a
    new secret). Show it with `.show()`."""
    if mode == "add":
        dialog = AccountDialog(parent=parent)
        dialog.name.setText(f"{kind}-main")
        dialog.kind.setCurrentIndex(dialog.kind.findData(kind))
        if grant is not None and "grant" in dialog.editors:
            dialog.editors["grant"].set_value(grant)
        return dialog
    provider = get_provider(kind)
    fields = {s.name: s.default for s in provider.fields if not s.secret and s.default}
    if grant is not None:
        fields["grant"] = grant
    needed = provider.required_fields(fields)
    for spec in provider.fields:
        if spec.kind is FieldKind.URL and not fields.get(spec.name) and spec.name in needed:
            path = "" if spec.name == "issuer" else "/token"
            fields[spec.name] = "https://auth.example.com" + path
    secrets = [s.name for s in provider.fields if s.secret and s.relevant(fields)]
    account = Account(
        id="sample",
        name=f"{kind}-main",
        provider=kind,
        fields=fields,
        status=Status.SIGN_IN_NEEDED if mode == "sign_in" else Status.OK,
        last_error=(
            f"{kind}: refresh: rejected by auth.example.com (HTTP 401: the token was revoked)"
            if mode == "sign_in"
            else None
        ),
        secret_fields=secrets,
    )
    if mode == "sign_in":
        return AccountDialog.for_sign_in(account, parent)
    if mode != "edit":
        raise UsageError(f"unknown dialog mode {mode!r} (add, edit or sign_in)")
    return AccountDialog(account, parent)
