"""`lanhar data` commands (owned by the data area; placeholder until it lands)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    sub.add_parser("data", help="(not yet available)")
