"""LLM replies are capped before they are stored, and the cut is recorded with the text."""

from __future__ import annotations

import json

from test_openai_backend import VALID, _settings

from lanhar_core.config import Settings
from lanhar_core.interpret import interpret_windows
from lanhar_core.llm.base import cap_reply
from lanhar_core.llm.openai_backend import OpenAIBackend
from storage import interpretations as it
from storage.db import Store

from fake_llm_server import FakeLLMServer
from window_fixtures import add_toy_dataset


def test_a_200_kb_reply_is_stored_cut_with_the_cut_recorded(settings: Settings, store: Store) -> None:
    add_toy_dataset(store, n_windows=2)
    huge = VALID + "\n" + "x" * 200_000
    with FakeLLMServer(lambda body: huge) as server:
        s = _settings(settings, server.base_url, max_reply_chars=5000, invalid_retries=0)
        report = interpret_windows(store, s, "toy", OpenAIBackend(s.llm))
    rows = it.export_rows(store, "openai:fake-model")
    assert len(rows) == 2 and all(len(r["text"]) == 5000 for r in rows)
    params = [r["params"] if isinstance(r["params"], dict) else json.loads(r["params"]) for r in rows]
    assert all(p["reply_truncated_from_chars"] == len(huge) for p in params)
    assert report.truncated == 2


def test_short_replies_are_not_marked(settings: Settings, store: Store) -> None:
    add_toy_dataset(store, n_windows=1)
    with FakeLLMServer(lambda body: VALID) as server:
        s = _settings(settings, server.base_url)
        report = interpret_windows(store, s, "toy", OpenAIBackend(s.llm))
    [row] = it.export_rows(store, "openai:fake-model")
    params = row["params"] if isinstance(row["params"], dict) else json.loads(row["params"])
    assert row["text"] == VALID and "reply_truncated_from_chars" not in params and report.truncated == 0
    assert cap_reply("abcdef", 4) == ("abcd", 6) and cap_reply("abc", 4) == ("abc", 0)


def test_a_reviewer_regeneration_records_the_cut_too(settings: Settings, store: Store) -> None:
    from lanhar_core.llm.rules_backend import RulesBackend
    from lanhar_core.quality.runs import regenerate_one

    add_toy_dataset(store, n_windows=1)
    interpret_windows(store, settings, "toy", RulesBackend())
    [current] = it.current_window_interpretations(store, "rules:rules-v3")["interpretation_id"].tolist()
    with FakeLLMServer(lambda body: VALID + "y" * 50_000) as server:
        s = _settings(settings, server.base_url, max_reply_chars=3000)
        new_id = regenerate_one(store, int(current), OpenAIBackend(s.llm))
    stored = it.get_interpretation(store, new_id)
    assert len(stored.text) == 3000 and stored.params["reply_truncated_from_chars"] == len(VALID) + 50_000
