"""A user's columns: one-hot encoding and standardising against scikit-learn, columns matched by name, the recipe
stored and reapplied, every misuse refused in one line."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import Ridge
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from bayesreg.columns import Columns
from bayesreg.data import load_dataset, load_file
from bayesreg.errors import DataError


def _table(n=40, seed=0):
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "blue", "green"], size=n)
    return pd.DataFrame({
        "size": rng.normal(50.0, 10.0, size=n),
        "colour": colour,
        "ok": rng.random(n) < 0.5,
        "id": np.arange(n),
        "y": rng.normal(size=n),
    })


def test_one_hot_equals_scikit_learn_drop_first():
    frame = _table()
    cols = Columns.learn(frame, "y", drop=["id"])
    X = cols.transform(frame)
    encoder = OneHotEncoder(drop="first", sparse_output=False).fit(frame[["colour"]])
    assert cols.levels == {"colour": ("blue", "green", "red")}
    assert cols.feature_names == ("size", "colour=green", "colour=red", "ok")
    np.testing.assert_array_equal(X[:, 1:3], encoder.transform(frame[["colour"]]))
    np.testing.assert_array_equal(X[:, 0], frame["size"]) and np.testing.assert_array_equal(X[:, 3], frame["ok"])
    assert any("reference level 'blue'" in line for line in cols.describe())


def test_standardising_equals_standard_scaler_and_maps_back_to_original_units():
    frame = _table()
    cols = Columns.learn(frame, "y", features=["size", "colour", "ok"], standardize=True)
    raw = Columns.learn(frame, "y", features=["size", "colour", "ok"]).transform(frame)
    Z = cols.transform(frame)
    np.testing.assert_allclose(Z, StandardScaler().fit_transform(raw), rtol=1e-12, atol=1e-12)
    ridge = Ridge(alpha=3.0).fit(Z, frame["y"])
    w, b = cols.to_original_units(ridge.coef_, ridge.intercept_)
    np.testing.assert_allclose(raw @ w + b, ridge.predict(Z), rtol=1e-12, atol=1e-12)
    assert any("λ·sd_j²" in line for line in cols.describe())


def test_a_constant_column_standardises_to_zero_not_to_a_second_intercept():
    """Seven rows of 0.1 have sd ~1e-17 by rounding; with sd 1 kept for a constant column (as scikit-learn's
    StandardScaler) the column becomes 0, where dividing by that sd made it a column of ones."""
    frame = pd.DataFrame({"a": [0.1] * 7, "b": np.arange(7.0), "y": np.arange(7.0)})
    cols = Columns.learn(frame, "y", standardize=True)
    assert cols.scale[0] == 1.0
    np.testing.assert_allclose(cols.transform(frame)[:, 0], 0.0, atol=1e-15)


def test_standardised_on_some_rows_is_the_recipe_learned_on_those_rows():
    """What a cross-validation fold fits on: every row standardised with the training rows' means and sds equals
    the recipe learned on those rows alone applied to the whole table, and scikit-learn's StandardScaler fitted on
    them; rows that lack the level 'green' make a column constant on them, which keeps sd 1 in its own units."""
    frame = _table(n=60, seed=3)
    features = ["size", "colour", "ok"]
    cols = Columns.learn(frame, "y", features=features, standardize=True)
    Z = cols.transform(frame)
    raw = Columns.learn(frame, "y", features=features).transform(frame)
    rows = np.random.default_rng(1).permutation(60)[:45]
    learned = Columns.learn(frame.iloc[rows], "y", features=features, standardize=True)
    assert learned.levels == cols.levels
    np.testing.assert_allclose(cols.standardized_on(Z, rows), learned.transform(frame), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cols.standardized_on(Z, rows), StandardScaler().fit(raw[rows]).transform(raw),
                               rtol=1e-12, atol=1e-12)
    no_green = np.flatnonzero(frame["colour"].to_numpy() != "green")
    fold = cols.standardized_on(Z, no_green)
    np.testing.assert_allclose(fold, StandardScaler().fit(raw[no_green]).transform(raw), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(fold[:, 1], raw[:, 1])       # colour=green: 0 on the rows, sd 1 kept
    plain = Columns.learn(frame, "y", features=features)
    assert plain.standardized_on(raw, rows) is raw


def test_columns_are_matched_by_name_and_the_recipe_round_trips():
    frame = _table()
    cols = Columns.learn(frame, "y", drop=["id"], standardize=True)
    again = Columns.from_dict(cols.to_dict())
    shuffled = frame[["ok", "y", "colour", "size"]]
    np.testing.assert_array_equal(again.transform(shuffled), cols.transform(frame))
    new_rows = frame.drop(columns=["y", "id"]).iloc[:5]  # new rows have no target
    np.testing.assert_array_equal(cols.transform(new_rows), cols.transform(frame)[:5])


@pytest.mark.parametrize("change,needle", [
    (lambda f: f.drop(columns=["size"]), "lacks the column(s) 'size'"),
    (lambda f: f.assign(extra=1.0), "'extra' the fit was not made with"),
    (lambda f: f.assign(colour=["purple"] + list(f["colour"][1:])), "never saw"),
    (lambda f: f.assign(size=[np.nan] + list(f["size"][1:])), "NaN"),
])
def test_new_rows_that_do_not_fit_the_recipe_are_refused(change, needle):
    frame = _table().drop(columns=["id"])
    cols = Columns.learn(frame, "y")
    with pytest.raises(DataError) as exc:
        cols.check_columns(change(frame))
        cols.transform(change(frame))
    assert needle in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize("kwargs,needle", [
    ({"drop": ["nope"]}, "--drop names column(s) 'nope' not found"),
    ({"features": ["size", "nope"]}, "--features names column(s) 'nope'"),
    ({"drop": ["y"]}, "cannot be dropped"),
    ({"features": ["size"], "drop": ["size"]}, "both in --features and --drop"),
    ({"features": ["size", "y"]}, "also listed in --features"),
    ({"features": []}, "--features is empty"),
])
def test_bad_column_choices_are_one_line(kwargs, needle):
    with pytest.raises(DataError) as exc:
        Columns.learn(_table(), "y", **kwargs)
    assert needle in str(exc.value)


def test_too_many_levels_are_refused():
    frame = _table(n=120).assign(code=[f"c{i}" for i in range(120)])
    with pytest.raises(DataError, match="120 levels"):
        Columns.learn(frame, "y")


def test_file_loading_uses_the_recipe_and_warns_on_scales(tmp_path):
    frame = _table().assign(tiny=lambda f: f["size"] * 1e-4)
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    with pytest.warns(UserWarning, match="differ by"):
        data = load_file(path, "y", drop=["id"])
    assert data.columns is not None and data.feature_names == data.columns.feature_names
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # standardised: no scale warning
        std = load_dataset(str(path), "y", drop=["id"], standardize=True)
    np.testing.assert_allclose(std.X.std(axis=0), 1.0, rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # similar scales: quiet
        load_file(path, "y", features=["size", "colour"])
    with pytest.raises(DataError, match="built-in"):
        load_dataset("diabetes", features=["age"])
    assert abs(load_dataset("diabetes", standardize=True).X.std(axis=0) - 1).max() < 1e-12
