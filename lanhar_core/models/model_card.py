"""MODEL_CARD.md of the shipped recognizer, rendered from what the build and the bench recorded.

The card is generated, never edited by hand, so its numbers are always the ones measured
on the files beside it: the build's ``recognizer.json`` (data, licences, runs, held-out
window accuracy) and, once ``bench/bench_default.py`` has run, its ``measurements.json``
(segment-level accuracy, phone-export layouts, upload-to-timeline time).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CARD_FILE = "MODEL_CARD.md"
MEASUREMENTS_FILE = "measurements.json"

_RESEARCH_TERMS = ("research", "commercial use is prohibited", "prohibits commercial", "non-commercial")


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    def cell(v: Any) -> str:
        return f"{v:.3f}" if isinstance(v, float) else str(v)

    return ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)] + [
        "| " + " | ".join(cell(v) for v in row) + " |" for row in rows
    ]


def research_only(dataset: dict[str, Any]) -> bool:
    """Whether a dataset's terms restrict use to research (or forbid commercial use)."""
    text = f"{dataset.get('licence', '')} {dataset.get('source_licence', '')}".lower()
    return any(term in text for term in _RESEARCH_TERMS)


def load_measurements(directory: Path) -> dict[str, Any]:
    path = directory / MEASUREMENTS_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def render_card(meta: dict[str, Any], build: dict[str, Any], measurements: dict[str, Any], sizes: dict[str, int]) -> str:
    """The card's Markdown text."""
    datasets = meta["datasets"]
    trained = meta["trained_labels"]
    restricted = [d["name"] for d in datasets if research_only(d)]
    te = meta["text_encoder"]
    lines = [
        "# Default recognizer (shipped with LanHAR Studio)",
        "",
        f"Built {meta['built_at']} by `lanhar models build-default` (code {meta['code_version']}); "
        f"stage-1 run {meta['runs']['text']}, stage-2 run {meta['runs']['sensor']} in the build's store.",
        "Rebuild: `lanhar models build-default` (see `--help` for the budgets). Generated file: do not edit.",
        "",
        "## What it is",
        f"A sensor encoder ({meta['encoder']['preset']} preset, {meta['encoder']['input_frame']} frame) aligned to a "
        f"fine-tuned MiniLM ({te['base']}, {te['max_length']} tokens); recognition is cosine similarity to label "
        f"embeddings, calibrated with temperature {meta['temperature']:.3f}. Input: 6-axis IMU (acc m/s^2 with gravity, "
        f"gyro rad/s), resampled to {meta['preprocessing']['rate_hz']:g} Hz, windows of "
        f"{meta['preprocessing']['window_samples']} samples "
        f"({meta['preprocessing']['window_samples'] / meta['preprocessing']['rate_hz']:g} s). Interpretations were written by "
        f"the rule-based writer ({meta['interpretations']}), not an LLM.",
        "",
        "## Training data and licences",
        "",
        *_table(
            ["dataset", "placement", "trained subjects", "held-out subjects", "training windows", "licence"],
            [[d["title"], d["placement"], len(d["train_subjects"]), ", ".join(d["held_out_subjects"]), d["train_windows"],
              d["licence"]] for d in datasets],
        ),
        "",
    ]
    for d in datasets:
        if d.get("source_licence"):
            lines += [f"- **{d['name']}** (from its SOURCE.md): {d['source_licence']}"]
    lines += [""]
    if restricted:
        lines += [
            f"**Terms:** {', '.join(restricted)} are distributed for research use (or forbid commercial use). A model "
            "trained on them inherits those terms: use this default recognizer for research and demonstration only.",
            "",
        ]
    lines += [
        "## Placements covered",
        ", ".join(sorted({d["placement"] for d in datasets})) + ". Recordings from other placements (wrist, hand, bag, "
        "arm) are outside the training data; the app says so when such a placement is chosen.",
        "",
        "## Labels",
        "Trained on: " + ", ".join(trained) + ".",
        f"Described (usable, never trained on windows): {len(meta['labels']) - len(trained)} more vocabulary activities "
        "(" + ", ".join(n for n in meta["labels"] if n not in trained) + "). Recognising them relies on the text "
        "description alone; expect much lower accuracy than for the trained ones.",
        "",
        "## Measured accuracy",
        "Window level, stored windows of the held-out subjects, each dataset among its own activities (no "
        "'unknown'; chance is 1 / labels), measured by the build:",
        "",
        *_table(
            ["dataset", "labels", "windows", "accuracy", "macro-F1"],
            [[spec, r["labels"], r["windows"], r["accuracy"], r["macro_f1"]] for spec, r in meta["held_out_accuracy"].items()],
        ),
        "",
    ]
    if measurements:
        lines += [
            f"Full recordings of the held-out subjects (`{measurements['command']}`), recognised as an upload is: "
            "per-window accuracy (before smoothing) and time-weighted segment accuracy (the app's smoothing), among "
            "each dataset's own activities, 'unknown' (top probability below the threshold) counted as wrong; the "
            "same recordings also exported as a Sensor Logger and a phyphox file and imported back.",
            "",
            *_table(
                ["dataset", "layout", "recordings", "windows", "window accuracy", "segment accuracy (time-weighted)"],
                [[r["dataset"], r["layout"], r["recordings"], r["windows"], r["window_accuracy"], r["segment_accuracy"]]
                 for r in measurements["rows"]],
            ),
            "",
            f"Upload to timeline for a {measurements['timing']['duration_s'] / 60:.0f}-minute recording "
            f"({measurements['timing']['layout']}): {measurements['timing']['seconds']:.1f} s on "
            f"{measurements['timing']['machine']} (import, recognition and smoothing)"
            + (f"; {measurements['timing']['page_seconds']:.1f} s for the Recognize page to show it (upload to "
               "rendered timeline, headless AppTest)." if "page_seconds" in measurements["timing"] else "."),
            "",
        ]
    lines += [
        "## What it does not know",
        "- Activities outside the trained list are recognised from their description only, and so is every label "
        "a user adds.",
        "- Placements other than the ones above, devices with other axes or sign conventions than the readers "
        "convert to (Android convention), and sampling below "
        f"{meta['preprocessing']['rate_hz']:g} Hz.",
        "- Transitions (sit-to-stand and the like) were left out of training; they show up as one of their neighbours "
        "or as 'unknown'.",
        "- How the device sits on the body, when a recording has no walking in it: the model reads postures in the "
        "worn segment's frame, found from the recording's own steps; a seated-only or single-activity file keeps "
        "its device axes and is often wrong (the app and the CLI warn). This is why the full-recording accuracy of "
        "MotionSense, USC-HAD and DSADS, recorded one activity per file, is far below their stored-window accuracy, "
        "which finds the frame from all of a person's recordings; HAPT's recordings contain walking.",
        f"- Windows whose best probability is below {meta['threshold']:g} are answered 'unknown'.",
        "",
        "## Files",
        "",
        *_table(["file", "bytes"], [[name, size] for name, size in sizes.items()]),
        "",
        f"Total {sum(sizes.values()) / 2**20:.1f} MB (budget 30 MB). The text encoder ships as the float16 difference of the "
        f"fine-tuned tensors to the installed {te['base']}; rebuilding it changes embeddings by at most "
        f"{build.get('text_delta_max_abs_diff', float('nan')):.1e} (max abs).",
        "",
    ]
    return "\n".join(lines)


def write_card(directory: Path, meta: dict[str, Any], build: dict[str, Any]) -> Path:
    """(Re)write ``MODEL_CARD.md`` from ``meta``, ``build`` extras and any ``measurements.json``.

    ``build`` is also kept in ``measurements.json``'s sibling ``build.json`` so the bench
    can re-render the card without rebuilding.
    """
    (directory / "build.json").write_text(json.dumps(build, indent=2), encoding="utf-8")
    sizes = {p.name: p.stat().st_size for p in sorted(directory.iterdir()) if p.is_file() and p.name != CARD_FILE}
    path = directory / CARD_FILE
    path.write_text(render_card(meta, build, load_measurements(directory), sizes), encoding="utf-8")
    return path


def rewrite_card(directory: Path, meta: dict[str, Any]) -> Path:
    """Re-render the card after new measurements, keeping the build's extras."""
    build = json.loads((directory / "build.json").read_text(encoding="utf-8")) if (directory / "build.json").exists() else {}
    return write_card(directory, meta, build)
