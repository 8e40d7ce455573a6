"""Pieces every CLI area shares: opening the store from ``--home`` and drawing progress."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from lanhar_core.config import Settings, load_settings
from storage.db import Store


def settings_from(args: argparse.Namespace) -> Settings:
    settings = load_settings(Path(args.home) if getattr(args, "home", None) else None)
    settings.ensure_dirs()
    return settings


def store_from(args: argparse.Namespace) -> Store:
    return Store(settings_from(args).db_path)


LOG_INTERVAL_S = 30.0
"""How often a progress line is written when stderr is not a terminal (a log file, CI)."""


@contextmanager
def progress_bar(description: str) -> Iterator:
    """A callback ``(done, total, message)`` drawing a tqdm bar on a terminal, log lines elsewhere.

    Without a terminal tqdm draws nothing, and a benchmark sent to a log file would be
    silent for an hour; there a plain line is written every ``LOG_INTERVAL_S`` and at the end.
    """
    if not sys.stderr.isatty():
        yield _progress_lines(description)
        return
    bar = tqdm(desc=description, unit="it", file=sys.stderr, dynamic_ncols=True)

    def callback(done: int, total: int | None, message: str) -> None:
        if total is not None and bar.total != total:
            bar.total = total
        bar.n = done
        if message:
            bar.set_postfix_str(message[:60], refresh=False)
        bar.refresh()

    try:
        yield callback
    finally:
        bar.close()


def _progress_lines(description: str) -> Callable[[int, int | None, str], None]:
    started = time.monotonic()
    last_line = -LOG_INTERVAL_S

    def callback(done: int, total: int | None, message: str) -> None:
        nonlocal last_line
        now = time.monotonic()
        if now - last_line < LOG_INTERVAL_S and not (total and done >= total):
            return
        last_line = now
        share = f" ({100 * done / total:.0f}%)" if total else ""
        count = f"{done}/{total}" if total else str(done)
        tail = f" {message}" if message else ""
        print(f"[{description}] {count}{share} after {now - started:.0f} s{tail}", file=sys.stderr, flush=True)

    return callback


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain aligned text table (the CLI's summaries are read by people and pasted in notes)."""
    cells = [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)))


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 100 else f"{value:.1f}"
    return "" if value is None else str(value)
