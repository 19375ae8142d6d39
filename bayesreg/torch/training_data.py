"""The training rows a user trained on, as the post-hoc checks need them.

A user hands over a ``torch.utils.data.DataLoader`` (what they trained with) or a pair ``(X, y)`` of tensors or
arrays. The checks here run full-batch, in float64, on a copy of the model: this module turns either form into
float64 tensors and reads the batch size the training used.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..errors import DataError, SpecError

__all__ = ["TrainingRows", "training_rows", "float64_copy"]


@dataclass(frozen=True)
class TrainingRows:
    """Every training row in float64: inputs ``X`` (n, ...) and targets ``y`` as given (n, ...), with the
    minibatch size the loader used (None for a plain pair: full batch unless said otherwise) and whether it
    dropped the last short batch."""

    X: torch.Tensor
    y: torch.Tensor
    batch_size: int | None
    drop_last: bool = False

    @property
    def n(self) -> int:
        return int(self.X.shape[0])


def _as_tensor(value, what: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        t = value.detach()
    else:
        try:
            t = torch.as_tensor(np.asarray(value))
        except (TypeError, ValueError) as exc:
            raise DataError(f"the training {what} cannot be read as a tensor: {exc}") from None
    if t.is_floating_point():
        t = t.to(torch.float64)
        if not torch.isfinite(t).all():
            raise DataError(f"the training {what} hold NaN or infinite values")
    return t.cpu()


def training_rows(train_data) -> TrainingRows:
    """Read ``train_data``: a ``DataLoader`` yielding ``(X, y)`` batches, or a pair ``(X, y)``.

    Raises
    ------
    DataError
        No rows, batches that are not ``(X, y)`` pairs, X and y with different numbers of rows, NaN or inf.
    """
    if isinstance(train_data, torch.utils.data.DataLoader):
        xs, ys = [], []
        # read the dataset in order through a loader of our own: iterating the user's loader would draw from its
        # shuffling generator and change their next epoch
        ordered = torch.utils.data.DataLoader(_training_subset(train_data), batch_size=train_data.batch_size or 1,
                                              shuffle=False, collate_fn=train_data.collate_fn)
        for batch in ordered:
            if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
                raise DataError("the training loader must yield (X, y) pairs; it yielded "
                                f"{type(batch).__name__}")
            xs.append(_as_tensor(batch[0], "inputs"))
            ys.append(_as_tensor(batch[1], "targets"))
        if not xs:
            raise DataError("the training loader yielded no batches")
        rows = TrainingRows(torch.cat(xs), torch.cat(ys), train_data.batch_size, bool(train_data.drop_last))
    elif isinstance(train_data, (tuple, list)) and len(train_data) == 2:
        rows = TrainingRows(_as_tensor(train_data[0], "inputs"), _as_tensor(train_data[1], "targets"), None)
    else:
        raise SpecError("train_data must be the DataLoader you trained with or a pair (X, y), got "
                        f"{type(train_data).__name__}")
    if rows.n == 0:
        raise DataError("the training data have no rows")
    if rows.y.shape[0] != rows.n:
        raise DataError(f"the training inputs have {rows.n} rows and the targets {rows.y.shape[0]}")
    return rows


def _training_subset(loader):
    """The rows the loader's sampler draws from: the whole dataset for a sequential or random sampler, the
    sampler's ``indices`` for a subset sampler (a train/validation split); anything else is refused."""
    from torch.utils.data import RandomSampler, SequentialSampler, Subset

    sampler = loader.sampler
    if isinstance(sampler, (SequentialSampler, RandomSampler)):
        if isinstance(sampler, RandomSampler) and sampler.replacement:
            raise SpecError("the loader samples rows with replacement: give the training rows as (X, y)")
        return loader.dataset
    indices = getattr(sampler, "indices", None)
    if indices is not None:
        return Subset(loader.dataset, sorted(int(i) for i in indices))
    raise SpecError(f"cannot tell which rows a {type(sampler).__name__} trains on: give the training rows as "
                    "(X, y)")


def float64_copy(model: torch.nn.Module) -> torch.nn.Module:
    """A float64 copy of ``model`` in evaluation mode: the checks never touch the user's own model."""
    import copy

    clone = copy.deepcopy(model).to(torch.float64)
    clone.eval()
    return clone
