"""Regression data sets: the D2L weight-decay problem, scikit-learn's diabetes data, CSV/Parquet files, arrays.

Every loader returns a :class:`Dataset` whose ``X`` (``(n, d)``) and ``y`` (``(n,)``) are read-only, C-contiguous
float64 arrays. Files and in-memory arrays go through the same validation, and every data problem raises
:class:`bayesreg.errors.DataError` with a one-line message that names the problem and its fix. A constant feature
column is not an error, only a :class:`UserWarning`: it carries no information about its weight, whose posterior is
then the prior.
"""

from __future__ import annotations

import numbers
import os
import re
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bayesreg.errors import DataError

__all__ = [
    "BUILTIN_DATASETS",
    "D2LProblem",
    "Dataset",
    "from_arrays",
    "load_d2l",
    "load_dataset",
    "load_diabetes",
    "load_breast_cancer",
    "load_d2l_logistic",
    "load_file",
    "BINARY_DATASETS",
]

BUILTIN_DATASETS: tuple[str, ...] = ("d2l", "diabetes", "breast_cancer", "d2l_logistic")
#: the built-in data sets whose target has two classes (for --likelihood logistic)
BINARY_DATASETS: tuple[str, ...] = ("breast_cancer", "d2l_logistic")

_CSV_SUFFIXES = (".csv", ".csv.gz", ".txt")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_DIABETES_TARGET = "disease_progression"
_BREAST_CANCER_TARGET = "benign"
_D2L_TARGET = "y"
_MAX_LISTED = 20
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_CSV_OPTIONS: dict[str, Any] = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
_NEWLINES = re.compile(r"\s*[\r\n]+\s*")


# --------------------------------------------------------------------------------------------------------------
# Containers
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Dataset:
    """A regression data set: float64 design matrix and target, with names.

    Construction copies ``X`` and ``y`` into fresh read-only, C-contiguous float64 arrays and checks that the
    shapes and names agree. It does not check values (NaN, constant columns); use :func:`from_arrays` for that.

    Parameters
    ----------
    X : numpy.ndarray
        Design matrix, shape ``(n, d)``.
    y : numpy.ndarray
        Target, shape ``(n,)``.
    feature_names : tuple of str
        One name per column of ``X``.
    target_name : str
        Name of the target.
    name : str
        Name of the data set, e.g. ``"d2l-train"``, ``"diabetes"`` or a file's name.
    columns : bayesreg.columns.Columns, optional
        How a file's table became ``X`` (columns used, one-hot levels, standardisation), for files; None
        otherwise.
    classes : tuple, optional
        For a two-class target coded 0/1: the labels of class 0 and class 1 (``("malignant", "benign")``);
        None for a numeric target.

    Raises
    ------
    DataError
        If the shapes of ``X``, ``y`` and ``feature_names`` disagree.

    Notes
    -----
    Equality and hashing are by identity (``eq=False``): element-wise array comparison has no single truth value.
    """

    X: np.ndarray
    y: np.ndarray
    feature_names: tuple[str, ...]
    target_name: str
    name: str
    columns: Any = None
    classes: Any = None

    def __post_init__(self) -> None:
        X = _frozen_copy(self.X)
        y = _frozen_copy(self.y)
        names = tuple(str(f) for f in self.feature_names)
        if X.ndim != 2:
            raise _error(f"Dataset.X must be 2-D, got shape {X.shape}; reshape it to (n, d)")
        if y.ndim != 1:
            raise _error(f"Dataset.y must be 1-D, got shape {y.shape}; flatten it with ravel()")
        if X.shape[0] != y.shape[0]:
            raise _error(f"Dataset.X has {X.shape[0]} rows but y has {y.shape[0]} values; pass equal lengths")
        if len(names) != X.shape[1]:
            raise _error(
                f"Dataset has {X.shape[1]} feature columns but {len(names)} feature names; "
                "pass one name per column"
            )
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "y", y)
        object.__setattr__(self, "feature_names", names)
        object.__setattr__(self, "target_name", str(self.target_name))
        object.__setattr__(self, "name", str(self.name))

    @property
    def n(self) -> int:
        """Number of rows (observations)."""
        return int(self.X.shape[0])

    @property
    def d(self) -> int:
        """Number of feature columns."""
        return int(self.X.shape[1])

    def __repr__(self) -> str:
        return f"Dataset(name={self.name!r}, n={self.n}, d={self.d}, target_name={self.target_name!r})"


