"""The ``openai`` backend: any OpenAI-compatible chat-completions endpoint.

OpenAI itself, Ollama, vLLM, LM Studio and llama.cpp's server all speak the same protocol,
so one client covers them; ``Settings.llm`` holds the base URL, model and prices, the key
comes only from the environment. The client's own retries are switched off and replaced
by ours, because we need to honour Retry-After, treat malformed bodies as retryable and,
above all, turn every final failure into a ``Generation(ok=False)`` for that prompt alone:
a batch of 32 windows must not be lost because one request failed. The key is never put
into parameters, results or error messages (it is redacted from server error text).
With ``llm.mode = 'batch'`` the same requests go through OpenAI's Batch API instead
(``openai_batch``): one upload per pipeline batch, polled until answered, half the price.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import urlsplit, urlunsplit

import openai
from openai import OpenAI

from lanhar_core.config import LLMSettings
from lanhar_core.errors import ConfigError
from lanhar_core.jobs import Progress
from lanhar_core.llm.base import Generation, PromptSpec, cap_reply
from lanhar_core.llm.openai_batch import BatchRunner

log = logging.getLogger(__name__)

_RETRYABLE_STATUS = {408, 409, 425, 429}


class MalformedReplyError(ValueError):
    """A 200 reply whose body is not a usable chat completion (no choices, no text)."""


def public_url(url: str) -> str:
    """``url`` without user info, query or fragment: safe to store and show."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def retry_after_s(headers: Any) -> float | None:
    """Seconds a server asked us to wait (``retry-after-ms``, or ``Retry-After`` in seconds or as a date)."""
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        if parsed is None:
            return None
        return max(0.0, parsed.timestamp() - time.time())


def _field(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)


def extract_completion(response: Any) -> tuple[str, int, int]:
    """(text, prompt tokens, completion tokens) of a chat completion: the client's object or its JSON body."""
    choices = _field(response, "choices")
    if not choices:
        raise MalformedReplyError("reply has no choices")
    message = _field(choices[0], "message")
    text = _field(message, "content") if message is not None else None
    if not isinstance(text, str):
        raise MalformedReplyError("reply's first choice has no message content")
    usage = _field(response, "usage")
    prompt_tokens = int((_field(usage, "prompt_tokens") if usage is not None else 0) or 0)
    completion_tokens = int((_field(usage, "completion_tokens") if usage is not None else 0) or 0)
    return text, prompt_tokens, completion_tokens


class OpenAIBackend:
    """Chat completions over HTTP with bounded concurrency and our own retry policy."""

    name = "openai"
    is_llm = True
    window_frame: Literal["device", "segment"] = "device"

    def __init__(
        self, llm: LLMSettings, sleep: Callable[[float], None] = time.sleep, batch_dir: Path | None = None
    ) -> None:
        """``batch_dir``: where batch mode (``llm.mode = 'batch'``) keeps the ids of batches to resume."""
        if not llm.base_url:
            raise ConfigError("llm.base_url is empty; set it to your endpoint, e.g. http://localhost:11434/v1 for Ollama")
        if not llm.model:
            raise ConfigError("llm.model is empty; set the model name your endpoint serves (LANHAR_LLM_MODEL)")
        self.model = llm.model
        self._llm = llm
        self._sleep = sleep
        self._key = llm.api_key
        self._client = OpenAI(
            base_url=llm.base_url,
            api_key=llm.api_key or "unused",
            timeout=llm.timeout_s,
            max_retries=0,
        )
        self._batch: BatchRunner | None = None
        if llm.mode == "batch":
            if batch_dir is None:
                raise ConfigError("llm.mode = 'batch' needs a folder for the batches' resume state; build it with make_backend")
            self._batch = BatchRunner(self._client, llm, batch_dir, extract_completion, self.cost_usd, sleep)

    def params(self) -> dict[str, Any]:
        return {
            "base_url": public_url(self._llm.base_url),
            "temperature": self._llm.temperature,
            "max_tokens": self._llm.max_tokens,
            "seed": self._llm.seed,
        }

    def cost_usd(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Estimated cost from the configured prices per million tokens."""
        return (prompt_tokens * self._llm.price_in_per_mtok + completion_tokens * self._llm.price_out_per_mtok) / 1e6

    def generate(self, specs: list[PromptSpec], progress: Progress | None = None) -> list[Generation]:
        """One generation per prompt, in order: concurrent requests, or one Batch API job in batch mode."""
        if not specs:
            return []
        if self._batch is not None:
            return self._batch.run(specs, progress)
        cancel = progress.cancel_event if progress is not None else threading.Event()
        workers = max(1, min(self._llm.concurrency, len(specs)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lanhar-openai") as pool:
            futures = [pool.submit(self._one, spec, cancel) for spec in specs]
            results = []
            for future in futures:
                results.append(future.result())
                if progress is not None:
                    progress.advance()
        return results

    def _redact(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text

    def _backoff(self, attempt: int) -> float:
        base = self._llm.retry_backoff_s * (2**attempt)
        return min(self._llm.max_retry_after_s, base * random.uniform(0.5, 1.0))

    def _one(self, spec: PromptSpec, cancel: threading.Event) -> Generation:
        started = time.monotonic()
        attempts = self._llm.max_retries + 1
        error = ""
        for attempt in range(attempts):
            if cancel.is_set():
                return Generation("", False, "cancelled before the request was sent", latency_s=time.monotonic() - started)
            wait: float | None = None
            try:
                response = self._client.chat.completions.create(
                    model=self.model,
                    messages=cast(Any, spec.messages),
                    temperature=self._llm.temperature,
                    max_tokens=self._llm.max_tokens,
                    seed=self._llm.seed,
                )
                text, prompt_tokens, completion_tokens = extract_completion(response)
                text, truncated_from = cap_reply(text, self._llm.max_reply_chars)
                return Generation(
                    text=text,
                    ok=True,
                    prompt_tokens=prompt_tokens,
                    completion_tokens=completion_tokens,
                    cost_usd=self.cost_usd(prompt_tokens, completion_tokens),
                    latency_s=time.monotonic() - started,
                    truncated_from_chars=truncated_from,
                )
            except openai.APIStatusError as exc:
                error = f"HTTP {exc.status_code} from {public_url(self._llm.base_url)}: {self._redact(str(exc.message))}"
                if exc.status_code not in _RETRYABLE_STATUS and exc.status_code < 500:
                    return Generation("", False, error, latency_s=time.monotonic() - started)
                wait = retry_after_s(exc.response.headers)
            except openai.APITimeoutError:
                error = f"no reply from {public_url(self._llm.base_url)} within {self._llm.timeout_s:g} s"
            except openai.APIConnectionError as exc:
                error = f"cannot reach {public_url(self._llm.base_url)}: {self._redact(str(exc.__cause__ or exc))}"
            except (MalformedReplyError, ValueError, openai.APIResponseValidationError) as exc:
                error = f"malformed reply: {self._redact(str(exc))}"
            log.warning("attempt %d/%d failed: %s", attempt + 1, attempts, error)
            if attempt + 1 < attempts:
                delay = self._backoff(attempt) if wait is None else min(wait, self._llm.max_retry_after_s)
                self._sleep(delay)
        return Generation("", False, f"{error} (gave up after {attempts} attempts)", latency_s=time.monotonic() - started)
