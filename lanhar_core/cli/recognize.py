"""`lanhar recognize` commands (owned by the recognize area; placeholder until it lands)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    sub.add_parser("recognize", help="(not yet available)")
