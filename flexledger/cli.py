"""The ``flexledger`` console command.

Each sub-command lives in its own module under :mod:`flexledger.commands` and exposes
``register(subparsers)``; the module sets ``func`` on its parser, a callable taking the
parsed arguments and returning the process exit code. Errors meant for the person at the
keyboard are raised as :class:`flexledger.commands.UserError` and printed without a
traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from flexledger import __version__
from flexledger.commands import UserError, command_modules


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flexledger", description="A local flexibility marketplace on Hyperledger Fabric."
    )
    parser.add_argument("--version", action="version", version=f"flexledger {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in command_modules():
        importlib.import_module(f"flexledger.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"flexledger: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("flexledger: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
