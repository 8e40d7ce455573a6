"""The interpretation store: append-only versions, the current view, reviews, edits, cache."""

from __future__ import annotations

import pandas as pd
import pytest

from lanhar_core.errors import NotFoundError
from storage import interpretations as it
from storage.db import Store

from window_fixtures import add_toy_dataset

COLLECTION = "rules:rules-v2"
PROMPT = it.PromptRecord(
    template="window", version="1", messages=[{"role": "user", "content": "describe the window"}], cache_key="k1"
)


def _add_windows(store: Store, n: int = 3) -> list[int]:
    return add_toy_dataset(store, n_windows=n)


def _item(window_id: int, text: str = "text", valid: bool = True, **kw) -> it.InterpretationIn:
    return it.InterpretationIn(
        collection=kw.pop("collection", COLLECTION),
        target_kind="window",
        window_id=window_id,
        text=text,
        backend="rules",
        model="rules-v2",
        valid=valid,
        invalid_reason=None if valid else "missing section 3",
        prompt=PROMPT,
        params={"temperature": 0.0},
        fields={"strength": "low"},
        **kw,
    )


def test_versions_chain_and_current_is_newest_valid(store: Store) -> None:
    w1, w2, _ = _add_windows(store)
    first = it.add_interpretation(store, _item(w1, "v1"))
    second, third = it.add_interpretations(store, [_item(w1, "v2 bad", valid=False), _item(w2, "other")])
    hist = it.history(store, COLLECTION, w1)
    assert list(hist["version"]) == [1, 2]
    assert list(hist["parent_id"].astype("Int64")) == [pd.NA, first]
    current = it.current_window_interpretations(store, COLLECTION)
    assert dict(zip(current["window_id"], current["text"])) == {w1: "v1", w2: "other"}
    assert current.loc[current["window_id"] == w1, "fields"].iloc[0] == {"strength": "low"}
    assert set(current["label"]) == {"walk", "sit"}
    newer = it.add_interpretation(store, _item(w1, "v3"))
    current = it.current_window_interpretations(store, COLLECTION, dataset="toy")
    assert current.loc[current["window_id"] == w1, "interpretation_id"].iloc[0] == newer
    assert second != third


def test_only_invalid_versions_current_is_newest(store: Store) -> None:
    (w1, *_) = _add_windows(store)
    it.add_interpretation(store, _item(w1, "a", valid=False))
    last = it.add_interpretation(store, _item(w1, "b", valid=False))
    current = it.current_window_interpretations(store, COLLECTION)
    assert current["interpretation_id"].tolist() == [last]
    assert not current["valid"].iloc[0]
    assert current["invalid_reason"].iloc[0] == "missing section 3"


def test_accepted_version_is_never_superseded_by_automatic_runs(store: Store) -> None:
    (w1, *_) = _add_windows(store)
    accepted = it.add_interpretation(store, _item(w1, "reviewed"))
    it.set_review(store, accepted, "accepted", "ana", "matches the plot")
    it.add_interpretation(store, _item(w1, "regenerated", origin="regenerated"))
    it.add_interpretation(store, _item(w1, "generated again"))
    current = it.current_window_interpretations(store, COLLECTION)
    assert current["interpretation_id"].tolist() == [accepted]
    assert current["review_status"].tolist() == ["accepted"]
    it.set_review(store, accepted, "unreviewed", "ana", "undo")
    current = it.current_window_interpretations(store, COLLECTION)
    assert current["text"].tolist() == ["generated again"]
    assert len(it.history(store, COLLECTION, w1)) == 3


def test_rejected_newest_falls_back_to_older_valid(store: Store) -> None:
    (w1, *_) = _add_windows(store)
    old = it.add_interpretation(store, _item(w1, "old"))
    new = it.add_interpretation(store, _item(w1, "new"))
    it.set_review(store, new, "rejected", "ana")
    current = it.current_window_interpretations(store, COLLECTION)
    assert current["interpretation_id"].tolist() == [old]