@dataclass(frozen=True, eq=False)
class D2LProblem:
    """The weight-decay chapter's problem of Dive into Deep Learning (section 3.7, "Weight Decay").

    Parameters
    ----------
    train : Dataset
        Training set (``n_train`` rows), named ``"d2l-train"``.
    test : Dataset
        Test set (``n_test`` rows), named ``"d2l-test"``.
    true_w : numpy.ndarray
        The true weights, shape ``(d,)``, read-only.
    true_b : float
        The true bias.
    noise_sd : float
        Standard deviation of the Gaussian observation noise.
    """

    train: Dataset
    test: Dataset
    true_w: np.ndarray
    true_b: float
    noise_sd: float


# --------------------------------------------------------------------------------------------------------------
# Built-in data sets
# --------------------------------------------------------------------------------------------------------------


def load_d2l(
    seed: int = 0,
    *,
    n_train: int = 20,
    n_test: int = 100,
    d: int = 200,
    true_w: float = 0.01,
    true_b: float = 0.05,
    noise_sd: float = 0.01,
) -> D2LProblem:
    """Generate D2L's high-dimensional linear regression problem for weight decay.

    As D2L's ``synthetic_data``: ``X ~ N(0, 1)`` i.i.d., ``y = X w + b + eps`` with ``eps ~ N(0, noise_sd^2)``
    and ``w = true_w * ones(d)``. The training set is drawn first, then the test set, from one
    ``numpy.random.default_rng(seed)``; within each set the features are drawn before the noise.

    Parameters
    ----------
    seed : int, default 0
        Non-negative seed of :func:`numpy.random.default_rng`; the same seed gives identical arrays.
    n_train : int, default 20
        Training rows (at least 2).
    n_test : int, default 100
        Test rows (at least 2).
    d : int, default 200
        Number of features (at least 1), named ``"x0"`` .. ``"x{d-1}"``.
    true_w : float, default 0.01
        Value of every true weight.
    true_b : float, default 0.05
        True bias.
    noise_sd : float, default 0.01
        Noise standard deviation, positive.

    Returns
    -------
    D2LProblem
        Train and test sets (target ``"y"``) with the truth that generated them.

    Raises
    ------
    DataError
        If an argument is out of range or of the wrong type.
    """
    seed = _check_int("seed", seed, minimum=0)
    n_train = _check_int("n_train", n_train, minimum=2)
    n_test = _check_int("n_test", n_test, minimum=2)
    d = _check_int("d", d, minimum=1)
    w_value = _check_float("true_w", true_w)
    b = _check_float("true_b", true_b)
    sd = _check_float("noise_sd", noise_sd)
    if sd <= 0:
        raise _error(f"noise_sd must be > 0, got {noise_sd!r}; pass a positive standard deviation such as 0.01")
    w = np.full(d, w_value, dtype=np.float64)
    w.setflags(write=False)
    rng = np.random.default_rng(seed)
    names = tuple(f"x{j}" for j in range(d))
    train = _d2l_split(rng, n_train, w, b, sd, names, "d2l-train")
    test = _d2l_split(rng, n_test, w, b, sd, names, "d2l-test")
    return D2LProblem(train=train, test=test, true_w=w, true_b=b, noise_sd=sd)


def _d2l_split(
    rng: np.random.Generator, n: int, w: np.ndarray, b: float, sd: float, names: tuple[str, ...], name: str
) -> Dataset:
    """Draw one split of the D2L problem: features first, then noise."""
    X = rng.normal(0.0, 1.0, size=(n, w.shape[0]))
    y = X @ w + b + rng.normal(0.0, sd, size=n)
    return Dataset(X=X, y=y, feature_names=names, target_name=_D2L_TARGET, name=name)


def load_diabetes() -> Dataset:
    """Load scikit-learn's copy of the diabetes data (442 rows, 10 features; ships with scikit-learn).

    Returns
    -------
    Dataset
        ``sklearn.datasets.load_diabetes(scaled=True)``'s arrays, its feature names (age, sex, bmi, bp, s1..s6),
        target ``"disease_progression"``, name ``"diabetes"``.
    """
    from sklearn import datasets

    bunch = datasets.load_diabetes(scaled=True)
    return Dataset(
        X=bunch.data,
        y=bunch.target,
        feature_names=tuple(bunch.feature_names),
        target_name=_DIABETES_TARGET,
        name="diabetes",
    )


