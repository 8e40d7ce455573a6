"""Pieces every CLI area shares: opening the store from ``--home`` and drawing progress."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
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


@contextmanager
def progress_bar(description: str) -> Iterator:
    """A callback ``(done, total, message)`` that draws a tqdm bar on stderr."""
    bar = tqdm(desc=description, unit="it", file=sys.stderr, dynamic_ncols=True, disable=None)

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