def test_edit_creates_accepted_version_with_reviewer_as_author(store: Store) -> None:
    (w1, *_) = _add_windows(store)
    original = it.add_interpretation(store, _item(w1, "fluent but wrong"))
    edited = it.edit_interpretation(store, original, "corrected text", "ana", note="fixed rhythm")
    record = it.get_interpretation(store, edited)
    assert record.origin == "edited" and record.review_status == "accepted"
    assert record.parent_id == original and record.version == 2
    assert record.backend == "reviewer" and record.model == "ana"
    assert record.prompt_messages == PROMPT.messages
    it.add_interpretation(store, _item(w1, "automatic"))
    current = it.current_window_interpretations(store, COLLECTION)
    assert current["interpretation_id"].tolist() == [edited]
    assert it.get_interpretation(store, original).text == "fluent but wrong"


def test_get_interpretation_returns_exact_prompt(store: Store) -> None:
    (w1, *_) = _add_windows(store)
    new_id = it.add_interpretation(store, _item(w1))
    record = it.get_interpretation(store, new_id)
    assert record.prompt_messages == PROMPT.messages
    assert record.prompt_template == "window" and record.prompt_version == "1"
    assert record.window_dataset == "toy" and record.window_label == "walk"
    assert record.params == {"temperature": 0.0}
    with pytest.raises(NotFoundError):
        it.get_interpretation(store, 999_999)
    with pytest.raises(NotFoundError):
        it.set_review(store, 999_999, "accepted", "ana")


def test_prompts_are_deduplicated_by_cache_key(store: Store) -> None:
    ids = _add_windows(store)
    it.add_interpretations(store, [_item(w) for w in ids])
    with store.connect() as conn:
        assert conn.execute("SELECT count(*) FROM prompts").fetchone()[0] == 1


def test_label_interpretations_and_collections(store: Store) -> None:
    (w1, *_) = _add_windows(store)
    it.add_interpretation(store, _item(w1))
    for index in range(2):
        it.add_interpretation(
            store,
            it.InterpretationIn(
                collection=COLLECTION, target_kind="label", label="walk", desc_index=index,
                text=f"walking {index}", backend="rules", model="rules-v2", valid=index == 0,
            ),
        )
    labels = it.current_label_interpretations(store, COLLECTION)
    assert labels[["label", "index"]].values.tolist() == [["walk", 0], ["walk", 1]]
    assert it.existing_label_targets(store, COLLECTION) == {("walk", 0), ("walk", 1)}
    collections = it.list_collections(store)
    row = collections.iloc[0]
    assert row["collection"] == COLLECTION and row["windows"] == 1 and row["label_descriptions"] == 2
    assert row["valid_share"] == pytest.approx(2 / 3)


def test_secrets_in_params_are_refused(store: Store) -> None:
    (w1, *_) = _add_windows(store)
    item = it.InterpretationIn(
        collection=COLLECTION, target_kind="window", window_id=w1, text="x", backend="openai", model="m",
        valid=True, params={"api_key": "sk-secret"},
    )
    with pytest.raises(ValueError, match="secrets"):
        it.add_interpretation(store, item)


def test_cache_roundtrip_and_no_duplicates(store: Store) -> None:
    entry = it.CacheEntry("k1", "openai", "m", it.params_hash({"t": 0.2}), "reply", 10, 5, 0.001)
    it.add_interpretations(store, [], cache=[entry])
    it.add_interpretations(store, [], cache=[entry])
    found = it.cached_replies(store, [("k1", "openai", "m", entry.params_hash), ("k2", "openai", "m", "x")])
    assert list(found.values()) == [entry]


def test_resumption_queries(store: Store) -> None:
    ids = _add_windows(store)
    it.add_interpretation(store, _item(ids[0], valid=False))
    assert it.dataset_window_ids(store, "toy") == ids
    assert it.dataset_window_ids(store, "toy", limit=2) == ids[:2]
    assert it.interpreted_window_ids(store, COLLECTION, "toy") == {ids[0]}
    assert it.interpreted_window_ids(store, COLLECTION) == {ids[0]}
    assert it.interpreted_window_ids(store, "other:collection", "toy") == set()