def load_breast_cancer() -> Dataset:
    """Load scikit-learn's copy of the Wisconsin breast-cancer data (569 rows, 30 features, two classes).

    Returns
    -------
    Dataset
        ``sklearn.datasets.load_breast_cancer()``'s arrays, unscaled (the features' sds differ by about 10⁴×:
        standardise them, ``--standardize``, before one shared λ means anything), target ``"benign"`` (1 = benign,
        0 = malignant, scikit-learn's coding), ``classes=("malignant", "benign")``, name ``"breast_cancer"``.
    """
    from sklearn import datasets

    bunch = datasets.load_breast_cancer()
    return Dataset(X=bunch.data, y=bunch.target.astype(np.float64),
                   feature_names=tuple(str(f).replace(" ", "_") for f in bunch.feature_names),
                   target_name=_BREAST_CANCER_TARGET, name="breast_cancer",
                   classes=tuple(str(c) for c in bunch.target_names))


def load_d2l_logistic(seed: int = 0, *, n_train: int = 50, n_test: int = 500, d: int = 200,
                      true_w: float = 0.1, true_b: float = 0.0) -> D2LProblem:
    """A two-class version of the weight-decay chapter's problem, with n < d.

    ``X ~ N(0, 1)`` i.i.d., ``w = true_w · ones(d)``, ``y ~ Bernoulli(sigmoid(Xw + b))``; training rows drawn
    first, then test rows, from one ``numpy.random.default_rng(seed)``. With the defaults (n = 50 rows, d = 200
    features, ‖w‖ = √2) the linear predictor has sd √2 and the training classes are separable: no finite
    maximum-likelihood estimate exists, and only the prior (weight decay) makes the MAP finite.
    """
    seed = _check_int("seed", seed, minimum=0)
    n_train = _check_int("n_train", n_train, minimum=2)
    n_test = _check_int("n_test", n_test, minimum=2)
    d = _check_int("d", d, minimum=1)
    w = np.full(d, _check_float("true_w", true_w), dtype=np.float64)
    w.setflags(write=False)
    b = _check_float("true_b", true_b)
    rng = np.random.default_rng(seed)
    names = tuple(f"x{j}" for j in range(d))

    def split(n: int, name: str) -> Dataset:
        X = rng.normal(0.0, 1.0, size=(n, d))
        p = 1.0 / (1.0 + np.exp(-(X @ w + b)))
        y = (rng.random(n) < p).astype(np.float64)
        return Dataset(X=X, y=y, feature_names=names, target_name="y", name=name, classes=(0, 1))

    train = split(n_train, "d2l_logistic-train")
    test = split(n_test, "d2l_logistic-test")
    return D2LProblem(train=train, test=test, true_w=w, true_b=b, noise_sd=float("nan"))


# --------------------------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------------------------


