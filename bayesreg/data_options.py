"""The data options every command that reads a data set shares (``--data``, ``--target``, ``--features``,
``--drop``, ``--standardize``), and the one function that turns them into a :class:`~bayesreg.data.Dataset`."""

from __future__ import annotations

__all__ = ["add_data_options", "load_from_args", "column_options"]


def add_data_options(p, *, required: bool = True) -> None:
    """Add the data options to the argparse parser ``p``."""
    p.add_argument("--data", required=required, metavar="D",
                   help="a built-in data set (d2l: its 20 training rows; diabetes; for --likelihood logistic: "
                        "breast_cancer, d2l_logistic) or a CSV/Parquet file")
    p.add_argument("--target", metavar="Y", help="the target column of a file")
    p.add_argument("--features", metavar="A,B,...",
                   help="the feature columns of a file, comma-separated, in this order (default: every column but "
                        "the target and --drop)")
    p.add_argument("--drop", metavar="A,B,...", help="columns of a file to leave out (ids, leaks, other targets)")
    p.add_argument("--standardize", action="store_true",
                   help="centre and scale each feature to sd 1 before fitting (λ then means the same for every "
                        "feature; results are also given in the original units)")


def column_options(args) -> dict:
    """The column choices as keyword arguments of :func:`bayesreg.data.load_dataset` (only those given)."""
    out = {}
    if getattr(args, "features", None):
        out["features"] = [c.strip() for c in args.features.split(",")]
    if getattr(args, "drop", None):
        out["drop"] = [c.strip() for c in args.drop.split(",")]
    if getattr(args, "standardize", False):
        out["standardize"] = True
    return out


def load_from_args(args):
    """The data set the options name, with the columns chosen, encoded and (if asked) standardised."""
    from .data import load_dataset

    binary = getattr(args, "likelihood", "gaussian") == "logistic"
    return load_dataset(args.data, args.target, binary=binary, **column_options(args))
