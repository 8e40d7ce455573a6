"""How a damaged or foreign model file shows up, and the message users get instead of a traceback.

A model directory can be truncated by a full disk, overwritten by another program or copied
from an older version; torch, numpy and json then raise whatever their parser hits first.
"""

from __future__ import annotations

import pickle
from pathlib import Path

from lanhar_core.errors import ModelError

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
