"""The analyses scripts of the chapter and MAP studies run end to end, and their headline numbers hold.

The scripts render the session's results of the studies (``cached_studies`` in conftest.py): each study runs once.
"""

import json

import pytest

from scripts import load_script as load


def test_every_study_has_a_script_with_main_and_a_docstring():
    from bayesreg.studies import STUDIES

    for name in STUDIES:
        module = load(name)
        assert callable(module.main) and len(module.__doc__) > 200, name


def test_chapter(tmp_path, capsys, cached_studies):
    assert load("chapter").main(["--out", str(tmp_path), "--quick"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["all_pass"] and len(summary["checks"]) >= 5
    for name in ("lambda_sweep", "prior_draws"):
        assert (tmp_path / f"{name}.png").stat().st_size > 20_000, name
    study = summary["studies"]["chapter"]
    implied = study["implied_prior"]
    assert implied["d2l"]["tau"] == pytest.approx(0.01 / 60**0.5, rel=1e-12)
    assert implied["torch_sgd_mse"]["canonical_lam"] == pytest.approx(30.0)
    assert implied["d2l"]["prior_prob_abs_w_ge_true"] < 1e-13
    # the exact MAP interpolates at small λ; the chapter's 100-epoch run does not forget its initialisation
    sweep, sgd = study["sweep"], study["sgd_sweep"]
    assert sweep["train_loss"][0] < 1e-10 and sweep["test_loss"][0] < 0.011
    assert sgd["test_loss"][0] > 50 and sgd["w_norm"][0] > 10
    assert "canonical λ" in capsys.readouterr().out
    assert not list(tmp_path.glob(".*.tmp"))


def test_map_weight_decay(tmp_path, capsys, cached_studies):
    assert load("map_weight_decay").main(["--out", str(tmp_path), "--quick"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["all_pass"]
    for name in ("map_convergence", "bias", "chapter_run"):
        assert (tmp_path / f"{name}.png").stat().st_size > 20_000, name
    study = summary["studies"]["map_weight_decay"]
    gaussian = study["side_by_side"]["gaussian"]["methods"]
    assert gaussian["sgd_weight_decay"]["max_abs_diff"] < 1e-6 and gaussian["adamw"]["max_abs_diff"] > 1.0
    bias = study["bias"]
    assert bias["flat"]["b"][-1] == pytest.approx(bias["y_mean"], rel=1e-6) and abs(bias["penalized"]["b"][-1]) < 1e-2
    chapter = study["chapter"]["3"]
    # the book's run ends with ‖w‖ ≈ 0.36, an order of magnitude from its MAP (‖w_MAP‖ ≈ 0.03): early stopping
    assert 0.3 < chapter["w_norm"] < 0.45 and chapter["map_w_norm"] < 0.05
    assert chapter["l2_distance_to_map"] > 5 * chapter["map_w_norm"]
    assert "AdamW" in (tmp_path / "index.html").read_text()
    assert "subgradient_sgd" in capsys.readouterr().out


def test_script_refuses_existing_results_and_bad_seed(tmp_path, capsys):
    (tmp_path / "summary.json").write_text("{}")
    assert load("chapter").main(["--out", str(tmp_path), "--quick"]) == 2
    assert "--force" in capsys.readouterr().err
    assert (tmp_path / "summary.json").read_text() == "{}"
    with pytest.raises(SystemExit) as exc:  # a seed outside 0..2³²−1 is a usage error, exit 2
        load("chapter").main(["--out", str(tmp_path / "new"), "--seed", "-1"])
    assert exc.value.code == 2 and "--seed" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()
