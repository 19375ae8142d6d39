r"""How a user's table becomes the design matrix: which columns, how categories are encoded, and whether features
are standardised, learned once on the training table and applied unchanged to new rows.

A :class:`Columns` is JSON-able (:meth:`Columns.to_dict`), so a saved fit carries it and ``bayesreg predict``
builds the same matrix from a new file, matching columns by name.

* **Categorical columns** (text, ``category`` dtype) are one-hot encoded with the first level in sorted order as
  the reference (dropped, so the intercept stays identifiable): a column ``colour`` with levels blue, green, red
  becomes ``colour=green`` and ``colour=red``, each weight the shift from blue. This is
  ``pandas.get_dummies(drop_first=True)`` and scikit-learn's ``OneHotEncoder(drop="first")``.
* **Standardising** maps each encoded feature to :math:`z_j = (x_j - c_j)/s_j` (mean :math:`c_j`, sd :math:`s_j`
  with ``ddof=0``, computed by scikit-learn's ``StandardScaler``; a constant column keeps :math:`s_j = 1`). A
  shared penalty on the standardised weights is a per-feature penalty on the original ones: with
  :math:`w_j = v_j / s_j`,

  .. math:: \tfrac{\lambda}{2}\sum_j v_j^2 = \tfrac{\lambda}{2}\sum_j s_j^2 w_j^2,

  so the prior :math:`v_j \sim N(0, \tau^2)` is :math:`w_j \sim N(0, \tau^2/s_j^2)`: λ means the same for each
  feature only after standardising. :meth:`Columns.to_original_units` maps weights and intercept back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import DataError

__all__ = ["Columns", "MAX_LEVELS", "SCALE_RATIO_WARNING"]

#: A categorical column with more levels than this is refused (one weight per level would follow).
MAX_LEVELS = 50
#: Feature sds differing by more than this factor get a warning about one shared λ.
SCALE_RATIO_WARNING = 100.0


def _scaler(X: np.ndarray):
    """scikit-learn's ``StandardScaler`` fitted on ``X``: mean and sd (``ddof=0``) per column, and sd 1 for a
    constant column, which it tells apart from a column of sd ~1e-17 left by rounding (a plain ``sd > 0`` test turned
    seven rows of 0.1 into a column of ones, a second intercept)."""
    from sklearn.preprocessing import StandardScaler

    return StandardScaler().fit(X)


def _names(value: Sequence[str] | str | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _is_numeric(series: pd.Series) -> bool:
    dtype = series.dtype
    return pd.api.types.is_bool_dtype(dtype) or (
        pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype))


def _is_text(series: pd.Series) -> bool:
    dtype = series.dtype
    return (isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_object_dtype(dtype)
            or pd.api.types.is_string_dtype(dtype))


def _level_text(value) -> str:
    return str(value)


@dataclass(frozen=True)
class Columns:
    """The recipe from a table to the design matrix (see the module docstring).

    Parameters
    ----------
    target
        The target column.
    inputs
        The table's columns used, in order.
    levels
        For each categorical input, its levels in order, the first the reference (no column of its own).
    center, scale
        Per encoded feature, when standardised (else None).
    """

    target: str
    inputs: tuple[str, ...]
    levels: dict = field(default_factory=dict)
    center: tuple | None = None
    scale: tuple | None = None

    # ------------------------------------------------------------------------------------------------ learning
    @classmethod
    def learn(cls, frame: pd.DataFrame, target: str, *, features: Sequence[str] | None = None,
              drop: Sequence[str] | None = None, standardize: bool = False, label: str = "the data") -> Columns:
        """The columns of ``frame`` to use and how to encode them (the target's own checks are the loader's)."""
        columns = [str(c) for c in frame.columns]
        frame = frame.set_axis(columns, axis=1)
        features, drop = _names(features), _names(drop)
        if target not in columns:
            raise DataError(f"target column {target!r} not found in {label}; its columns are: {_listing(columns)}")
        for option, names in (("--features", features), ("--drop", drop)):
            missing = [c for c in names or () if c not in columns]
            if missing:
                raise DataError(f"{option} names column(s) {_quoted(missing)} not found in {label}; its columns "
                                f"are: {_listing(columns)}")
            repeated = sorted({c for c in names or () if names.count(c) > 1})
            if repeated:
                raise DataError(f"{option} lists {_quoted(repeated)} more than once; list each column once")
        if features is not None and not features:
            raise DataError("--features is empty; list at least one feature column (or leave it out)")
        if drop and target in drop:
            raise DataError(f"--drop names the target {target!r}; the target cannot be dropped (choose another "
                            "--target)")
        if features is not None and target in features:
            raise DataError(f"target column {target!r} is also listed in --features; remove it from --features")
        both = [c for c in drop or () if features is not None and c in features]
        if both:
            raise DataError(f"{_quoted(both)} both in --features and --drop; name each column in one of them")
        chosen = features if features is not None else [c for c in columns if c != target and c not in (drop or ())]
        if not chosen:
            raise DataError(f"no feature columns left in {label} (only the target {target!r}"
                            + (" and the dropped columns" if drop else "") + "); add feature columns")
        levels = {}
        bad = []
        for name in chosen:
            series = frame[name]
            if _is_numeric(series):
                continue
            if not _is_text(series):
                bad.append(f"{name!r} ({series.dtype})")
                continue
            present = series.dropna()
            numbers = pd.to_numeric(present.astype(str), errors="coerce")
            if len(present) and numbers.notna().mean() >= 0.9:
                text = present[numbers.isna()]
                raise DataError(f"non-numeric column {name!r} in {label}: it holds numbers except for {len(text)} "
                                f"value(s) such as {str(text.iloc[0])!r}; fix those cells (or --drop the column)")
            found = (list(series.cat.categories) if isinstance(series.dtype, pd.CategoricalDtype)
                     else sorted({_level_text(v) for v in present}))
            found = [_level_text(v) for v in found]
            if len(found) > MAX_LEVELS:
                raise DataError(f"categorical column {name!r} of {label} has {len(found)} levels (more than "
                                f"{MAX_LEVELS}: one weight each); --drop it or group its levels")
            if len(found) < 2:
                raise DataError(f"categorical column {name!r} of {label} has a single level; it carries no "
                                "information: --drop it")
            levels[name] = tuple(found)
        if bad:
            raise DataError(f"non-numeric column(s) in {label}: {', '.join(bad)}; encode them as numbers or "
                            "leave them out with --drop")
        recipe = cls(target=str(target), inputs=tuple(chosen), levels=levels)
        if standardize:
            scaler = _scaler(recipe.encode(frame, label=label))
            recipe = cls(target=recipe.target, inputs=recipe.inputs, levels=levels,
                         center=tuple(float(c) for c in scaler.mean_), scale=tuple(float(s) for s in scaler.scale_))
        return recipe

    # ----------------------------------------------------------------------------------------------- applying
    @property
    def feature_names(self) -> tuple[str, ...]:
        """One name per column of the design matrix (``colour=red`` for a one-hot column)."""
        out = []
        for name in self.inputs:
            if name in self.levels:
                out.extend(f"{name}={level}" for level in self.levels[name][1:])
            else:
                out.append(name)
        return tuple(out)

    @property
    def standardized(self) -> bool:
        return self.scale is not None

    def check_columns(self, frame: pd.DataFrame, label: str = "the data", *, allow_extra: Sequence[str] = ()) -> None:
        """``frame`` holds every input column; with ``allow_extra`` unset nothing else (the target excepted)."""
        columns = [str(c) for c in frame.columns]
        missing = [c for c in self.inputs if c not in columns]
        if missing:
            raise DataError(f"{label} lacks the column(s) {_quoted(missing)} the fit was made with; it needs "
                            f"{_listing(self.inputs)}")
        extra = [c for c in columns if c not in self.inputs and c != self.target and c not in allow_extra]
        if extra:
            raise DataError(f"{label} has column(s) {_quoted(extra)} the fit was not made with; remove them (the fit "
                            f"uses {_listing(self.inputs)})")

    def encode(self, frame: pd.DataFrame, *, label: str = "the data") -> np.ndarray:
        """The design matrix before standardising, columns matched by name: (n, d) float64. A level the recipe
        has not seen, or a missing value in a categorical column, is refused."""
        frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
        self.check_columns(frame, label, allow_extra=[str(c) for c in frame.columns])
        parts = []
        for name in self.inputs:
            series = frame[name]
            if name not in self.levels:
                if not _is_numeric(series):
                    raise DataError(f"column {name!r} of {label} is not numeric ({series.dtype}) but was numeric "
                                    "when the fit was made; fix the column")
                parts.append(series.to_numpy(dtype=np.float64, na_value=np.nan)[:, None])
                continue
            known = self.levels[name]
            text = series.map(lambda v: None if pd.isna(v) else _level_text(v))
            if text.isna().any():
                raise DataError(f"categorical column {name!r} of {label} has {int(text.isna().sum())} missing "
                                "value(s); fill or drop those rows")
            unseen = sorted(set(text) - set(known))
            if unseen:
                raise DataError(f"column {name!r} of {label} has level(s) {_quoted(unseen)} the fit never saw (it "
                                f"knows {_listing(known)}); map them to known levels or drop those rows")
            parts.append(np.stack([(text == level).to_numpy(dtype=np.float64) for level in known[1:]], axis=1))
        return np.hstack(parts) if parts else np.empty((len(frame), 0))

    def transform(self, frame: pd.DataFrame, *, label: str = "the data") -> np.ndarray:
        """The design matrix of ``frame`` (encoded, then standardised if the recipe says so), NaN refused."""
        X = self.encode(frame, label=label)
        bad = ~np.isfinite(X)
        if bad.any():
            names = self.feature_names
            cols = sorted({names[j] for j in np.flatnonzero(bad.any(axis=0))})
            rows = int(bad.any(axis=1).sum())
            raise DataError(f"NaN or infinite values in {label}, column(s) {_quoted(cols)} ({rows} rows); drop those "
                            "rows or impute the values first")
        return self.standardize(X)

    def standardize(self, X: np.ndarray) -> np.ndarray:
        """``(X − center)/scale`` when standardised, else ``X``."""
        if not self.standardized:
            return X
        return (X - np.asarray(self.center)) / np.asarray(self.scale)

    def standardized_on(self, X: np.ndarray, rows) -> np.ndarray:
        """``X``, every row standardised by this recipe, standardised instead with the means and sds of ``rows``
        alone: the matrix a recipe learned on those rows would give (the encoded values recovered as z·s + c, to
        rounding), for a cross-validation fold whose held-out rows must not shape its columns. A column constant
        on ``rows`` keeps sd 1 in its own units, as :meth:`learn` gives it. ``X`` itself when the recipe does not
        standardise."""
        if not self.standardized:
            return X
        encoded = np.asarray(X, dtype=np.float64) * np.asarray(self.scale) + np.asarray(self.center)
        return _scaler(encoded[rows]).transform(encoded)

    def to_original_units(self, w, b=0.0):
        """Weights and intercept on the original features: ``w_j = v_j/s_j``, ``b = b_v − Σ v_j c_j/s_j``.
        Works on draws too (``w`` of shape (..., d), ``b`` broadcastable to (...))."""
        w = np.asarray(w, dtype=np.float64)
        if not self.standardized:
            return w, b
        scale, center = np.asarray(self.scale), np.asarray(self.center)
        return w / scale, np.asarray(b, dtype=np.float64) - (w * center / scale).sum(axis=-1)

    def describe(self) -> list[str]:
        """What was done to the columns, in sentences (reference levels, standardisation and what it does to λ)."""
        lines = []
        for name, levels in self.levels.items():
            lines.append(f"{name}: one-hot, {len(levels) - 1} column(s); reference level {levels[0]!r} (its effect "
                         "is in the intercept; each weight is the shift from it)")
        if self.standardized:
            lines.append("features standardised to mean 0, sd 1: a shared λ (prior sd τ) on these weights is a "
                         "per-feature penalty λ·sd_j² on the original weights (prior sd τ/sd_j); weights are also "
                         "given in the original units")
        return lines

    def scale_ratio(self, X: np.ndarray) -> float:
        """max/min of the sds of the numeric (not one-hot), non-constant features of ``X`` (1 when fewer than
        two)."""
        numeric, j = [], 0
        for name in self.inputs:
            width = len(self.levels[name]) - 1 if name in self.levels else 1
            if name not in self.levels:
                numeric.append(j)
            j += width
        sd = X[:, numeric].std(axis=0) if numeric else np.array([])
        sd = sd[sd > 0]
        return float(sd.max() / sd.min()) if sd.size >= 2 else 1.0

    # ----------------------------------------------------------------------------------------------- storage
    def to_dict(self) -> dict:
        return {"target": self.target, "inputs": list(self.inputs),
                "levels": {k: list(v) for k, v in self.levels.items()},
                "center": None if self.center is None else list(self.center),
                "scale": None if self.scale is None else list(self.scale),
                "feature_names": list(self.feature_names)}

    @classmethod
    def from_dict(cls, d: dict) -> Columns:
        try:
            return cls(target=str(d["target"]), inputs=tuple(d["inputs"]),
                       levels={k: tuple(v) for k, v in d.get("levels", {}).items()},
                       center=None if d.get("center") is None else tuple(d["center"]),
                       scale=None if d.get("scale") is None else tuple(d["scale"]))
        except (KeyError, TypeError) as exc:
            raise DataError(f"the column recipe is incomplete ({exc}); refit to write it again") from None

    @classmethod
    def plain(cls, feature_names: Sequence[str], target: str) -> Columns:
        """The recipe of numeric columns used as they are (built-in data sets, arrays)."""
        return cls(target=str(target), inputs=tuple(str(f) for f in feature_names))


def _quoted(names: Sequence[str]) -> str:
    shown = ", ".join(repr(str(n)) for n in list(names)[:20])
    return shown + (f" and {len(names) - 20} more" if len(names) > 20 else "")


def _listing(names: Sequence[str]) -> str:
    names = list(names)
    shown = ", ".join(str(n) for n in names[:20])
    return shown + (f", ... ({len(names) - 20} more)" if len(names) > 20 else "")
