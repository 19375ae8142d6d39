"""The argument parser of every entry point: a usage error is one line naming the problem and where help is."""

from __future__ import annotations

import argparse
import sys

__all__ = ["Parser"]


class Parser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose errors are one line (``prog: error: ...; see prog --help``), exit 2.

    argparse's default prints the whole usage block before the error, which buries the one line that matters.
    Sub-commands made by ``add_subparsers().add_parser`` inherit this class.
    """

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}; see `{self.prog} --help`\n")

    def exit(self, status: int = 0, message: str | None = None):
        if message:
            sys.stderr.write(message)
        raise SystemExit(status)