def load_file(path: str | os.PathLike[str], target: str, *, features: Sequence[str] | None = None,
              drop: Sequence[str] | None = None, standardize: bool = False, binary: bool = False) -> Dataset:
    """Load a regression data set from a CSV or Parquet file.

    CSV (``.csv``, ``.csv.gz``, ``.txt``; comma-separated with a header row) is read with
    :func:`pandas.read_csv` (exact float round-trip), Parquet (``.parquet``, ``.pq``) with
    :func:`pandas.read_parquet` (pyarrow). Boolean columns become 0/1; text columns are one-hot encoded against
    their first level (see :mod:`bayesreg.columns`).

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    target : str
        Name of the target column.
    features : sequence of str, optional
        Feature columns, in this order. By default every column except the target and ``drop``, in file order.
    drop : sequence of str, optional
        Columns to leave out.
    standardize : bool, default False
        Centre and scale each encoded feature to sd 1 (the recipe is in ``Dataset.columns``).
    binary : bool, default False
        The target has two classes (a classifier): 0/1 numbers, booleans or any two labels (the second in sorted
        order becomes 1; ``Dataset.classes`` names both). A target with one or more than two levels is refused.

    Returns
    -------
    Dataset
        Named after the file (its base name), with ``columns`` the recipe.

    Raises
    ------
    DataError
        If the file is missing, a directory, unreadable, empty, of an unsupported type or unparsable; if the
        header repeats a name; if a named column is missing or the target is among the features; if a used
        column is neither numeric nor categorical or holds NaN/inf; if there are fewer than 2 rows or no
        feature columns.

    Warns
    -----
    UserWarning
        If a feature column is constant, or (without ``standardize``) the features' sds differ by more than
        100×.
    """
    from .columns import SCALE_RATIO_WARNING, Columns

    frame = _read_table(path)
    label = str(path)
    if len(frame) == 0:
        raise _error(f"{label} has no rows (only a header); add data rows to the file")
    columns = Columns.learn(frame, target, features=features, drop=drop, label=label)
    frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
    X_frame = pd.DataFrame(columns.encode(frame, label=label), columns=list(columns.feature_names))
    classes = None
    target_column = frame[target]
    if binary:
        from .logistic import binary_target

        coded, classes = binary_target(target_column.to_numpy(), f"the target {target!r} of {label}")
        target_column = pd.Series(coded, name=target)
    data = _validate(X_frame, target_column, name=Path(path).name, source=label)
    if standardize:
        columns = Columns.learn(frame, target, features=features, drop=drop, standardize=True, label=label)
    else:
        ratio = columns.scale_ratio(data.X)
        if ratio > SCALE_RATIO_WARNING:
            warnings.warn(f"the features' standard deviations in {label} differ by {ratio:.3g}×: one shared λ "
                          "shrinks the small-scale features' weights far more than the large-scale ones (and "
                          "gradient training struggles); --standardize (standardize=True) puts every feature on "
                          "sd 1", UserWarning, stacklevel=_caller_stacklevel())
    return Dataset(X=columns.standardize(data.X), y=data.y, feature_names=data.feature_names,
                   target_name=data.target_name, name=data.name, columns=columns, classes=classes)


def check_file(path: str | os.PathLike[str]) -> tuple[Path, Any, str]:
    """Before reading: ``path`` exists, is a readable non-empty file of a supported type. Returns
    ``(path, reader, kind)``; the in-memory and the streaming loaders share these checks and messages."""
    label = str(path)
    p = Path(path)
    try:
        if not p.exists():
            raise _error(f"no such file: {label}; check the path (relative paths start at {os.getcwd()})")
        if p.is_dir():
            raise _error(f"{label} is a directory, not a file; pass the path of a CSV or Parquet file")
        size = p.stat().st_size
    except PermissionError as exc:
        raise _unreadable(label, exc) from exc
    reader, kind = _reader_for(p)
    if size == 0:
        raise _error(f"{label} is empty (0 bytes); pass a {kind} file with a header row and data rows")
    return p, reader, kind


def _read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Check that ``path`` is a readable, non-empty file of a supported type and read it into a DataFrame."""
    label = str(path)
    p, reader, kind = check_file(path)
    try:
        return reader(p)
    except PermissionError as exc:
        raise _unreadable(label, exc) from exc
    except pd.errors.EmptyDataError as exc:
        raise _error(
            f"{label} is empty (no columns or rows); pass a {kind} file with a header row and data rows"
        ) from exc
    except ImportError as exc:
        raise _error(
            f"cannot read {label}: reading {kind} needs pyarrow ({exc}); install it with "
            "pip install 'bayesreg[parquet]' or convert the file to CSV"
        ) from exc
    except Exception as exc:  # noqa: BLE001 - any parser failure becomes a DataError at this boundary
        raise _error(
            f"cannot parse {label} as {kind}: {type(exc).__name__}: {exc}; check that it is a valid {kind} file"
        ) from exc


def _reader_for(p: Path) -> tuple[Any, str]:
    """Return ``(reader, kind)`` for the file's extension, or raise DataError naming the supported ones."""
    lower = p.name.lower()
    if lower.endswith(_CSV_SUFFIXES):
        return _read_csv, "CSV"
    if lower.endswith(_PARQUET_SUFFIXES):
        return _read_parquet, "Parquet"
    supported = ", ".join(_CSV_SUFFIXES + _PARQUET_SUFFIXES)
    raise _error(f"unsupported file type: {p}; supported extensions are {supported} (convert the file to one)")


