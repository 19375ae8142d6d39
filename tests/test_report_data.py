"""`bayesreg report --data FILE --target Y`: the studies that apply to any data set, run on a user's file."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from bayesreg.data import load_diabetes
from scripts import run_cli


@pytest.fixture(scope="module")
def user_csv(tmp_path_factory):
    data = load_diabetes()
    frame = pd.DataFrame(data.X, columns=list(data.feature_names))
    frame["clinic"] = np.random.default_rng(0).choice(["north", "south", "east"], size=data.n)
    frame["patient_id"] = np.arange(data.n)
    frame["progression"] = data.y
    path = tmp_path_factory.mktemp("user") / "patients.csv"
    frame.to_csv(path, index=False)
    return path


def test_report_on_a_users_file(user_csv, tmp_path, capsys):
    out = tmp_path / "report"
    code, stdout, err = run_cli(capsys, "report", "--data", str(user_csv), "--target", "progression", "--drop",
                             "patient_id", "--standardize", "--quick", "--out", str(out))
    assert code == 0, err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["all_pass"] and {c["study"] for c in summary["checks"]} == {"your_data"}
    mine = summary["studies"]["your_data"]
    assert mine["d"] == 12 and mine["n"] == 442  # 10 numeric + 2 one-hot columns for three clinics
    assert set(summary["selection"]["patients.csv"]) == {"evidence", "validation", "cv", "hyperprior"}
    page = (out / "index.html").read_text()
    assert "What this report found" in page and "reference level" in page and "patients.csv" in page
    assert "all 3 checks pass" in stdout


@pytest.mark.parametrize("argv,needle", [
    (["--data", "{csv}", "--target", "progression", "--only", "chapter"], "--only"),
    (["--target", "progression"], "--target is for a data set"),
    (["--data", "{csv}"], "no target column"),
    (["--data", "{csv}", "--target", "progression", "--drop", "nope"], "'nope' not found"),
])
def test_bad_report_options_are_one_line(user_csv, tmp_path, capsys, argv, needle):
    argv = [a.replace("{csv}", str(user_csv)) for a in argv]
    code, _, err = run_cli(capsys, "report", *argv, "--out", str(tmp_path / "r"))
    assert code == 2 and needle in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "r").exists()
