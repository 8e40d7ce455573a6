"""`lanhar train` commands (owned by the train area; placeholder until it lands)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    sub.add_parser("train", help="(not yet available)")