def _read_csv(p: Path) -> pd.DataFrame:
    """Read a comma-separated file with a header row, parsing floats exactly; a header that repeats a name is
    refused (pandas would silently rename the second ``a`` to ``a.1``)."""
    _check_header(p)
    # pandas 3 parses floats exactly by default and deprecates the option; pandas 2 needs it.
    return pd.read_csv(p, **_CSV_OPTIONS)


def _check_header(p: Path) -> None:
    """Refuse a CSV header that names a column twice."""
    import csv
    import gzip

    opener = gzip.open if p.name.lower().endswith(".gz") else open
    try:
        with opener(p, "rt", encoding="utf-8", errors="replace", newline="") as f:
            header = next(csv.reader(f), [])
    except (OSError, csv.Error):
        return  # unreadable: pandas says why
    names = [h.strip() for h in header]
    repeated = sorted({h for h in names if h and names.count(h) > 1})
    if repeated:
        raise _error(f"the header of {p} names column(s) {_quote(repeated)} more than once; give every column a "
                     "distinct name in the file's first row")


def _read_parquet(p: Path) -> pd.DataFrame:
    """Read a Parquet file with pyarrow."""
    return pd.read_parquet(p, engine="pyarrow")


def _unreadable(label: str, exc: OSError) -> DataError:
    """The DataError for a file the process may not read."""
    return _error(f"cannot read {label}: permission denied ({exc.strerror}); check the file's permissions")


def _select_columns(
    frame: pd.DataFrame, target: str, features: Sequence[str] | None, label: str
) -> tuple[pd.DataFrame, pd.Series]:
    """Split a table into the feature columns and the target column, checking every name exists."""
    columns = [str(c) for c in frame.columns]
    frame = frame.set_axis(columns, axis=1)
    if target not in columns:
        raise _error(
            f"target column {target!r} not found in {label}; the file's columns are: {_list_names(columns)}"
        )
    if features is None:
        chosen = [c for c in columns if c != target]
    else:
        chosen = _check_features(features, target, columns, label)
    if not chosen:
        raise _error(
            f"no feature columns: {label} has only the target column {target!r}; add feature columns to the file"
        )
    return frame.loc[:, chosen], frame[target]


def _check_features(features: Sequence[str], target: str, columns: list[str], label: str) -> list[str]:
    """Check requested feature names: present, distinct, not the target, not empty."""
    chosen = [features] if isinstance(features, str) else [str(f) for f in features]
    if not chosen:
        raise _error("features is empty; list at least one feature column (or leave it out to use all columns)")
    missing = [f for f in chosen if f not in columns]
    if missing:
        raise _error(
            f"feature column(s) {_quote(missing)} not found in {label}; "
            f"the file's columns are: {_list_names(columns)}"
        )
    if target in chosen:
        raise _error(f"target column {target!r} is also listed among the features; remove it from the features")
    duplicated = sorted({f for f in chosen if chosen.count(f) > 1})
    if duplicated:
        raise _error(f"feature column(s) {_quote(duplicated)} listed more than once; list each column once")
    return chosen


# --------------------------------------------------------------------------------------------------------------
# Dispatch and arrays
# --------------------------------------------------------------------------------------------------------------


