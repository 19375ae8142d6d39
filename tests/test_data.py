"""Tests of bayesreg.data: built-in data sets, file loading, array input and the shared validation."""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import datasets as sk_datasets

from bayesreg import data
from bayesreg.data import (
    BUILTIN_DATASETS,
    D2LProblem,
    Dataset,
    from_arrays,
    load_d2l,
    load_dataset,
    load_diabetes,
    load_file,
)
from bayesreg.errors import DataError

# ------------------------------------------------------------------------------------------------ helpers


def _frame() -> pd.DataFrame:
    """A small mixed numeric/boolean table with awkward floats (exact round-trip is non-trivial)."""
    rng = np.random.default_rng(123)
    return pd.DataFrame(
        {
            "a": rng.normal(size=6),
            "b": np.arange(6, dtype=np.int64),
            "flag": [True, False, True, True, False, False],
            "c": rng.normal(size=6) * 1e-7 + 1 / 3,
            "target": rng.normal(size=6),
        }
    )


def _write_csv(tmp_path: Path, frame: pd.DataFrame, name: str = "t.csv") -> Path:
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def _assert_dataset_arrays(ds: Dataset) -> None:
    """X and y are float64, C-contiguous, read-only and shaped consistently with the names."""
    assert ds.X.dtype == np.float64 and ds.y.dtype == np.float64
    assert ds.X.flags.c_contiguous
    assert not ds.X.flags.writeable and not ds.y.flags.writeable
    assert ds.X.shape == (ds.n, ds.d) and ds.y.shape == (ds.n,)
    assert len(ds.feature_names) == ds.d


def _one_line(exc: pytest.ExceptionInfo[DataError]) -> str:
    msg = str(exc.value)
    assert "\n" not in msg and "\r" not in msg
    return msg


# ------------------------------------------------------------------------------------------------ D2L


def test_d2l_shapes_names_and_truth() -> None:
    prob = load_d2l()
    assert isinstance(prob, D2LProblem)
    assert (prob.train.n, prob.train.d) == (20, 200)
    assert (prob.test.n, prob.test.d) == (100, 200)
    assert prob.train.feature_names == tuple(f"x{j}" for j in range(200))
    assert prob.train.feature_names[-1] == "x199"
    assert prob.train.target_name == prob.test.target_name == "y"
    assert (prob.train.name, prob.test.name) == ("d2l-train", "d2l-test")
    np.testing.assert_array_equal(prob.true_w, np.full(200, 0.01))
    assert prob.true_b == 0.05 and prob.noise_sd == 0.01
    _assert_dataset_arrays(prob.train)
    _assert_dataset_arrays(prob.test)


def test_d2l_features_are_standard_normal() -> None:
    X = load_d2l(seed=1, n_train=2000, d=5).train.X
    assert abs(X.mean()) < 0.05
    assert abs(X.std() - 1.0) < 0.05


def test_d2l_truth_reproduces_y_up_to_noise() -> None:
    prob = load_d2l(seed=3)
    for ds in (prob.train, prob.test):
        residual = ds.y - (ds.X @ prob.true_w + prob.true_b)
        assert abs(residual.mean()) < 3 * 0.01  # no systematic offset
    residual = prob.test.y - (prob.test.X @ prob.true_w + prob.true_b)
    sd = residual.std(ddof=1)
    assert 0.01 / 1.5 < sd < 0.01 * 1.5
    # The signal itself is much larger than the noise, so the check above is not vacuous.
    assert (prob.test.X @ prob.true_w).std() > 5 * 0.01


def test_d2l_noise_sd_scales_residuals() -> None:
    prob = load_d2l(seed=0, noise_sd=0.5)
    residual = prob.test.y - (prob.test.X @ prob.true_w + prob.true_b)
    assert 0.5 / 1.5 < residual.std(ddof=1) < 0.5 * 1.5


