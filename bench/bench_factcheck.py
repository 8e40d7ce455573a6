"""Fact checker: catch rate on corrupted `rules` texts, false alarms on correct ones, contradictions in LLM texts.

Windows come from the real datasets in ../shared/data (UCI HAPT and MotionSense, a few
subjects each, 20 Hz, 120-sample windows). For each window the `rules` writer produces
the correct text; a corrupted copy then gets one change:
- numeric: one number of the text (any number with a unit or after a keyword, whether the
  checker parses it or not) multiplied by a factor (x0.4 or x2.5, and a mild x1.3 row to
  show the tolerance); a zero becomes a plausible non-zero value;
- verbal: one level word replaced by a far one (e.g. "moderate intensity" -> "very low
  intensity", "periodic" -> "aperiodic", "stable orientation" -> "large orientation change").
Catch rate = share of corrupted texts with at least one contradiction, split by moving
and still windows (on a motionless window a x2.5 change of a near-zero number, e.g. body RMS
0.03 -> 0.08 m/s^2, stays inside the absolute tolerance on purpose); false-alarm rate =
share of correct texts with one. Then, if the store (``--home`` or $LANHAR_HOME) holds a
collection written by the `local` backend (SmolLM2), its texts are checked against their
windows' features: contradictions per text.

Run: .venv/bin/python bench/bench_factcheck.py [--subjects 3] [--home DIR]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lanhar_core.data.readers import hapt, motionsense  # noqa: E402
from lanhar_core.data.resample import resample_recording  # noqa: E402
from lanhar_core.data.windowing import make_windows  # noqa: E402
from lanhar_core.llm.rules_backend import STILL_BODY_RMS_MPS2, describe_features  # noqa: E402
from lanhar_core.quality.factcheck import analyse  # noqa: E402
from lanhar_core.signal.features import window_features  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
RATE = 20.0
_NUMBER = re.compile(r"(?<![\w.^/|-])(\d+(?:\.\d+)?)(?![\d.]*-[a-z])")
_HEADING = re.compile(r"^\d+\.\s", re.MULTILINE)
SWAPS: tuple[tuple[str, str], ...] = (
    (r"\b(very low|low) intensity", "high intensity"),
    (r"\b(moderate|high|very high) intensity", "very low intensity"),
    (r"intensity is (very low|low)\b", "intensity is high"),
    (r"intensity is (moderate|high|very high)\b", "intensity is very low"),
    (r"\bhorizontal-dominant", "strongly vertical-dominant"),
    (r"\bstrongly vertical-dominant", "horizontal-dominant"),
    (r"\b(?<!a)periodic\b", "aperiodic"),
    (r"\baperiodic\b", "periodic"),
    (r"\bstable orientation", "large orientation change"),
    (r"\b(negligible|mild) rotation|rotation is negligible", "strong rotation"),
    (r"\b(moderate|strong) rotation", "negligible rotation"),
    (r"\bno vertical impacts", "strong vertical impacts"),
    (r"\b(moderate|strong|very strong) vertical impact", "no vertical impact"),
    (r"\b(slow|steady) cadence", "very fast cadence"),
    (r"\b(fast|very fast|brisk) cadence", "slow cadence"),
    (r"essentially motionless", "moving vigorously"),
)


def load_windows(subjects: int) -> tuple[np.ndarray, list[str]]:
    signals, labels = [], []
    sources = (
        (hapt, SHARED / "hapt", list(range(1, subjects + 1)), {}),
        (motionsense, SHARED / "motionsense", [str(s) for s in range(1, subjects + 1)], {}),
    )
    for reader, path, subs, kw in sources:
        if not path.exists():
            print(f"skipping {path} (absent)")
            continue
        for rec in reader.read(path, subjects=subs, **kw):
            w = make_windows(resample_recording(rec, RATE), 120, 60)
            signals.append(w.signals)
            labels += [str(x) for x in w.labels]
    if not signals:
        raise SystemExit(f"no real data under {SHARED}")
    return np.concatenate(signals), labels


def corrupt_number(text: str, factor: float, rng: np.random.Generator) -> str | None:
    headings = {m.start() for m in _HEADING.finditer(text)}
    spots = [m for m in _NUMBER.finditer(text) if m.start() not in headings]
    if not spots:
        return None
    m = spots[int(rng.integers(len(spots)))]
    value = float(m.group(1))
    new = value * factor if value != 0 else 1.5
    decimals = len(m.group(1).split(".")[1]) if "." in m.group(1) else 0
    return text[: m.start()] + f"{new:.{max(decimals, 1)}f}" + text[m.end() :]


def corrupt_level(text: str, rng: np.random.Generator) -> str | None:
    options = [(p, r) for p, r in SWAPS if re.search(p, text)]
    if not options:
        return None
    pattern, replacement = options[int(rng.integers(len(options)))]
    return re.sub(pattern, replacement, text, count=1)


def _rate(flags: list[bool]) -> str:
    return f"{np.mean(flags):.3f}" if flags else "n/a"


def rules_table(subjects: int, seed: int) -> None:
    start = time.time()
    x, labels = load_windows(subjects)
    rng = np.random.default_rng(seed)
    feats = [window_features(w, RATE) for w in x]
    texts = [describe_features(f) for f in feats]
    clean_alarm, clean_claims = [], []
    kinds = ("numeric x0.4 / x2.5", "numeric x1.3", "verbal level swap")
    rows: dict[str, list[bool]] = {f"{k} ({m})": [] for k in kinds for m in ("moving", "still")}
    per_label: Counter = Counter()
    for f, text, lab in zip(feats, texts, labels):
        motion = "moving" if f["body_acc_rms_mps2"] >= STILL_BODY_RMS_MPS2 else "still"
        claims, found = analyse(text, f)
        clean_alarm.append(bool(found))
        clean_claims.append(len(claims))
        per_label[lab] += 1
        big = corrupt_number(text, float(rng.choice([0.4, 2.5])), rng)
        small = corrupt_number(text, 1.3, rng)
        verbal = corrupt_level(text, rng)
        for kind, bad in zip(kinds, (big, small, verbal)):
            if bad is not None and bad != text:
                rows[f"{kind} ({motion})"].append(bool(analyse(bad, f)[1]))
    print(f"rules texts on {len(texts)} real windows ({dict(per_label)}); {time.time() - start:.0f} s")
    print(f"{'set':<38}{'texts':>7}{'flagged':>9}{'rate':>8}")
    print(f"{'correct texts (false alarms)':<38}{len(clean_alarm):>7}{sum(clean_alarm):>9}{_rate(clean_alarm):>8}")
    for key, flags in rows.items():
        print(f"{'catch: ' + key:<38}{len(flags):>7}{sum(flags):>9}{_rate(flags):>8}")
    print(f"claims understood per correct text: {np.mean(clean_claims):.1f}")


def llm_table(home: Path | None) -> None:
    from lanhar_core.config import load_settings
    from lanhar_core.quality.runs import features_by_window
    from storage import interpretations as store_it
    from storage.db import Store

    settings = load_settings(home)
    if not settings.db_path.exists():
        print(f"\nno store at {settings.db_path}: no LLM texts to check")
        return
    store = Store(settings.db_path)
    collections = store_it.list_collections(store)
    local = [c for c in collections["collection"] if str(c).startswith("local:")] if len(collections) else []
    if not local:
        print(f"\nno `local` (SmolLM2) collection in {settings.db_path}; write one with `lanhar interpret windows --backend local`")
        return
    print(f"\n{'collection':<40}{'texts':>7}{'claims/text':>13}{'contra/text':>13}{'share contradicted':>20}")
    for name in local:
        frame = store_it.current_window_interpretations(store, name)
        frame = frame[frame["valid"].astype(bool)]
        features = features_by_window(store, frame, name)
        claims, found = zip(*(analyse(t, features[int(w)]) for t, w in zip(frame["text"], frame["window_id"])))
        rules = Counter(c.rule.split(":")[0] for cs in found for c in cs)
        kinds = Counter(c.kind for cs in found for c in cs)
        print(f"{name:<40}{len(frame):>7}{np.mean([len(c) for c in claims]):>13.2f}{np.mean([len(c) for c in found]):>13.2f}"
              f"{np.mean([bool(c) for c in found]):>20.3f}")
        print("  contradictions by kind:", dict(kinds.most_common()))
        print("  contradictions by rule:", dict(rules.most_common()))
        print("  texts with a unit-nonsense / repeated-point / unmatched-number finding:",
              " / ".join(str(sum(any(c.kind == k for c in cs) for cs in found)) for k in ("unit", "repeat", "unmatched")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=3, help="subjects per dataset (default 3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--home", type=Path, help="LANHAR_HOME whose store may hold SmolLM2 interpretations")
    args = parser.parse_args()
    rules_table(args.subjects, args.seed)
    llm_table(args.home)


if __name__ == "__main__":
    main()