def load_dataset(source: str, target: str | None = None, *, seed: int = 0, features: Sequence[str] | None = None,
                 drop: Sequence[str] | None = None, standardize: bool = False, binary: bool = False) -> Dataset:
    """Load a built-in data set by name, or a file by path.

    Parameters
    ----------
    source : str
        ``"d2l"`` (the training set of :func:`load_d2l`), ``"diabetes"`` (:func:`load_diabetes`),
        ``"breast_cancer"`` (:func:`load_breast_cancer`), ``"d2l_logistic"`` (the training set of
        :func:`load_d2l_logistic`), or a path to a CSV/Parquet file. A built-in name wins over a file of the
        same name; write ``./d2l`` for the file.
    target : str, optional
        Target column; required for a file, refused for a built-in (built-ins have their own target).
    seed : int, default 0
        Seed of the D2L problem; ignored otherwise.
    features, drop, standardize
        Column choices for a file (:func:`load_file`); ``standardize`` also applies to a built-in.

    Returns
    -------
    Dataset

    Raises
    ------
    DataError
        If ``target`` is missing for a file or given for a built-in, column choices are given for a built-in,
        or the file cannot be used.
    """
    source = os.fspath(source)
    if source in BUILTIN_DATASETS:
        if target is not None:
            own = {"d2l": _D2L_TARGET, "diabetes": _DIABETES_TARGET, "breast_cancer": _BREAST_CANCER_TARGET,
                   "d2l_logistic": "y"}[source]
            raise _error(
                f"{source!r} is a built-in data set with its own target {own!r}; "
                "drop --target (it is only for files)"
            )
        if features is not None or drop is not None:
            raise _error(f"--features and --drop choose the columns of a file; {source!r} is a built-in data set "
                         "with its own columns: leave them out")
        if binary and source not in BINARY_DATASETS:
            raise _error(f"{source!r} has a numeric target, not two classes: for a classifier use one of "
                         f"{', '.join(BINARY_DATASETS)} or a file with a two-level target")
        if not binary and source in BINARY_DATASETS:
            raise _error(f"{source!r} has a two-class target: read it with --likelihood logistic")
        loaders = {"d2l": lambda: load_d2l(seed).train, "diabetes": load_diabetes,
                   "breast_cancer": load_breast_cancer, "d2l_logistic": lambda: load_d2l_logistic(seed).train}
        data = loaders[source]()
        return _standardized(data) if standardize else data
    if target is None:
        frame = _read_table(source)
        columns = [str(c) for c in frame.columns]
        raise _error(
            f"no target column given for {source}; pass --target COLUMN; "
            f"the file's columns are: {_list_names(columns)}"
        )
    return load_file(source, target, features=features, drop=drop, standardize=standardize, binary=binary)


def _standardized(data: Dataset) -> Dataset:
    """A built-in data set with every feature centred and scaled to sd 1 (the recipe in ``columns``)."""
    from .columns import Columns

    frame = pd.DataFrame(data.X, columns=list(data.feature_names))
    frame[data.target_name] = data.y
    columns = Columns.learn(frame, data.target_name, standardize=True, label=data.name)
    return Dataset(X=columns.standardize(data.X), y=data.y, feature_names=data.feature_names,
                   target_name=data.target_name, name=data.name, columns=columns, classes=data.classes)


def from_arrays(
    X: Any,
    y: Any,
    *,
    feature_names: Sequence[str] | None = None,
    target_name: str | None = None,
    name: str = "arrays",
) -> Dataset:
    """Build a validated :class:`Dataset` from in-memory data (the Python-API entry point).

    Validation is the same as for files: numeric (or boolean) columns only, no NaN/inf, at least 2 rows and
    1 feature column; a constant feature column warns.

    Parameters
    ----------
    X : array-like or pandas.DataFrame
        Design matrix, 2-D ``(n, d)``. A DataFrame's column names become the feature names.
    y : array-like, pandas.Series or one-column pandas.DataFrame
        Target, ``(n,)`` (an ``(n, 1)`` array is flattened). A Series' name becomes the target name. Rows are
        matched by position, not by pandas index.
    feature_names : sequence of str, optional
        Overrides the names; default the DataFrame's columns, else ``"x0"`` .. ``"x{d-1}"``.
    target_name : str, optional
        Overrides the target name; default the Series' (or column's) name, else ``"y"``.
    name : str, default "arrays"
        Name of the data set.

    Returns
    -------
    Dataset

    Raises
    ------
    DataError
        If ``X`` is not 2-D, lengths differ, names do not fit, or a value check fails.

    Warns
    -----
    UserWarning
        If a feature column is constant.
    """
    X_frame = _as_feature_frame(X, feature_names)
    y_series = _as_target_series(y, target_name)
    if len(X_frame) != len(y_series):
        raise _error(f"X has {len(X_frame)} rows but y has {len(y_series)} values; pass X and y of equal length")
    if X_frame.shape[1] == 0:
        raise _error("X has no feature columns (shape (n, 0)); pass at least one feature column")
    return _validate(X_frame, y_series, name=str(name), source=str(name))


