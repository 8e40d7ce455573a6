"""The text path: recognise a window through its own interpretation instead of the sensor encoder.

A recognizer's label vectors live in the stage-1 text space, so a window can be matched to
them in two ways: its sensor embedding (stage 2, the paper's inference) or the embedding of
the text the label-blind writer produces for it. The two differ in what they were trained
on. A sensor encoder trained without the target's windows (a user's new phone, the
inductive setting) meets a device and placement it never saw; the rules writer states
physical facts in the body-segment frame of the declared placement, which is the same
statement on any device. Measured over 12 dataset pairs (bench/README.md, "Recognition
through the texts"), the text path beats the inductive sensor encoder; with the target's
unlabelled windows in stage 2 (transductive) the sensor encoder is better.

The price is writing a text per window: a fraction of a millisecond with a rules writer, one
call per window with an LLM writer (what the paper's sensor encoder exists to avoid). The
writer must be the one whose texts the text encoder was trained on (its collection's
backend and version).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lanhar_core.config import Settings
from lanhar_core.errors import BackendError
from lanhar_core.jobs import Progress
from lanhar_core.llm.base import Backend
from lanhar_core.llm.registry import make_backend
from lanhar_core.models.recognizer import Predictions, Recognizer, TextEmbedder, unit_rows
from lanhar_core.models.shipped import text_encoder_for
from lanhar_core.models.text_views import window_view
from lanhar_core.prompts import window_prompt

RECOGNITION_PATHS = ("text", "sensor")
"""How a recognizer reads a window: its written interpretation, or its signals through the sensor encoder."""

def uncalibrated_note(recognizer: Recognizer) -> str:
    """A warning when labels the model was not trained on meet no calibration on the text path ('' otherwise)."""
    labels = recognizer.text_uncalibrated_labels
    if not labels:
        return ""
    return (f"{', '.join(labels)}: not trained and not calibrated for the text path (this model stores no text "
            "calibration), so they may take windows of the trained activities; the sensor path calibrates them")


TEXT_PATH_NEEDS_PLACEMENT = (
    "no placement: the writer cannot say which body segment is tilted, so postures read as unknown on the text path; "
    "pass --placement (waist, pocket, wrist, ...)"
)


def text_embeddings(encoder: TextEmbedder, texts: Sequence[str]) -> np.ndarray:
    """Unit embeddings of window texts as stage 1 matched them to labels (their conclusions, ``window_view``)."""
    return unit_rows(encoder.encode([window_view(t) for t in texts]))


def write_window_texts(
    writer: Backend, signals: np.ndarray, rate_hz: float, placement: str,
    upright_known: np.ndarray | None = None, progress: Progress | None = None,
) -> list[str]:
    """The writer's interpretation of each window (label-blind: the prompt carries no label).

    ``upright_known`` per window: whether the body-segment frame found the segment's axis
    (``signal.segment_frame``); ``None`` for windows in device axes.
    """
    known = np.ones(len(signals), dtype=bool) if upright_known is None else np.asarray(upright_known, dtype=bool)
    specs = [window_prompt(s, rate_hz, placement, [], upright_known=bool(k)) for s, k in zip(signals, known)]
    generations = writer.generate(specs, progress=progress)
    failed = [(i, g.error) for i, g in enumerate(generations) if not g.ok or not g.text.strip()]
    if failed:
        i, error = failed[0]
        raise BackendError(f"{writer.name} wrote no interpretation for {len(failed)} of {len(specs)} windows "
                           f"(first: window {i}, {error or 'empty reply'}); the text path needs one per window")
    return [g.text for g in generations]


@dataclass(frozen=True)
class TextReader:
    """What the text path needs beside a recognizer: the text encoder its labels were embedded with
    (``shipped.text_encoder_for(recognizer.text_encoder_ref)``) and the writer of its training texts."""

    encoder: TextEmbedder
    writer: Backend

    def predict(
        self, recognizer: Recognizer, signals: np.ndarray, rate_hz: float, placement: str,
        upright_known: np.ndarray | None = None, allow_unknown: bool = True, progress: Progress | None = None,
    ) -> Predictions:
        """Windows (in the writer's frame, ``writer.window_frame``) recognised from the texts written for them."""
        texts = write_window_texts(self.writer, signals, rate_hz, placement, upright_known, progress)
        return recognizer.predict_texts(text_embeddings(self.encoder, texts), allow_unknown=allow_unknown)


def reader_for(settings: Settings, recognizer: Recognizer, encoder: TextEmbedder | None = None) -> TextReader:
    """The text path of ``recognizer``: its own text encoder (``encoder`` when the caller already holds it)
    and the configured rules writer (``[llm] rules_version``, rules-v3 by default: the writer of the
    shipped model's and the default collections' texts)."""
    encoder = encoder or text_encoder_for(recognizer.text_encoder_ref or settings.text_encoder.path)
    return TextReader(encoder, make_backend(settings, "rules"))
