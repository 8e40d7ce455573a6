"""Shared types of the interpretation step: what a prompt carries and what a backend returns.

Every backend (``rules``, ``openai``, ``local``) consumes ``PromptSpec`` objects and returns
one ``Generation`` per spec, in order. A spec carries both the rendered chat messages (what an
LLM reads) and the ``GenerationContext`` they were rendered from (what the rule-based writer
reads), so the two kinds of backend see exactly the same information. The context never holds
a window's label: interpretations must describe the signal, not restate the answer.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

import numpy as np

from lanhar_core.jobs import Progress

ContextKind = Literal["window", "label"]


@dataclass(frozen=True)
class GenerationContext:
    """The information a prompt was built from.

    ``kind == "window"``: ``signals`` is one (L, 6) float32 window in canonical units
    (acc m/s^2 with gravity, gyro rad/s), ``rate_hz`` its rate, ``placement`` the device
    position, ``candidates`` the display names of the dataset's activity vocabulary (the
    window's own label is deliberately absent). ``kind == "label"``: ``activity`` is the
    canonical name, ``display`` its display name and ``index`` which of the N descriptions
    of that label is asked for (0-based).
    """

    kind: ContextKind
    signals: np.ndarray | None = None
    rate_hz: float = 0.0
    placement: str = ""
    candidates: tuple[str, ...] = ()
    activity: str = ""
    display: str = ""
    index: int = 0
    upright_known: bool = False
    features: dict[str, float] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def for_window(
        cls,
        signals: np.ndarray,
        rate_hz: float,
        placement: str,
        candidates: list[str] | tuple[str, ...],
        features: dict[str, float] | None = None,
        upright_known: bool = False,
    ) -> GenerationContext:
        """``features``: the window's feature record when the caller already computed it (saves recomputing).

        ``upright_known``: the signals are in the body-segment frame (``signal.segment_frame``).
        """
        return cls(
            kind="window",
            signals=np.asarray(signals, dtype=np.float32),
            rate_hz=float(rate_hz),
            placement=placement,
            candidates=tuple(candidates),
            features=features,
            upright_known=bool(upright_known),
        )

    @classmethod
    def for_label(cls, activity: str, display: str, index: int, segment: str = "") -> GenerationContext:
        """``segment``: the body segment the description is for ("" for any placement), in ``placement``."""
        return cls(kind="label", activity=activity, display=display, index=int(index), placement=segment)


@dataclass(frozen=True)
class PromptSpec:
    """One prompt ready to send: chat ``messages``, the template name and version it came from."""

    messages: list[dict[str, str]]
    template: str
    version: str
    context: GenerationContext = field(repr=False)

    def cache_key(self) -> str:
        """Stable hash of the exact messages plus template name and version.

        Backends combine it with their model and parameters to serve repeated identical
        requests from the store's cache instead of paying for them twice.
        """
        payload = json.dumps(
            {"template": self.template, "version": self.version, "messages": self.messages},
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Generation:
    """A backend's answer to one ``PromptSpec``; ``ok`` False means ``error`` says why and ``text`` may be empty.

    ``truncated_from_chars`` is the reply's length before ``cap_reply`` cut it (0: not cut).
    """

    text: str
    ok: bool
    error: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    truncated_from_chars: int = 0


def cap_reply(text: str, max_chars: int) -> tuple[str, int]:
    """``(text cut to max_chars, original length if it was cut else 0)``: a reply's size is bounded
    before anything stores it, whatever the endpoint sends (``llm.max_reply_chars``)."""
    if len(text) <= max_chars:
        return text, 0
    return text[:max_chars], len(text)


@runtime_checkable
class Backend(Protocol):
    """An interpretation writer. ``is_llm`` is False for the rule-based writer, so the UI and store can say so."""

    name: str
    model: str
    is_llm: bool
    window_frame: Literal["device", "segment"]
    """Axes the backend's window signals come in: ``segment`` for writers that state the worn
    segment's orientation (``signal.segment_frame``), ``device`` for everything else."""

    def params(self) -> dict:
        """Generation parameters that influence the text (stored with it and part of the cache key)."""
        ...

    def generate(self, specs: list[PromptSpec], progress: Progress | None = None) -> list[Generation]:
        """One ``Generation`` per spec, in the same order; failures are returned, not raised."""
        ...
