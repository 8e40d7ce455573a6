"""Exception hierarchy.

Every error a user can cause derives from ``LanharError`` so the CLI and the app can show
its message and stop cleanly instead of printing a traceback. Messages name the problem
and, where possible, what to do about it.
"""

from __future__ import annotations


class LanharError(Exception):
    """Base class for every error meant to be shown to a user."""


class ConfigError(LanharError):
    """A setting is missing or has an invalid value."""


class DataFormatError(LanharError):
    """An input file does not have the expected structure (columns, shape, header)."""


class UnitError(DataFormatError):
    """Units are unknown, or the values are implausible for the declared units."""


class InvalidSignalError(DataFormatError):
    """Signal values are unusable (NaN/inf, non-monotonic timestamps, empty)."""


class RecordingTooShortError(DataFormatError):
    """A recording is shorter than one analysis window."""


class FileTooLargeError(DataFormatError):
    """An input file exceeds the configured size limit."""


class InvalidValueError(LanharError, ValueError):
    """A value a caller passed is outside what the function accepts (an empty edit, an unknown
    status or method name, mismatched lengths). Also a ``ValueError``, for callers that catch one."""


class UnknownDatasetError(LanharError):
    """A dataset name is neither a known reader nor a dataset in the store."""


class StoreError(LanharError):
    """The DuckDB store cannot be used."""


class StoreLockedError(StoreError):
    """Another process holds the store's write lock."""


class MigrationError(StoreError):
    """The store's schema is newer than this code, or a migration failed."""


class NotFoundError(LanharError):
    """A requested object (window, interpretation, run, model) does not exist."""


class BackendError(LanharError):
    """An interpretation backend failed (network, timeout, bad reply)."""


class BackendUnavailableError(BackendError):
    """A backend cannot be used on this machine (missing package, model or endpoint)."""


class InsufficientDataError(LanharError):
    """Too few windows or interpretations for an analysis (clustering, KL estimate, comparison)."""


class CancelledError(LanharError):
    """A long operation was cancelled by its caller."""


class ModelError(LanharError):
    """A model artifact is missing, incompatible or cannot be loaded."""


class RunStateError(LanharError):
    """A training run cannot do what was asked in its current state (resume a finished run, ...)."""


class PromptTemplateError(ConfigError):
    """A prompt template file is missing, has no valid version line, or lacks a required block."""


class DatasetInUseError(StoreError):
    """A dataset cannot be replaced or removed because other rows (interpretations) refer to its windows."""


class DownloadError(LanharError):
    """A dataset archive could not be fetched (network, HTTP error, interrupted transfer)."""


class ChecksumMismatchError(DownloadError):
    """A downloaded file's SHA-256 differs from the expected one."""