def _as_feature_frame(X: Any, feature_names: Sequence[str] | None) -> pd.DataFrame:
    """Turn array-like ``X`` into a DataFrame with string column names."""
    if isinstance(X, pd.Series):
        raise _error("X is 1-D (a pandas Series); pass a DataFrame, e.g. X.to_frame(), or X.reshape(-1, 1)")
    if isinstance(X, pd.DataFrame):
        frame = X.reset_index(drop=True)
    else:
        try:
            arr = np.asarray(X)
        except (ValueError, TypeError) as exc:
            raise _error(f"X cannot be read as a 2-D array ({exc}); pass rows of equal length") from exc
        if arr.ndim == 1:
            raise _error(f"X is 1-D with shape {arr.shape}; reshape it to one column with X.reshape(-1, 1)")
        if arr.ndim != 2:
            raise _error(f"X must be 2-D (n, d), got shape {arr.shape}; reshape it to (n, d)")
        # A list mixing numbers and strings becomes one string array; build it row-wise to keep per-column types.
        rows = arr if isinstance(X, np.ndarray) or arr.dtype.kind in "biuf" else list(X)
        frame = pd.DataFrame(rows).infer_objects()
        frame.columns = [f"x{j}" for j in range(frame.shape[1])]
    if feature_names is not None:
        names = [feature_names] if isinstance(feature_names, str) else [str(f) for f in feature_names]
        if len(names) != frame.shape[1]:
            raise _error(
                f"feature_names has {len(names)} names but X has {frame.shape[1]} columns; "
                "pass one name per column"
            )
    else:
        names = [str(c) for c in frame.columns]
    duplicated = sorted({f for f in names if names.count(f) > 1})
    if duplicated:
        raise _error(f"duplicate feature name(s) {_quote(duplicated)}; give every column a distinct name")
    return frame.set_axis(names, axis=1)


def _as_target_series(y: Any, target_name: str | None) -> pd.Series:
    """Turn array-like ``y`` into a Series with a string name."""
    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise _error(f"y is a DataFrame with {y.shape[1]} columns; pass a single column (a Series)")
        y = y.iloc[:, 0]
    if isinstance(y, pd.Series):
        default = "y" if y.name is None else str(y.name)
        series = y.reset_index(drop=True)
    else:
        default = "y"
        try:
            arr = np.asarray(y)
        except (ValueError, TypeError) as exc:
            raise _error(f"y cannot be read as a 1-D array ({exc}); pass a flat list or array") from exc
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.ndim != 1:
            raise _error(f"y must be 1-D (n,), got shape {arr.shape}; flatten it with y.ravel()")
        series = pd.Series(arr).infer_objects()
    return series.rename(default if target_name is None else str(target_name))


# --------------------------------------------------------------------------------------------------------------
# Shared validation
# --------------------------------------------------------------------------------------------------------------


def _validate(X_frame: pd.DataFrame, y_series: pd.Series, *, name: str, source: str) -> Dataset:
    """Check types, finiteness and size of a feature table and target; warn on constant columns."""
    _check_numeric(X_frame, y_series, source)
    X = X_frame.to_numpy(dtype=np.float64, na_value=np.nan)
    y = y_series.to_numpy(dtype=np.float64, na_value=np.nan)
    feature_names = tuple(str(c) for c in X_frame.columns)
    target_name = str(y_series.name)
    _check_finite(X, y, feature_names, target_name, source)
    _check_rows(X.shape[0], source)
    _warn_constant(X, feature_names, source)
    return Dataset(X=X, y=y, feature_names=feature_names, target_name=target_name, name=name)


def _is_usable_dtype(dtype: Any) -> bool:
    """True for real numeric and boolean dtypes (object, string, categorical, datetime, complex are not)."""
    if pd.api.types.is_bool_dtype(dtype):
        return True
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)


def _check_numeric(X_frame: pd.DataFrame, y_series: pd.Series, source: str) -> None:
    """Raise DataError naming every non-numeric column (features and target)."""
    bad = [f"{c!r} ({X_frame[c].dtype})" for c in X_frame.columns if not _is_usable_dtype(X_frame[c].dtype)]
    if not _is_usable_dtype(y_series.dtype):
        bad.append(f"{y_series.name!r} ({y_series.dtype}, the target)")
    if bad:
        raise _error(
            f"non-numeric column(s) in {source}: {', '.join(bad)}; encode them as numbers (e.g. one-hot 0/1 "
            "columns) or drop them (list the numeric feature columns explicitly)"
        )


