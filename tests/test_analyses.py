"""Each analysis script runs end to end (smoke) and its headline numbers hold."""

import importlib.util
import json
from pathlib import Path

import pytest

ANALYSES = Path(__file__).resolve().parent.parent / "analyses"


def load(name):
    spec = importlib.util.spec_from_file_location(name, ANALYSES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_chapter_prior(tmp_path, capsys):
    assert load("chapter_prior").main(["--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert (tmp_path / "chapter_prior.png").stat().st_size > 10_000
    chapter = summary["chapter"]
    assert chapter["tau"] == pytest.approx(0.01 / 60**0.5)
    # the chapter's prior is far too tight for w = 0.01: its intervals miss the truth; the evidence finds it
    assert chapter["coverage"] < 0.2 and summary["evidence_choice"]["coverage"] > 0.8
    assert summary["evidence_choice"]["tau"] == pytest.approx(0.01, rel=0.5)
    assert "coverage" in capsys.readouterr().out
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary files left behind


def test_chapter_prior_rejects_lam_zero(tmp_path):
    with pytest.raises(SystemExit) as exc:
        load("chapter_prior").main(["--out", str(tmp_path), "--lam", "0"])
    assert exc.value.code == 2 and not (tmp_path / "summary.json").exists()


def test_map_weight_decay(tmp_path, capsys):
    assert load("map_weight_decay").main(["--out", str(tmp_path)]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    for name in ("map_gaussian", "map_laplace", "bias", "chapter_run"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000, name
    gaussian = summary["side_by_side"]["gaussian"]["methods"]
    assert gaussian["sgd_weight_decay"]["max_abs_diff"] < 1e-6 and gaussian["adamw"]["max_abs_diff"] > 1.0
    bias = summary["bias"]
    assert bias["flat"]["b"][-1] == pytest.approx(bias["y_mean"], rel=1e-6) and abs(bias["penalized"]["b"][-1]) < 1e-2
    chapter = summary["chapter"]["3"]
    # the book's run ends with ‖w‖ ≈ 0.36, an order of magnitude from its MAP (‖w_MAP‖ ≈ 0.03): early stopping
    assert 0.3 < chapter["w_norm"] < 0.45 and chapter["map_w_norm"] < 0.05
    assert chapter["l2_distance_to_map"] > 5 * chapter["map_w_norm"]
    assert "chapter run" in capsys.readouterr().out
