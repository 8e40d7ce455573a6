"""`lanhar interpret` commands (owned by the interpret area; placeholder until it lands)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    sub.add_parser("interpret", help="(not yet available)")
