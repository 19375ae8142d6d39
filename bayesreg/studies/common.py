"""What several studies share: the chapter's λ, the credible mass, σ and the held-out split for diabetes."""

from __future__ import annotations

import math

import numpy as np

from ..data import Dataset

__all__ = ["CHAPTER_LAM", "CHAPTER_CONVENTION", "CREDIBLE_MASS", "HELD_OUT", "diabetes_sigma", "split_rows",
           "public"]

CHAPTER_LAM = 3.0               # Dive into Deep Learning §3.7, in its convention "d2l" (canonical λ = nλ)
CHAPTER_CONVENTION = "d2l"
CREDIBLE_MASS = 0.94            # the credible and predictive interval mass throughout (ArviZ's default)
HELD_OUT = 0.25                 # the share of diabetes rows held out (validation, predictive coverage)


def diabetes_sigma(data: Dataset) -> float:
    """The least-squares estimate of the noise sd, √(RSS/(n − d − 1)): σ fixed at the data's own residual sd."""
    Xc = data.X - data.X.mean(axis=0)
    yc = data.y - data.y.mean()
    w = np.linalg.lstsq(Xc, yc, rcond=None)[0]
    r = yc - Xc @ w
    return float(math.sqrt(r @ r / (data.n - data.d - 1)))


def split_rows(data: Dataset, seed: int, fraction: float = HELD_OUT) -> tuple[Dataset, Dataset]:
    """A seeded random split of ``data``: (the rows kept, the ``fraction`` held out), each in the original order.

    Every study that holds diabetes rows out uses this, so the same seed holds out the same rows on the page.
    """
    order = np.random.default_rng([seed, 3]).permutation(data.n)
    m = int(round(fraction * data.n))
    held, kept = np.sort(order[:m]), np.sort(order[m:])
    take = lambda idx, tag: Dataset(data.X[idx], data.y[idx], data.feature_names, data.target_name,  # noqa: E731
                                    f"{data.name}-{tag}")
    return take(kept, "train"), take(held, "held-out")


def public(d):
    """The JSON-ready part of a result: drops keys starting with "_"; arrays and NumPy scalars become Python."""
    if isinstance(d, dict):
        return {k: public(v) for k, v in d.items() if not str(k).startswith("_")}
    if isinstance(d, (list, tuple)):
        return [public(v) for v in d]
    if isinstance(d, np.ndarray):
        return d.tolist()
    if isinstance(d, (np.floating, np.integer)):
        return d.item()
    return d
