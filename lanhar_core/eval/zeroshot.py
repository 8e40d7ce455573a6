"""Zero-shot baseline: the pre-trained text encoder, no training at all.

Each test window's interpretation is embedded with the untrained MiniLM and matched to the
nearest label vector (mean of the label's description embeddings). It shows what the
language side alone gives before stage 1 and stage 2, and, unlike the supervised
baselines, it can name activities it never saw, so it is the baseline of the
new-activity protocol too. It needs the *target's* interpretations, which ours does not
at inference time.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lanhar_core.eval.pipeline import TextSet
from lanhar_core.eval.protocols import EvalTask, blind_rows
from lanhar_core.jobs import Progress
from lanhar_core.models.recognizer import label_embedding
from lanhar_core.models.text_encoder import TextEncoder
from lanhar_core.models.text_views import window_view


def scored_rows(task: EvalTask, texts: TextSet, limit: int, seed: int) -> np.ndarray:
    """Rows of ``task.test`` the zero-shot baseline scores: the blind sample of at most ``limit`` (0 = all) that has texts."""
    rows = blind_rows(len(task.test), limit, seed)
    return rows[[int(task.test.ids[r]) in texts.windows for r in rows]]


def zero_shot_predict(
    encoder: TextEncoder,
    window_texts: Sequence[str],
    descriptions: dict[str, list[str]],
    labels: Sequence[str],
    batch_size: int = 32,
    progress: Progress | None = None,
) -> np.ndarray:
    """Nearest label (cosine) for each interpretation text."""
    names = list(labels)
    matrix = np.stack([label_embedding(descriptions[name], encoder) for name in names])
    vectors = encoder.encode([window_view(t) for t in window_texts], batch_size=batch_size, progress=progress)
    return np.asarray(names, dtype=object)[(vectors @ matrix.T).argmax(axis=1)]