def test_d2l_seeding() -> None:
    a, b, c = load_d2l(seed=7), load_d2l(seed=7), load_d2l(seed=8)
    np.testing.assert_array_equal(a.train.X, b.train.X)
    np.testing.assert_array_equal(a.train.y, b.train.y)
    np.testing.assert_array_equal(a.test.X, b.test.X)
    np.testing.assert_array_equal(a.test.y, b.test.y)
    assert not np.array_equal(a.train.X, c.train.X)
    assert not np.array_equal(a.test.y, c.test.y)
    assert not np.array_equal(a.train.X[:2], a.test.X[:2])  # train and test are different draws


def test_d2l_draw_order_is_train_then_test_from_one_generator() -> None:
    prob = load_d2l(seed=5, n_train=4, n_test=3, d=2)
    rng = np.random.default_rng(5)
    X_train = rng.normal(size=(4, 2))
    rng.normal(size=4)
    X_test = rng.normal(size=(3, 2))
    np.testing.assert_array_equal(prob.train.X, X_train)
    np.testing.assert_array_equal(prob.test.X, X_test)


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"n_train": 0}, "n_train"),
        ({"n_train": 2.5}, "n_train"),
        ({"n_test": -1}, "n_test"),
        ({"d": 0}, "d "),
        ({"d": True}, "d "),
        ({"noise_sd": 0.0}, "noise_sd"),
        ({"noise_sd": -0.1}, "noise_sd"),
        ({"noise_sd": float("nan")}, "noise_sd"),
        ({"true_w": float("inf")}, "true_w"),
        ({"seed": -1}, "seed"),
    ],
)
def test_d2l_rejects_bad_arguments(kwargs: dict, word: str) -> None:
    with pytest.raises(DataError) as exc:
        load_d2l(**kwargs)
    assert word in _one_line(exc)


# ------------------------------------------------------------------------------------------------ diabetes


def test_diabetes_matches_sklearn_exactly() -> None:
    ds = load_diabetes()
    bunch = sk_datasets.load_diabetes(scaled=True)
    np.testing.assert_array_equal(ds.X, bunch.data)
    np.testing.assert_array_equal(ds.y, bunch.target)
    assert ds.feature_names == ("age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")
    assert ds.target_name == "disease_progression"
    assert ds.name == "diabetes"
    assert (ds.n, ds.d) == (442, 10)
    _assert_dataset_arrays(ds)


# ------------------------------------------------------------------------------------------------ files


@pytest.mark.parametrize("suffix", [".csv", ".txt", ".csv.gz", ".parquet", ".pq"])
def test_file_round_trip_is_exact(tmp_path: Path, suffix: str) -> None:
    frame = _frame()
    path = tmp_path / f"table{suffix}"
    if suffix in (".parquet", ".pq"):
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)  # pandas infers gzip compression from .gz
    ds = load_file(path, "target")
    assert ds.feature_names == ("a", "b", "flag", "c")
    assert ds.target_name == "target"
    assert ds.name == f"table{suffix}"
    expected_X = frame[["a", "b", "flag", "c"]].to_numpy(dtype=np.float64)
    np.testing.assert_array_equal(ds.X, expected_X)
    np.testing.assert_array_equal(ds.y, frame["target"].to_numpy())
    np.testing.assert_array_equal(ds.X[:, 2], [1, 0, 1, 1, 0, 0])  # booleans -> 0/1
    _assert_dataset_arrays(ds)


def test_file_accepts_str_path(tmp_path: Path) -> None:
    path = _write_csv(tmp_path, _frame())
    assert load_file(str(path), "target").d == 4


def test_file_column_selection_keeps_requested_order(tmp_path: Path) -> None:
    frame = _frame()
    path = _write_csv(tmp_path, frame)
    ds = load_file(path, "a", features=["c", "target"])
    assert ds.feature_names == ("c", "target")
    assert ds.target_name == "a"
    np.testing.assert_array_equal(ds.X, frame[["c", "target"]].to_numpy())
    np.testing.assert_array_equal(ds.y, frame["a"].to_numpy())


