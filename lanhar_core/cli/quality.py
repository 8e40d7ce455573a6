"""`lanhar quality` commands (owned by the quality area; placeholder until it lands)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    sub.add_parser("quality", help="(not yet available)")
