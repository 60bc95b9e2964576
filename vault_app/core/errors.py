"""Error types: each user-facing error carries a one-line message and the CLI exit code it maps to.

Messages never contain secret values (DESIGN.md section 7); anything that is not a
`UserFacingError` is a bug, logged with secrets stripped.
"""

from __future__ import annotations


class UserFacingError(Exception):
    """An expected failure whose message is shown to the user as it is."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(UserFacingError):
    """Bad input from the user: an unknown field, an invalid URL, a missing value."""

    exit_code = 2


class NoSuchAccountError(UserFacingError):
    exit_code = 3


class RejectedError(UserFacingError):
    """The server refused the credentials: a new sign-in is needed."""

    exit_code = 4


class SignInNeededError(RejectedError):
    """The account holds no usable token and cannot get one without the user."""


class TransientError(UserFacingError):
    """Network or server trouble that may pass: keep what is stored and try again later."""

    exit_code = 5

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MisconfiguredError(UserFacingError):
    """The server answered in a way retrying will not fix (404, TLS failure, wrong endpoint)."""

    exit_code = 5


class KeyringUnavailableError(UserFacingError):
    """No usable keyring backend, a locked keyring, or a keyring that does not answer."""

    exit_code = 6


class VaultFileError(UserFacingError):
    """The metadata file cannot be used (corrupt, newer schema); it is left untouched."""

    exit_code = 1