def test_file_selection_can_leave_out_non_numeric_column(tmp_path: Path) -> None:
    frame = _frame().assign(city=list("abcdef"))
    path = _write_csv(tmp_path, frame)
    ds = load_file(path, "target", features=["a", "b"])
    assert ds.feature_names == ("a", "b")


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.csv"
    with pytest.raises(DataError) as exc:
        load_file(path, "y")
    msg = _one_line(exc)
    assert msg.startswith("no such file:") and str(path) in msg


def test_directory(tmp_path: Path) -> None:
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    with pytest.raises(DataError) as exc:
        load_file(folder, "y")
    msg = _one_line(exc)
    assert "directory" in msg and str(folder) in msg


def test_unreadable_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests may run as root, where chmod 000 does not stop reading; simulate the OS refusal instead.
    path = _write_csv(tmp_path, _frame())

    def refuse(*args: object, **kwargs: object) -> pd.DataFrame:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(pd, "read_csv", refuse)
    with pytest.raises(DataError) as exc:
        load_file(path, "target")
    msg = _one_line(exc)
    assert "permission" in msg and str(path) in msg


def test_unknown_extension(tmp_path: Path) -> None:
    path = tmp_path / "table.xlsx"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(DataError) as exc:
        load_file(path, "y")
    msg = _one_line(exc)
    assert "table.xlsx" in msg
    for suffix in (".csv", ".csv.gz", ".txt", ".parquet", ".pq"):
        assert suffix in msg


@pytest.mark.parametrize("name", ["empty.csv", "empty.parquet"])
def test_empty_file_zero_bytes(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"")
    with pytest.raises(DataError) as exc:
        load_file(path, "y")
    msg = _one_line(exc)
    assert "empty" in msg and str(path) in msg


