"""The argument parser of every entry point: a usage error is one line naming the problem and where help is."""

from __future__ import annotations

import argparse
import math
import sys

__all__ = ["Parser", "real", "seed", "MAGNITUDE_RANGE"]


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


#: The range of magnitudes a user-given scale or strength may take. Beyond it, the squares and ratios bayesreg
#: forms (τ², σ²/λ, 1/(2τ²)) leave float64's range; real data never need it (rescale y or X instead).
MAGNITUDE_RANGE = (1e-30, 1e30)


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be finite, got {text}")
    return value


def _in_range(value: float, text: str) -> float:
    low, high = MAGNITUDE_RANGE
    if value != 0 and not low <= abs(value) <= high:
        raise argparse.ArgumentTypeError(
            f"{text} is outside the range bayesreg computes with ({low:g} to {high:g} in magnitude); rescale the "
            "data (e.g. y in other units) so that it falls inside")
    return value


def real(text: str) -> float:
    """argparse type: a finite number, 0 or within :data:`MAGNITUDE_RANGE` in magnitude. Signs are left to the
    API's own checks (σ > 0, τ > 0...), so the command line and Python say the same thing."""
    return _in_range(_number(text), text)


def seed(text: str) -> int:
    """argparse type: a random seed, an integer in [0, 2³² − 1] (NumPy's and torch's range)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be between 0 and {2**32 - 1}, got {text}")
    return value
