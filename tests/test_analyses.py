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
