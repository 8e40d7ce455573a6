"""Loading saved models with every way a file can be damaged turned into a ``ModelError``.

A recognizer directory can be truncated by a full disk, overwritten by another program or
copied from an older version; the libraries then raise whatever their parser hits first
(``PytorchStreamReader failed``, ``JSONDecodeError``, ``EOFError``, a ``TypeError`` for a
config key this code does not know). Users get one message naming the directory and what
to do instead of a traceback. Weights are loaded with ``weights_only=True`` by the
loaders themselves, so no file here can run code.
"""

from __future__ import annotations

import pickle
from pathlib import Path

from lanhar_core.errors import ModelError
from lanhar_core.models.recognizer import Recognizer

MODEL_FILE_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    EOFError,
    ValueError,
    KeyError,
    TypeError,
    RuntimeError,
    AttributeError,
    pickle.UnpicklingError,
)
"""What torch, numpy and json raise on a damaged or foreign model file."""


def damaged_model_error(directory: str | Path, exc: Exception) -> ModelError:
    """The message for a model directory whose files cannot be parsed."""
    return ModelError(
        f"{directory}: the model files are damaged or were not written by this version of LanHAR Studio "
        f"({type(exc).__name__}: {str(exc)[:200]}); retrain the model or restore the directory from a backup"
    )


def open_recognizer(directory: str | Path) -> Recognizer:
    """``Recognizer.load`` with damaged files reported as a ``ModelError``."""
    try:
        return Recognizer.load(directory)
    except MODEL_FILE_ERRORS as exc:
        raise damaged_model_error(directory, exc) from exc
