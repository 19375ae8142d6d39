"""Nothing lost, nothing half-written: every bad output path and hostile number is refused before any work, as one
line with exit status 2, and leaves the file system as it was."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest

from bayesreg.cli import main
from bayesreg.outputs import RESULTS_MARKER
from bayesreg.resources import check_draws_memory, configure_threads
from bayesreg.streaming import choose_engine
from scripts import run_cli

GAUSS = ["--prior", "gaussian", "--tau", "20", "--sigma", "54"]


def _one_line(code, out, err):
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and "Traceback" not in err and ": error: " in err, err
    return err


def _snapshot(root):
    return {p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None) for p in root.rglob("*")}


# ---------------------------------------------------------------------------------------------- output paths

def test_force_never_replaces_a_users_file(tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("my notes")
    before = _snapshot(tmp_path)
    err = _one_line(*run_cli(capsys, "fit", "--data", "diabetes", *GAUSS, "--out", str(target), "--force"))
    assert "is a file" in err and "will not replace it" in err
    assert _snapshot(tmp_path) == before


def test_force_never_replaces_someone_elses_directory(tmp_path, capsys):
    theirs = tmp_path / "thesis"
    theirs.mkdir()
    (theirs / "chapter1.tex").write_text("\\chapter{One}")
    before = _snapshot(tmp_path)
    err = _one_line(*run_cli(capsys, "fit", "--data", "diabetes", *GAUSS, "--out", str(theirs), "--force"))
    assert "did not write" in err
    assert _snapshot(tmp_path) == before


def test_force_replaces_our_own_results(tmp_path, capsys):
    out = tmp_path / "fit"
    assert run_cli(capsys, "fit", "--data", "diabetes", *GAUSS, "--out", str(out), "--no-plots")[0] == 0
    assert (out / RESULTS_MARKER).exists()
    err = _one_line(*run_cli(capsys, "fit", "--data", "diabetes", *GAUSS, "--out", str(out), "--no-plots"))
    assert "already holds results" in err and "--force" in err
    code, _, _ = run_cli(capsys, "fit", "--data", "diabetes", *GAUSS, "--seed", "3", "--out", str(out), "--no-plots",
                      "--force")
    assert code == 0 and json.loads((out / "summary.json").read_text())["seed"] == 3


@pytest.mark.parametrize("option", ["--json", "--plot"])
def test_compare_refuses_to_overwrite_without_force(tmp_path, capsys, option):
    path = tmp_path / ("out.json" if option == "--json" else "out.png")
    path.write_text("keep me")
    argv = ["compare", "--data", "diabetes", *GAUSS, "--methods", "closed_form", option, str(path)]
    err = _one_line(*run_cli(capsys, *argv))
    assert "already exists" in err and "--force" in err and path.read_text() == "keep me"
    assert run_cli(capsys, *argv, "--force")[0] == 0 and path.read_bytes() != b"keep me"


@pytest.mark.parametrize("command", [
    ["fit", "--data", "diabetes", *GAUSS, "--out", "{bad}/fit"],
    ["compare", "--data", "diabetes", *GAUSS, "--json", "{bad}/map.json"],
    ["compare", "--data", "diabetes", *GAUSS, "--plot", "{bad}/map.png"],
])
def test_unwritable_output_is_refused_before_the_work(tmp_path, capsys, monkeypatch, command):
    blocker = tmp_path / "a-file"  # a path under a file can never be created, even by root
    blocker.write_text("")
    ran = []
    monkeypatch.setattr("bayesreg.cli._load_source", lambda *a, **k: ran.append(1))
    argv = [part.replace("{bad}", str(blocker)) for part in command]
    err = _one_line(*run_cli(capsys, *argv))
    assert "cannot write" in err and "is a file, not a directory" in err
    assert not ran and sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


# ----------------------------------------------------------------------------------------------- hostile numbers

@pytest.mark.parametrize("argv,needle", [
    (["prior", "l2", "--lam", "1e-320", "--sigma", "1"], "outside the range"),
    (["prior", "l1", "--lam", "1e308", "--sigma", "1"], "outside the range"),
    (["prior", "l2", "--lam", "3", "--sigma", "1e200", "--n", "20", "--convention", "d2l"], "outside the range"),
    (["prior", "l2", "--lam", "nan", "--sigma", "1"], "finite"),
    (["fit", "--data", "diabetes", "--prior", "gaussian", "--tau", "20", "--sigma", "1e300", "--out", "{out}"],
     "outside the range"),
    (["fit", "--data", "diabetes", "--prior", "gaussian", "--tau", "1e-300", "--sigma", "54", "--out", "{out}"],
     "outside the range"),
    (["fit", "--data", "diabetes", *GAUSS, "--seed", "-1", "--out", "{out}"], "--seed"),
    (["fit", "--data", "diabetes", *GAUSS, "--seed", "99999999999", "--out", "{out}"], "--seed"),
    (["fit", "--data", "diabetes", *GAUSS, "--draws", "100000000000", "--out", "{out}"], "of memory"),
    (["compare", "--data", "diabetes", "--prior", "gaussian", "--tau", "20", "--sigma", "1e300"], "outside the range"),
])
def test_hostile_numbers_are_one_line(tmp_path, capsys, argv, needle):
    argv = [a.replace("{out}", str(tmp_path / "out")) for a in argv]
    err = _one_line(*run_cli(capsys, *argv))
    assert needle in err
    assert not list(tmp_path.iterdir())


def test_draws_memory_check_names_the_sizes():
    check_draws_memory(4, 1000, 10, available=10**9)  # 4 × 1000 × 22 × 8 × 4 bytes: fine
    with pytest.raises(Exception, match="use at most --draws"):
        check_draws_memory(4, 10**9, 10, available=10**9)


# ------------------------------------------------------------------------------------------------ engine, threads

def test_engine_auto_streams_a_file_too_large_for_memory(tmp_path, capsys, monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    path = tmp_path / "rows.csv"
    pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "c": X[:, 2], "y": X @ [1.0, -2.0, 0.5] + rng.normal(size=400)}).to_csv(
        path, index=False)
    assert choose_engine(str(path), "auto", rows_needed=False)[0] == "memory"
    engine, note = choose_engine(str(path), "auto", rows_needed=False, available=1000)
    assert engine == "chunks" and "streamed" in note
    engine, note = choose_engine(str(path), "auto", rows_needed=True, available=1000)
    assert engine == "memory" and "trains on the rows" in note
    assert choose_engine("diabetes", "auto", rows_needed=False, available=1) == ("memory", "")
    # through the command line: the same posterior as --engine memory, with a note naming what was skipped
    monkeypatch.setattr("bayesreg.streaming.AUTO_MEMORY_SHARE", 1e-12)  # as if the file were huge
    out = tmp_path / "fit"
    code, _, err = run_cli(capsys, "fit", "--data", str(path), "--target", "y", "--prior", "gaussian", "--tau", "1",
                        "--sigma", "1", "--out", str(out), "--no-plots")
    assert code == 0 and "streamed in chunks" in err and "skipped" in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["engine"] == "chunks"
    monkeypatch.undo()
    code, _, _ = run_cli(capsys, "fit", "--data", str(path), "--target", "y", "--prior", "gaussian", "--tau", "1",
                      "--sigma", "1", "--out", str(tmp_path / "mem"), "--no-plots")
    memory = json.loads((tmp_path / "mem" / "summary.json").read_text())
    assert memory["engine"] == "memory"
    for name, p in summary["parameters"].items():
        assert p["mean"] == pytest.approx(memory["parameters"][name]["mean"], rel=1e-9, abs=1e-12)


def test_small_problems_run_on_one_thread(monkeypatch):
    import torch

    before = torch.get_num_threads()
    try:
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        monkeypatch.delenv("BAYESREG_THREADS", raising=False)
        assert configure_threads(442, 10) == 1 and torch.get_num_threads() == 1
        assert configure_threads(10_000_000, 50) == 0  # large: the libraries' defaults
        monkeypatch.setenv("BAYESREG_THREADS", "2")
        assert configure_threads(442, 10) == 2 and torch.get_num_threads() == 2
        monkeypatch.setenv("BAYESREG_THREADS", "many")
        with pytest.raises(Exception, match="BAYESREG_THREADS"):
            configure_threads(442, 10)
        monkeypatch.delenv("BAYESREG_THREADS")
        monkeypatch.setenv("OMP_NUM_THREADS", "2")
        assert configure_threads(442, 10) == 0  # the user chose
    finally:
        torch.set_num_threads(before)


# ----------------------------------------------------------------------------------------------------- warnings

def test_warnings_print_as_one_clean_line(tmp_path, capsys):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 2))
    path = tmp_path / "const.csv"
    pd.DataFrame({"a": X[:, 0], "flat": 1.0, "y": X[:, 0] + rng.normal(size=60)}).to_csv(path, index=False)
    code, _, err = run_cli(capsys, "compare", "--data", str(path), "--target", "y", *GAUSS[:2], "--tau", "1",
                        "--sigma", "1", "--methods", "closed_form")
    assert code == 0
    lines = [line for line in err.splitlines() if "warning" in line]
    assert lines and all(line.startswith("bayesreg compare: warning") for line in lines), err
    assert "warnings.warn" not in err and ".py:" not in err


def test_main_restores_the_warning_printer():
    import warnings

    before = warnings.showwarning
    try:
        main(["prior", "l2", "--lam", "1", "--sigma", "1", "--json"])
    finally:
        sys.stdout.flush()
    assert warnings.showwarning is before
