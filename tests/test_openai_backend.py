"""The ``openai`` backend end to end over real HTTP.

``tests/fake_llm_server.py`` runs a chat-completions server on 127.0.0.1 (ephemeral port,
in a thread): it stands in for the remote LLM API (OpenAI, Ollama, vLLM, ...) that we
cannot reach here. The backend talks to it through the real ``openai`` client, so the
request/response protocol, headers, status codes and timeouts are all exercised for real.
Timeouts and backoff are kept small (0.5 s, 10 ms) so the module stays fast.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from lanhar_core.config import LLMSettings, Settings, with_overrides
from lanhar_core.errors import BackendError, CancelledError
from lanhar_core.interpret import interpret_windows
from lanhar_core.jobs import Progress
from lanhar_core.llm.base import GenerationContext, PromptSpec
from lanhar_core.llm.openai_backend import OpenAIBackend, public_url, retry_after_s
from lanhar_core.llm.registry import make_backend
from storage import interpretations as it
from storage.db import Store

from fake_llm_server import BatchPlan, FakeLLMServer, Reply
from window_fixtures import add_toy_dataset

KEY = "sk-test-do-not-store-0123456789"

VALID = "\n".join(
    f"{i}. {name}: value {i}, described in numbers first and then in words."
    for i, name in enumerate(
        ["Strength", "Axis dominance", "Rhythm", "Waveform shape", "Posture and drift", "Gyro-acc sync", "Vertical impact"],
        start=1,
    )
)


def _spec(i: int = 0) -> PromptSpec:
    return PromptSpec(
        messages=[{"role": "system", "content": "You analyse IMU data."}, {"role": "user", "content": f"window {i}"}],
        template="window",
        version="test-1",
        context=GenerationContext.for_label("walk", "walking", i),
    )


def _llm(base_url: str, **kw: Any) -> LLMSettings:
    values = dict(
        backend="openai", base_url=base_url, model="fake-model", timeout_s=0.5, max_retries=3, concurrency=2,
        retry_backoff_s=0.01, max_retry_after_s=2.0, api_key=KEY, price_in_per_mtok=1.0, price_out_per_mtok=2.0,
    )
    values.update(kw)
    return LLMSettings(**values)


def _sequence(*replies: Reply):
    def script(n: int, _: dict[str, Any]) -> Reply:
        return replies[n] if n < len(replies) else Reply()

    return script


def test_normal_reply_with_usage_cost_and_key() -> None:
    with FakeLLMServer(lambda body: VALID) as server:
        [gen] = OpenAIBackend(_llm(server.base_url)).generate([_spec()])
    assert gen.ok and gen.text == VALID and gen.error is None
    assert gen.prompt_tokens > 0 and gen.completion_tokens > 0
    assert gen.cost_usd == pytest.approx((gen.prompt_tokens * 1.0 + gen.completion_tokens * 2.0) / 1e6)
    body = server.requests[0]
    assert body["model"] == "fake-model" and body["messages"] == _spec().messages
    assert server.headers[0]["authorization"] == f"Bearer {KEY}"


def test_rate_limit_honours_retry_after_then_succeeds() -> None:
    script = _sequence(Reply(status=429, headers={"Retry-After": "1"}))
    with FakeLLMServer(lambda body: VALID, script) as server:
        started = time.monotonic()
        [gen] = OpenAIBackend(_llm(server.base_url)).generate([_spec()])
        elapsed = time.monotonic() - started
    assert gen.ok and len(server.requests) == 2
    assert elapsed >= 1.0


def test_timeout_then_success() -> None:
    script = _sequence(Reply(delay_s=1.0))
    with FakeLLMServer(lambda body: VALID, script) as server:
        [gen] = OpenAIBackend(_llm(server.base_url)).generate([_spec()])
    assert gen.ok and len(server.requests) == 2


@pytest.mark.parametrize("raw", [b"{not json", b'{"id": "x", "object": "chat.completion"}', b'{"choices": []}'])
def test_malformed_reply_is_retried(raw: bytes) -> None:
    with FakeLLMServer(lambda body: VALID, _sequence(Reply(raw_body=raw))) as server:
        [gen] = OpenAIBackend(_llm(server.base_url)).generate([_spec()])
    assert gen.ok and len(server.requests) == 2


def test_persistent_failure_is_reported_per_item_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def script(n: int, body: dict[str, Any]) -> Reply:
        if body["messages"][-1]["content"] == "window 1":
            return Reply(raw_body=b'{"choices": []}')
        return Reply()

    with FakeLLMServer(lambda body: VALID, script) as server:
        gens = OpenAIBackend(_llm(server.base_url, max_retries=2)).generate([_spec(0), _spec(1), _spec(2)])
    assert [g.ok for g in gens] == [True, False, True]
    assert "malformed reply" in gens[1].error and "gave up after 3 attempts" in gens[1].error
    assert KEY not in caplog.text


def test_server_error_retried_client_error_not() -> None:
    script = _sequence(Reply(status=503), Reply(), Reply(status=401))
    with FakeLLMServer(lambda body: VALID, script) as server:
        backend = OpenAIBackend(_llm(server.base_url, concurrency=1))
        first = backend.generate([_spec()])[0]
        second = backend.generate([_spec()])[0]
    assert first.ok
    assert not second.ok and "HTTP 401" in second.error and len(server.requests) == 3
    assert KEY not in second.error


def test_concurrency_is_bounded() -> None:
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def script(n: int, body: dict[str, Any]) -> Reply:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return Reply()

    with FakeLLMServer(lambda body: body["messages"][-1]["content"], script) as server:
        gens = OpenAIBackend(_llm(server.base_url, concurrency=3)).generate([_spec(i) for i in range(9)])
    assert [g.text for g in gens] == [f"window {i}" for i in range(9)]
    assert state["peak"] == 3


def test_cancel_stops_before_sending() -> None:
    progress = Progress()
    progress.cancel_event.set()
    with FakeLLMServer(lambda body: VALID) as server:
        gens = OpenAIBackend(_llm(server.base_url)).generate([_spec(0), _spec(1)], progress)
    assert not any(g.ok for g in gens) and server.requests == []


def test_helpers() -> None:
    assert public_url("https://user:pw@api.example.com:8443/v1?key=abc") == "https://api.example.com:8443/v1"
    assert retry_after_s({"retry-after": "3"}) == 3.0
    assert retry_after_s({"retry-after-ms": "250"}) == 0.25
    assert retry_after_s({}) is None


# --- through the interpretation pipeline and the store -------------------------------------


def _settings(settings: Settings, base_url: str, **kw: Any) -> Settings:
    llm = _llm(base_url, **kw)
    return with_overrides(settings, "llm", **{k: getattr(llm, k) for k in llm.__dataclass_fields__})


def _dump_store(store: Store) -> str:
    with store.connect() as conn:
        tables = [r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables").fetchall()]
        return "\n".join(str(conn.execute(f'SELECT * FROM "{t}"').fetchall()) for t in tables)


def test_invalid_replies_are_stored_with_reason_and_retried(settings: Settings, store: Store) -> None:
    add_toy_dataset(store, n_windows=2)
    replies = iter(["1. Strength: strong, like walking.\n" + VALID.split("\n", 1)[1], "1. Strength: only one section"])

    def responder(body: dict[str, Any]) -> str:
        return next(replies, VALID)

    with FakeLLMServer(responder) as server:
        s = _settings(settings, server.base_url, concurrency=1, invalid_retries=2)
        report = interpret_windows(store, s, "toy", OpenAIBackend(s.llm))
    assert report.done == 2 and report.valid_share == 1.0
    rows = it.export_rows(store, "openai:fake-model")
    reasons = [r["invalid_reason"] for r in rows if r["invalid_reason"]]
    assert any("names an activity" in r for r in reasons) and any("missing section" in r for r in reasons)
    assert report.invalid_reasons == {"names an activity": 1, "missing section(s)": 1}
    assert len(rows) == 4 and len(server.requests) == 4
    assert {r["parent_id"] for r in rows if r["version"] == 2} <= {r["id"] for r in rows}


def test_invalid_replies_stop_after_the_retry_limit(settings: Settings, store: Store) -> None:
    add_toy_dataset(store, n_windows=1)
    with FakeLLMServer(lambda body: "I think the person is walking.") as server:
        s = _settings(settings, server.base_url, invalid_retries=2)
        report = interpret_windows(store, s, "toy", OpenAIBackend(s.llm))
    assert report.done == 1 and report.valid_share == 0.0 and len(server.requests) == 3
    current = it.current_window_interpretations(store, "openai:fake-model")
    assert not current["valid"].iloc[0] and current["version"].iloc[0] == 3


def test_server_dies_mid_run_then_resume_writes_nothing_twice(settings: Settings, store: Store) -> None:
    add_toy_dataset(store, n_windows=10)
    first = FakeLLMServer(lambda body: VALID, max_requests=5).start()
    s = _settings(settings, first.base_url, concurrency=1, batch_size=2, max_retries=1)
    with pytest.raises(BackendError, match="re-run the same command to resume"):
        interpret_windows(store, s, "toy", OpenAIBackend(s.llm))
    first.stop()
    # Batches 1-2 succeed; batch 3 gets one reply before the server dies (stored, the run goes
    # on); batch 4 fails entirely, which stops the run.
    done_before = it.current_window_interpretations(store, "openai:fake-model")
    assert len(done_before) == 5

    with FakeLLMServer(lambda body: VALID, port=first.port) as second:
        report = interpret_windows(store, s, "toy", OpenAIBackend(s.llm))
    assert report.skipped == 5 and report.done == 5 and len(second.requests) == 5
    rows = it.export_rows(store, "openai:fake-model")
    assert len(rows) == 10 and all(r["version"] == 1 for r in rows)
    assert KEY not in _dump_store(store)


def test_identical_prompts_are_served_from_cache(settings: Settings, store: Store) -> None:
    add_toy_dataset(store, n_windows=3, identical=True)
    with FakeLLMServer(lambda body: VALID) as server:
        s = _settings(settings, server.base_url)
        report = interpret_windows(store, s, "toy", OpenAIBackend(s.llm))
        again = interpret_windows(store, s, "toy", OpenAIBackend(s.llm), collection="second")
    assert report.done == 3 and len(server.requests) == 1
    assert report.cached == 2 and again.cached == 3
    assert again.cost_usd == 0.0 and report.cost_usd > 0



def _batch_settings(settings: Settings, base_url: str, **kw: Any) -> Settings:
    return _settings(settings, base_url, mode="batch", batch_poll_s=0.0, batch_size=100, **kw)


def test_batch_mode_stores_the_same_records_and_cache_as_the_synchronous_path(settings: Settings, store: Store) -> None:
    add_toy_dataset(store, n_windows=4)
    with FakeLLMServer(lambda body: VALID, batch_plan=BatchPlan(polls_in_progress=2)) as server:
        s = _batch_settings(settings, server.base_url)
        report = interpret_windows(store, s, "toy", make_backend(s))
    assert report.done == 4 and report.valid_share == 1.0 and report.cached == 0
    assert server.requests == [] and len(server.batches) == 1
    assert server.batch_calls[:2] == ["POST /v1/files", "POST /v1/batches"]
    assert server.batch_calls.count("GET /v1/batches/batch_1") == 3
    [batch] = server.batches.values()
    assert batch["body"]["endpoint"] == "/v1/chat/completions" and batch["body"]["completion_window"] == "24h"
    assert {line["body"]["model"] for line in batch["lines"]} == {"fake-model"}
    rows = it.export_rows(store, "openai:fake-model")
    assert len(rows) == 4 and all(r["valid"] for r in rows)
    assert report.cost_usd == pytest.approx(sum(r["cost_usd"] for r in rows)) and report.cost_usd > 0
    with FakeLLMServer(lambda body: VALID, port=server.port) as sync_server:
        again = interpret_windows(store, _settings(settings, sync_server.base_url), "toy",
                                  OpenAIBackend(_llm(sync_server.base_url)), collection="second")
    assert again.cached == 4 and sync_server.requests == []
    assert list((s.cache_dir / "openai-batches").glob("*.json")) == []


def test_an_expired_batch_keeps_its_answers_and_a_rerun_submits_only_the_rest(settings: Settings, store: Store) -> None:
    add_toy_dataset(store, n_windows=5)
    with FakeLLMServer(lambda body: VALID, batch_plan=BatchPlan(outcome="expired", answered=3)) as server:
        s = _batch_settings(settings, server.base_url, invalid_retries=0)
        report = interpret_windows(store, s, "toy", make_backend(s))
    assert report.done == 3 and report.failed == 2
    assert any("expired" in e and "window expired" in e for e in report.errors)
    assert len(it.current_window_interpretations(store, "openai:fake-model")) == 3
    with FakeLLMServer(lambda body: VALID, port=server.port) as server:
        again = interpret_windows(store, s, "toy", make_backend(s))
    assert again.skipped == 3 and again.done == 2
    assert [len(b["lines"]) for b in server.batches.values()] == [2]


def test_a_stopped_run_resumes_the_same_batch_instead_of_paying_twice(settings: Settings, store: Store) -> None:
    add_toy_dataset(store, n_windows=3)
    cancel = threading.Event()
    with FakeLLMServer(lambda body: VALID, batch_plan=BatchPlan(polls_in_progress=3)) as server:
        s = _batch_settings(settings, server.base_url)
        backend = OpenAIBackend(s.llm, sleep=lambda _: cancel.set(), batch_dir=s.cache_dir / "openai-batches")
        with pytest.raises(CancelledError):
            interpret_windows(store, s, "toy", backend, progress=Progress(cancel_event=cancel))
        assert len(it.current_window_interpretations(store, "openai:fake-model")) == 0
        [state] = (s.cache_dir / "openai-batches").glob("*.json")
        assert json.loads(state.read_text())["batch_id"] == "batch_1"
        report = interpret_windows(store, s, "toy", make_backend(s))
    assert report.done == 3 and report.valid_share == 1.0
    assert len(server.batches) == 1 and server.batch_calls.count("POST /v1/batches") == 1
    assert not state.exists()


def test_a_label_a_user_adds_is_described_by_the_configured_backend_for_every_segment(settings: Settings) -> None:
    """``lanhar labels add NAME`` without --description: the LLM writes the placement-independent descriptions and
    one set per body segment, each prompt naming its segment (local server speaking the OpenAI protocol)."""
    from lanhar_core.interpret import describe_new_label
    from lanhar_core.llm.registry import make_backend

    reply = "1. General description: Salsa is a partner dance.\n2. Sensor patterns: rhythmic steps.\n3. Body parts: legs."
    with FakeLLMServer(lambda body: reply) as server:
        s = with_overrides(_settings(settings, server.base_url), "llm", label_descriptions=2)
        texts = describe_new_label(s, make_backend(s), "salsa", "dancing salsa")
        prompts = [r["messages"][-1]["content"] for r in server.requests]
    assert len(texts) == 8 and set(texts) == {reply}
    assert sum("worn on the thigh" in p for p in prompts) == 2 and sum("worn on the" not in p for p in prompts) == 2
    assert all("dancing salsa" in p for p in prompts)
