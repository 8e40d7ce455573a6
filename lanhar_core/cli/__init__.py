"""The ``lanhar`` command line. Each area registers its subcommands from its own module."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from lanhar_core.errors import LanharError

_AREAS = ("data", "interpret", "quality", "train", "recognize", "models", "bench", "jobs")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lanhar",
        description="LanHAR Studio: language-guided human activity recognition.",
    )
    parser.add_argument("--home", help="data directory (default: $LANHAR_HOME or ~/.lanhar)")
    sub = parser.add_subparsers(dest="command", required=True)
    for area in _AREAS:
        module = importlib.import_module(f"lanhar_core.cli.{area}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()
        return code
    except LanharError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; work done so far is kept in the store", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `lanhar jobs list | head`: the reader has gone, which is not an error. Python would
        # complain again when it flushes stdout at exit, so stdout is pointed at /dev/null.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