def test_empty_file_whitespace_only(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("\n\n")
    with pytest.raises(DataError) as exc:
        load_file(path, "y")
    msg = _one_line(exc)
    assert "empty" in msg and str(path) in msg


@pytest.mark.parametrize("name", ["header.csv", "header.parquet"])
def test_file_with_header_but_no_rows(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    empty = pd.DataFrame({"a": pd.Series([], dtype=float), "y": pd.Series([], dtype=float)})
    if name.endswith(".parquet"):
        empty.to_parquet(path, index=False)
    else:
        empty.to_csv(path, index=False)
    with pytest.raises(DataError) as exc:
        load_file(path, "y")
    msg = _one_line(exc)
    assert "no rows" in msg and str(path) in msg


def test_unparsable_csv(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,y\n1,2\n3,4,5,6\n")
    with pytest.raises(DataError) as exc:
        load_file(path, "y")
    msg = _one_line(exc)
    assert "cannot parse" in msg and str(path) in msg and "CSV" in msg


def test_unparsable_gzip(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv.gz"
    path.write_bytes(gzip.compress(b"a,y\n1,2\n3,4\n")[:-12])  # truncated stream
    with pytest.raises(DataError) as exc:
        load_file(path, "y")
    assert str(path) in _one_line(exc)


def test_unparsable_parquet(tmp_path: Path) -> None:
    path = tmp_path / "junk.parquet"
    path.write_text("a,y\n1,2\n")
    with pytest.raises(DataError) as exc:
        load_file(path, "y")
    msg = _one_line(exc)
    assert "Parquet" in msg and str(path) in msg


def test_missing_target_lists_columns(tmp_path: Path) -> None:
    path = _write_csv(tmp_path, _frame())
    with pytest.raises(DataError) as exc:
        load_file(path, "price")
    msg = _one_line(exc)
    assert "'price'" in msg and "a, b, flag, c, target" in msg


def test_missing_feature_column(tmp_path: Path) -> None:
    path = _write_csv(tmp_path, _frame())
    with pytest.raises(DataError) as exc:
        load_file(path, "target", features=["a", "zzz"])
    msg = _one_line(exc)
    assert "'zzz'" in msg and "a, b, flag, c, target" in msg


def test_target_among_features(tmp_path: Path) -> None:
    path = _write_csv(tmp_path, _frame())
    with pytest.raises(DataError) as exc:
        load_file(path, "target", features=["a", "target"])
    msg = _one_line(exc)
    assert "'target'" in msg and "features" in msg


def test_duplicate_features(tmp_path: Path) -> None:
    path = _write_csv(tmp_path, _frame())
    with pytest.raises(DataError) as exc:
        load_file(path, "target", features=["a", "b", "a"])
    assert "'a'" in _one_line(exc)


def test_empty_feature_list(tmp_path: Path) -> None:
    path = _write_csv(tmp_path, _frame())
    with pytest.raises(DataError) as exc:
        load_file(path, "target", features=[])
    assert "features" in _one_line(exc)


def test_zero_feature_columns(tmp_path: Path) -> None:
    path = _write_csv(tmp_path, pd.DataFrame({"y": [1.0, 2.0, 3.0]}))
    with pytest.raises(DataError) as exc:
        load_file(path, "y")
    msg = _one_line(exc)
    assert "no feature columns" in msg and "'y'" in msg


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_text_columns_are_one_hot_and_useless_ones_named(tmp_path: Path, suffix: str) -> None:
    frame = _frame().assign(city=list("abcabc"))
    path = tmp_path / f"t{suffix}"
    write = (lambda f: f.to_parquet(path, index=False)) if suffix == ".parquet" else (
        lambda f: f.to_csv(path, index=False))
    write(frame)
    data = load_file(path, "target")
    assert data.feature_names[-2:] == ("city=b", "city=c")  # 'a' is the reference level
    np.testing.assert_array_equal(data.X[:, -2:], pd.get_dummies(frame["city"], drop_first=True).to_numpy(float))
    write(frame.assign(colour=["red"] * 6))
    with pytest.raises(DataError) as exc:
        load_file(path, "target")
    msg = _one_line(exc)
    assert "'colour'" in msg and "single level" in msg and "--drop" in msg
    if suffix == ".parquet":  # a column that is neither numeric nor text
        write(frame.assign(when=pd.date_range("2024-01-01", periods=6)))
        with pytest.raises(DataError) as exc:
            load_file(path, "target")
        msg = _one_line(exc)
        assert "non-numeric" in msg and "'when'" in msg and "'city'" not in msg and "--drop" in msg


def test_non_numeric_target(tmp_path: Path) -> None:
    path = _write_csv(tmp_path, pd.DataFrame({"x": [1.0, 2.0, 3.0], "label": ["lo", "hi", "lo"]}))
    with pytest.raises(DataError) as exc:
        load_file(path, "label")
    assert "'label'" in _one_line(exc)


def test_nan_and_inf_name_columns_and_row_count(tmp_path: Path) -> None:
    frame = _frame()
    frame.loc[1, "a"] = np.nan
    frame.loc[[2, 3], "c"] = [np.inf, -np.inf]
    frame.loc[1, "target"] = np.nan  # same row as the NaN in "a": 3 affected rows in all
    path = tmp_path / "gaps.parquet"
    frame.to_parquet(path, index=False)
    with pytest.raises(DataError) as exc:
        load_file(path, "target")
    msg = _one_line(exc)
    assert "'a' (1 row)" in msg and "'c' (2 rows)" in msg and "'target' (1 row)" in msg
    assert "3 of 6 rows" in msg
    assert "'b'" not in msg
    assert "drop" in msg and "impute" in msg


def test_empty_csv_cells_are_missing_values(tmp_path: Path) -> None:
    path = tmp_path / "holes.csv"
    path.write_text("a,b,y\n1,2,3\n4,,6\n7,8,9\n")
    with pytest.raises(DataError) as exc:
        load_file(path, "y")
    msg = _one_line(exc)
    assert "'b' (1 row)" in msg and "1 of 3 rows" in msg


def test_one_row_is_too_few(tmp_path: Path) -> None:
    path = tmp_path / "single.csv"
    path.write_text("a,y\n1,2\n")
    with pytest.raises(DataError) as exc:
        load_file(path, "y")
    msg = _one_line(exc)
    assert "only 1 row" in msg and str(path) in msg


def test_constant_column_warns_but_loads(tmp_path: Path) -> None:
    frame = _frame().assign(const=5.0)
    path = _write_csv(tmp_path, frame)
    with pytest.warns(UserWarning, match="'const'") as record:
        ds = load_file(path, "target")
    assert "prior" in str(record[0].message)
    assert record[0].filename == __file__  # the warning points at the caller, not inside bayesreg
    assert "const" in ds.feature_names and ds.d == 5


def test_no_warning_without_constant_column(tmp_path: Path) -> None:
    path = _write_csv(tmp_path, _frame())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message="the features' standard deviations")  # its own test
        load_file(path, "target")


# ------------------------------------------------------------------------------------------------ load_dataset


def test_load_dataset_builtins() -> None:
    assert BUILTIN_DATASETS == ("d2l", "diabetes", "breast_cancer", "d2l_logistic")
    d2l = load_dataset("d2l", seed=4)
    np.testing.assert_array_equal(d2l.X, load_d2l(4).train.X)
    assert d2l.name == "d2l-train"
    np.testing.assert_array_equal(load_dataset("diabetes").y, load_diabetes().y)


@pytest.mark.parametrize("source", ["d2l", "diabetes"])
def test_load_dataset_refuses_target_for_builtin(source: str) -> None:
    with pytest.raises(DataError) as exc:
        load_dataset(source, "price")
    msg = _one_line(exc)
    assert source in msg and "own target" in msg


def test_load_dataset_file(tmp_path: Path) -> None:
    path = _write_csv(tmp_path, _frame())
    ds = load_dataset(str(path), "target")
    assert ds.feature_names == ("a", "b", "flag", "c") and ds.n == 6


def test_load_dataset_file_without_target_lists_columns(tmp_path: Path) -> None:
    path = _write_csv(tmp_path, _frame())
    with pytest.raises(DataError) as exc:
        load_dataset(str(path))
    msg = _one_line(exc)
    assert "pass --target COLUMN" in msg and "the file's columns are: a, b, flag, c, target" in msg


def test_load_dataset_missing_path() -> None:
    with pytest.raises(DataError) as exc:
        load_dataset("no/such/place.csv", "y")
    assert "no such file: no/such/place.csv" in _one_line(exc)


# ------------------------------------------------------------------------------------------------ from_arrays


def test_from_arrays_lists_and_defaults() -> None:
    ds = from_arrays([[1, 2], [3, 5], [4, 4]], [1, 2, 3])
    assert ds.feature_names == ("x0", "x1") and ds.target_name == "y" and ds.name == "arrays"
    np.testing.assert_array_equal(ds.X, [[1.0, 2.0], [3.0, 5.0], [4.0, 4.0]])
    _assert_dataset_arrays(ds)


def test_from_arrays_copies_input() -> None:
    X = np.array([[1.0, 2.0], [3.0, 5.0], [4.0, 4.0]])
    y = np.array([1.0, 2.0, 3.0])
    ds = from_arrays(X, y, feature_names=["u", "v"], target_name="t", name="mine")
    X[0, 0] = 99.0
    assert ds.X[0, 0] == 1.0
    assert (ds.feature_names, ds.target_name, ds.name) == (("u", "v"), "t", "mine")
    with pytest.raises(ValueError):
        ds.X[0, 0] = 2.0


def test_from_arrays_pandas_names_and_positional_alignment() -> None:
    X = pd.DataFrame({"p": [1.0, 2.0, 3.0], "q": [True, False, True]}, index=[10, 11, 12])
    y = pd.Series([4.0, 5.0, 6.0], name="price", index=[0, 1, 2])
    ds = from_arrays(X, y)
    assert ds.feature_names == ("p", "q") and ds.target_name == "price"
    np.testing.assert_array_equal(ds.X, [[1, 1], [2, 0], [3, 1]])
    np.testing.assert_array_equal(ds.y, [4, 5, 6])
    assert from_arrays(X, y, target_name="cost").target_name == "cost"


def test_from_arrays_column_vector_target() -> None:
    ds = from_arrays(np.eye(3), np.array([[1.0], [2.0], [3.0]]))
    assert ds.y.shape == (3,)


def test_from_arrays_1d_X() -> None:
    with pytest.raises(DataError) as exc:
        from_arrays(np.arange(4.0), np.arange(4.0))
    assert "reshape(-1, 1)" in _one_line(exc)


def test_from_arrays_length_mismatch() -> None:
    with pytest.raises(DataError) as exc:
        from_arrays(np.ones((5, 2)), np.ones(4))
    msg = _one_line(exc)
    assert "5" in msg and "4" in msg


def test_from_arrays_wrong_number_of_names() -> None:
    with pytest.raises(DataError) as exc:
        from_arrays(np.eye(3), np.ones(3), feature_names=["a", "b"])
    assert "feature_names" in _one_line(exc)


def test_from_arrays_non_numeric_names_column() -> None:
    X = pd.DataFrame({"num": [1.0, 2.0, 3.0], "word": ["a", "b", "c"]})
    with pytest.raises(DataError) as exc:
        from_arrays(X, [1.0, 2.0, 3.0])
    msg = _one_line(exc)
    assert "'word'" in msg and "'num'" not in msg


def test_from_arrays_mixed_list_names_only_string_column() -> None:
    with pytest.raises(DataError) as exc:
        from_arrays([[1.0, "a"], [2.0, "b"]], [1.0, 2.0])
    msg = _one_line(exc)
    assert "'x1'" in msg and "'x0'" not in msg


def test_from_arrays_nan() -> None:
    X = np.ones((4, 3))
    X[:, 0] = [1.0, 2.0, 3.0, 4.0]
    X[2, 1] = np.nan
    with pytest.raises(DataError) as exc:
        from_arrays(X, np.arange(4.0), feature_names=["a", "b", "c"])
    msg = _one_line(exc)
    assert "'b' (1 row)" in msg and "1 of 4 rows" in msg


def test_from_arrays_one_row() -> None:
    with pytest.raises(DataError) as exc:
        from_arrays([[1.0, 2.0]], [3.0])
    assert "only 1 row" in _one_line(exc)


def test_from_arrays_zero_columns() -> None:
    with pytest.raises(DataError) as exc:
        from_arrays(np.ones((3, 0)), np.ones(3))
    assert "no feature columns" in _one_line(exc)


def test_from_arrays_constant_column_warns() -> None:
    with pytest.warns(UserWarning, match="'x1'"):
        ds = from_arrays([[1.0, 7.0], [2.0, 7.0], [3.0, 7.0]], [1.0, 2.0, 3.0])
    assert ds.d == 2


def test_dataset_direct_construction_freezes_and_checks() -> None:
    X = np.ones((2, 2), dtype=np.float32)
    ds = Dataset(X=X, y=[1, 2], feature_names=("a", "b"), target_name="y", name="n")
    assert ds.X.dtype == np.float64 and not ds.X.flags.writeable and ds.y.dtype == np.float64
    assert ds.X is not X
    with pytest.raises(DataError):
        Dataset(X=np.ones((2, 2)), y=np.ones(3), feature_names=("a", "b"), target_name="y", name="n")
    with pytest.raises(DataError):
        Dataset(X=np.ones((2, 2)), y=np.ones(2), feature_names=("a",), target_name="y", name="n")


def test_public_names() -> None:
    assert set(data.__all__) == {
        "BUILTIN_DATASETS",
        "BINARY_DATASETS",
        "load_breast_cancer",
        "load_d2l_logistic",
        "D2LProblem",
        "Dataset",
        "from_arrays",
        "load_d2l",
        "load_dataset",
        "load_diabetes",
        "load_file",
    }
    assert issubclass(DataError, ValueError)


def test_parquet_without_pyarrow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "t.parquet"
    _frame().to_parquet(path, index=False)

    def missing(*args: object, **kwargs: object) -> pd.DataFrame:
        raise ImportError("Missing optional dependency 'pyarrow'.")

    monkeypatch.setattr(pd, "read_parquet", missing)
    with pytest.raises(DataError) as exc:
        load_file(path, "target")
    msg = _one_line(exc)
    assert "pyarrow" in msg and str(path) in msg
