"""OpenAI Batch API mode of the ``openai`` backend: one upload, one poll loop, half the price.

For large collections (a whole dataset through a paid model) the synchronous endpoint is
slow and dear; the Batch API takes a JSONL file of chat-completion requests, answers them
within 24 hours (the only window the API offers) at OpenAI's published half price, and returns a JSONL file of
replies. ``BatchRunner.run`` turns a list of prompts into that file (one line per prompt,
``custom_id`` = its position and cache key), uploads it, creates the batch, polls it, and
downloads the replies; the pipeline then validates, stores and caches them exactly as
replies of the synchronous path (``interpret._Runner`` cannot tell the difference).

Resuming: the batch id is written to ``state_dir/<hash of the requests>.json`` as soon as
the batch exists. A run stopped while waiting (cancel, Ctrl-C, a crash) leaves it there;
re-running the same command builds the same requests, finds the file and polls the same
batch instead of paying for a second one. Partial results: an ``expired``, ``failed`` or
``cancelled`` batch still returns the replies it completed; the other prompts come back as
failed generations, so a re-run submits only those.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from openai import OpenAI

from lanhar_core.config import LLMSettings
from lanhar_core.jobs import Progress
from lanhar_core.llm.base import Generation, PromptSpec

ENDPOINT: Final = "/v1/chat/completions"
BATCH_PRICE_FACTOR = 0.5
"""OpenAI bills Batch API tokens at half the synchronous price."""
TERMINAL = ("completed", "expired", "failed", "cancelled")


@dataclass(frozen=True)
class BatchRequest:
    """The JSONL file for a list of prompts and the key its resume state is stored under."""

    custom_ids: list[str]
    payload: bytes

    @property
    def key(self) -> str:
        return hashlib.sha256(self.payload).hexdigest()[:24]


def batch_request(specs: list[PromptSpec], llm: LLMSettings) -> BatchRequest:
    """One chat-completion request line per prompt, with the synchronous path's parameters."""
    ids, lines = [], []
    for i, spec in enumerate(specs):
        custom_id = f"{i}-{spec.cache_key()[:16]}"
        body = {"model": llm.model, "messages": spec.messages, "temperature": llm.temperature,
                "max_tokens": llm.max_tokens, "seed": llm.seed}
        ids.append(custom_id)
        lines.append(json.dumps({"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": body}, sort_keys=True))
    return BatchRequest(ids, ("\n".join(lines) + "\n").encode())


class BatchRunner:
    """Submits, resumes and collects Batch API jobs for ``OpenAIBackend``."""

    def __init__(
        self,
        client: OpenAI,
        llm: LLMSettings,
        state_dir: Path,
        extract: Callable[[Any], tuple[str, int, int]],
        cost_usd: Callable[[int, int], float],
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._llm = llm
        self._state_dir = Path(state_dir)
        self._extract = extract
        self._cost = cost_usd
        self._sleep = sleep

    def run(self, specs: list[PromptSpec], progress: Progress | None = None) -> list[Generation]:
        """One generation per prompt, in order; see the module docstring for resume and partial results."""
        progress = progress or Progress()
        cancel: threading.Event = progress.cancel_event
        request = batch_request(specs, self._llm)
        state = self._state_dir / f"{request.key}.json"
        started = time.monotonic()
        batch_id = json.loads(state.read_text(encoding="utf-8"))["batch_id"] if state.exists() else self._submit(request, state)
        batch = self._client.batches.retrieve(batch_id)
        while batch.status not in TERMINAL:
            counts = batch.request_counts
            done = f"{counts.completed + counts.failed}/{counts.total}" if counts else "?"
            progress.update(progress.done, None, f"batch {batch_id}: {batch.status}, {done} answered")
            if cancel.is_set():
                reason = f"stopped waiting for batch {batch_id} ({batch.status}); re-run the same command to resume it"
                return [Generation("", False, reason, latency_s=time.monotonic() - started) for _ in specs]
            self._sleep(self._llm.batch_poll_s)
            batch = self._client.batches.retrieve(batch_id)
        replies = self._lines(batch.output_file_id)
        errors = self._lines(batch.error_file_id)
        state.unlink(missing_ok=True)
        latency = time.monotonic() - started
        return [self._generation(cid, replies.get(cid), errors.get(cid), batch.status, batch_id, latency)
                for cid in request.custom_ids]

    def _submit(self, request: BatchRequest, state: Path) -> str:
        uploaded = self._client.files.create(file=(f"lanhar-{request.key}.jsonl", request.payload), purpose="batch")
        batch = self._client.batches.create(
            input_file_id=uploaded.id, endpoint=ENDPOINT, completion_window="24h",
            metadata={"source": "lanhar-studio", "requests": str(len(request.custom_ids))},
        )
        state.parent.mkdir(parents=True, exist_ok=True)
        state.write_text(json.dumps({"batch_id": batch.id, "input_file_id": uploaded.id,
                                     "requests": len(request.custom_ids), "created": time.time()}), encoding="utf-8")
        return str(batch.id)

    def _lines(self, file_id: str | None) -> dict[str, dict[str, Any]]:
        if not file_id:
            return {}
        text = self._client.files.content(file_id).text
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        return {str(row["custom_id"]): row for row in rows}

    def _generation(
        self, custom_id: str, reply: dict[str, Any] | None, error: dict[str, Any] | None, status: str, batch_id: str,
        latency: float,
    ) -> Generation:
        response = (reply or {}).get("response") or {}
        if response.get("status_code") == 200:
            try:
                text, prompt_tokens, completion_tokens = self._extract(response.get("body") or {})
            except ValueError as exc:
                return Generation("", False, f"malformed reply in batch {batch_id}: {exc}", latency_s=latency)
            cost = self._cost(prompt_tokens, completion_tokens) * BATCH_PRICE_FACTOR
            return Generation(text, True, None, prompt_tokens, completion_tokens, cost, latency)
        detail = (error or reply or {}).get("error") or (response.get("body") or {}).get("error") or {}
        message = detail.get("message") or detail.get("code") or f"no reply (batch {status})"
        return Generation("", False, f"batch {batch_id} ({status}): {message}", latency_s=latency)