def _check_finite(X: np.ndarray, y: np.ndarray, names: tuple[str, ...], target: str, source: str) -> None:
    """Raise DataError naming the columns holding NaN/inf and how many rows are affected."""
    bad_X = ~np.isfinite(X)
    bad_y = ~np.isfinite(y)
    bad_rows = int(np.count_nonzero(bad_X.any(axis=1) | bad_y))
    if bad_rows == 0:
        return
    per_column = [(names[j], int(k)) for j, k in enumerate(bad_X.sum(axis=0)) if k]
    if bad_y.any():
        per_column.append((target, int(bad_y.sum())))
    parts = ", ".join(f"{col!r} ({k} {_rows(k)})" for col, k in per_column[:_MAX_LISTED])
    more = f" and {len(per_column) - _MAX_LISTED} more column(s)" if len(per_column) > _MAX_LISTED else ""
    raise _error(
        f"NaN or infinite values in {source}, column(s) {parts}{more}; {bad_rows} of {X.shape[0]} rows are "
        "affected; drop those rows or impute the missing values first"
    )


def _check_rows(n: int, source: str) -> None:
    """Raise DataError when there are fewer than 2 rows."""
    if n == 0:
        raise _error(f"{source} has no rows; at least 2 rows are needed")
    if n < 2:
        raise _error(f"{source} has only {n} row; at least 2 rows are needed to fit a regression")


def _warn_constant(X: np.ndarray, names: tuple[str, ...], source: str) -> None:
    """Warn (UserWarning) about feature columns that take a single value."""
    constant = [names[j] for j in np.flatnonzero(np.ptp(X, axis=0) == 0)]
    if constant:
        warnings.warn(
            f"constant feature column(s) in {source}: {_quote(constant)}; a constant column carries no "
            "information about its weight, so its coefficient is determined by the prior alone "
            "(drop it if that is not intended)",
            UserWarning,
            stacklevel=_caller_stacklevel(),
        )


# --------------------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------------------


def _error(message: str) -> DataError:
    """A DataError whose message is forced onto one line."""
    return DataError(_NEWLINES.sub(" ", message))


def _frozen_copy(a: Any) -> np.ndarray:
    """A fresh, C-contiguous, read-only float64 copy of ``a``."""
    try:
        arr = np.array(a, dtype=np.float64, order="C", copy=True)
    except (ValueError, TypeError) as exc:
        raise _error(f"cannot convert to a float64 array ({exc}); pass numeric arrays") from exc
    arr.setflags(write=False)
    return arr


def _check_int(label: str, value: Any, *, minimum: int) -> int:
    """Return ``value`` as int if it is an integer (not bool) >= ``minimum``, else raise DataError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _error(f"{label} must be an integer >= {minimum}, got {value!r}; pass a whole number")
    if value < minimum:
        raise _error(f"{label} must be >= {minimum}, got {value}; pass a larger integer")
    return int(value)


def _check_float(label: str, value: Any) -> float:
    """Return ``value`` as a finite float, else raise DataError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(float(value)):
        raise _error(f"{label} must be a finite real number, got {value!r}; pass a number such as 0.01")
    return float(value)


def _quote(names: Sequence[str]) -> str:
    """``'a', 'b'`` (at most ``_MAX_LISTED`` names, then a count)."""
    shown = ", ".join(repr(n) for n in names[:_MAX_LISTED])
    return shown + (f" and {len(names) - _MAX_LISTED} more" if len(names) > _MAX_LISTED else "")


def _list_names(names: Sequence[str]) -> str:
    """``a, b, c`` (at most ``_MAX_LISTED`` names, then a count)."""
    shown = ", ".join(str(n) for n in names[:_MAX_LISTED])
    return shown + (f", ... ({len(names) - _MAX_LISTED} more)" if len(names) > _MAX_LISTED else "")


def _rows(k: int) -> str:
    """``"row"`` or ``"rows"``."""
    return "row" if k == 1 else "rows"


def _caller_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning point at the first caller outside the bayesreg package."""
    level = 1
    frame = sys._getframe(1)
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    return level
