"""Projection-predictive ranking against oracles written elsewhere: scikit-learn's least squares for each draw's
projection and for every candidate of the forward search, ArviZ's PSIS-LOO for the elpd, and the identity that the
projection onto every column reproduces the reference."""

import math

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

import bayesreg as br
from bayesreg.errors import SpecError
from bayesreg.projection import project, projection_ranking


def _reference(seed=0, n=40, d=6, draws=60, bias=True):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) @ np.linalg.cholesky(0.5 * np.eye(d) + 0.5).T   # correlated columns
    w_true = np.zeros(d)
    w_true[:3] = [2.0, -1.5, 1.0]
    y = X @ w_true + (0.7 if bias else 0.0) + rng.normal(size=n)
    w = w_true + 0.3 * rng.normal(size=(draws, d))
    b = 0.7 + 0.1 * rng.normal(size=draws)
    sigma = np.exp(0.1 * rng.normal(size=draws))
    return X, y, w, b, sigma


@pytest.mark.parametrize("bias", [True, False])
def test_projection_of_each_draw_is_least_squares_on_its_fitted_values(bias):
    X, _, w, b, sigma = _reference(bias=bias)
    columns = [0, 2, 5]
    coef, c, s_perp = project(w, b, sigma, X, columns, bias=bias)
    for s in range(w.shape[0]):
        mu = X @ w[s] + (b[s] if bias else 0.0)
        fit = LinearRegression(fit_intercept=bias).fit(X[:, columns], mu)
        np.testing.assert_allclose(coef[s], fit.coef_, rtol=1e-9, atol=1e-10)
        assert c[s] == pytest.approx(fit.intercept_ if bias else 0.0, abs=1e-9)
        rss = np.sum((mu - fit.predict(X[:, columns])) ** 2)
        assert s_perp[s] == pytest.approx(math.sqrt(sigma[s] ** 2 + rss / X.shape[0]), rel=1e-10)


@pytest.mark.parametrize("bias", [True, False])
def test_forward_search_picks_what_brute_force_least_squares_picks(bias):
    """At every step, refit every candidate submodel by scikit-learn for every draw and take the smallest summed
    divergence Σ_s log(σ_s² + RSS_s/n): the same column as the search's."""
    X, y, w, b, sigma = _reference(seed=3, bias=bias)
    ranking = projection_ranking(w, b, sigma, X, y, bias=bias, max_size=5)
    n = X.shape[0]
    mus = X @ w.T + (b if bias else 0.0)
    chosen: list[int] = []
    for step in range(5):
        scores = {}
        for j in set(range(X.shape[1])) - set(chosen):
            cols = chosen + [j]
            fit = LinearRegression(fit_intercept=bias).fit(X[:, cols], mus)
            rss = np.sum((mus - fit.predict(X[:, cols])) ** 2, axis=0)
            scores[j] = float(np.sum(np.log(sigma**2 + rss / n)))
        best = min(scores, key=scores.get)
        assert ranking.order[step] == best, step
        chosen.append(best)
    assert np.all(np.diff(ranking.kl) <= 1e-12)  # each column added lowers the divergence


def test_elpd_is_arviz_loo_and_every_column_reproduces_the_reference():
    """The full-size projection of draws that live in the column space is the reference itself (KL 0, same elpd);
    the reference's elpd equals az.loo on its own pointwise log-likelihood."""
    import arviz as az
    from scipy import stats

    X, y, w, b, sigma = _reference(seed=1)
    ranking = projection_ranking(w, b, sigma, X, y, max_size=X.shape[1])
    assert ranking.kl[-1] == pytest.approx(0.0, abs=1e-12)
    assert ranking.elpd[-1] == pytest.approx(ranking.reference_elpd, abs=1e-9)
    ll = stats.norm.logpdf(y[None, :], (X @ w.T + b).T, sigma[:, None])
    idata = az.from_dict(posterior={"a": np.zeros((1, len(w)))}, log_likelihood={"y": ll[None]})
    assert ranking.reference_elpd == pytest.approx(float(az.loo(idata).elpd_loo), abs=1e-9)
    assert sorted(ranking.order) == list(range(X.shape[1]))


def test_a_clear_sparse_truth_is_ranked_first_and_sized():
    """Three strong signals among ten columns, a conjugate posterior (exact, ridge-like prior): the search ranks
    the three first, and the suggested size is 3."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(300, 10))
    y = X[:, [4, 1, 8]] @ np.array([1.0, -0.8, 0.6]) + 0.5 + rng.normal(size=300)
    post = br.fit(br.from_arrays(X, y), br.Model.gaussian(br.Gaussian(tau=1.0), 1.0), method="exact", draws=500,
                  seed=0)
    ranking = projection_ranking(post.draws["w"], post.draws["b"], 1.0, X, y)
    assert set(ranking.order[:3]) == {1, 4, 8}
    assert ranking.suggested_size == 3
    out = ranking.to_dict()
    assert out["suggested"] == list(ranking.ranked[:3]) and len(out["sizes"]) == len(ranking.order) + 1


def test_bad_input_is_refused_in_one_line():
    X, y, w, b, sigma = _reference()
    with pytest.raises(SpecError, match="X has shape"):
        projection_ranking(w[:, :3], b, sigma, X, y)
    with pytest.raises(SpecError, match="σ of every draw must be positive"):
        projection_ranking(w, b, -sigma, X, y)
    with pytest.raises(SpecError, match="y has 3 values"):
        projection_ranking(w, b, sigma, X, y[:3])
    with pytest.raises(SpecError, match="max_size must be at least 1"):
        projection_ranking(w, b, sigma, X, y, max_size=0)


def test_fit_leaves_the_ranking_out_of_summary_when_it_would_be_too_big():
    """`bayesreg fit` bounds the ranking's memory (n × draws) and work (size × n × d × draws): 10⁶ rows × 100
    features would leave fewer than 50 draws, so it says so in a note instead."""
    from types import SimpleNamespace

    from bayesreg.cli import _projection_ranking

    note = _projection_ranking(None, SimpleNamespace(n=10**6, d=100), True)
    assert isinstance(note, str) and "too many for the projection-predictive ranking" in note


def test_fit_keeps_going_with_a_note_when_the_data_cannot_be_ranked():
    """Two rows leave no submodel to rank: the ranking's one-line refusal becomes a note, not a failed fit."""
    from types import SimpleNamespace

    from bayesreg.cli import _projection_ranking

    rng = np.random.default_rng(0)
    draws = {"w": rng.normal(size=(2, 50, 3)), "b": rng.normal(size=(2, 50))}
    posterior = SimpleNamespace(sigma_fixed=1.0, draws=draws)
    data = SimpleNamespace(n=2, d=3, X=rng.normal(size=(2, 3)), y=rng.normal(size=2), feature_names=("a", "b", "c"))
    note = _projection_ranking(posterior, data, True)
    assert isinstance(note, str) and note.startswith("no projection-predictive ranking: ") and "rows" in note


# ------------------------------------------------------------------------------------------ the validated search

def _conjugate_problem(seed=5, n=48, d=6):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = X[:, [1, 4]] @ np.array([1.2, -0.9]) + 0.3 + rng.normal(size=n)
    return X, y


def _exact_refit(y, tau, draws, seed, kept):
    """A refit by the exact conjugate posterior (w ~ N(0, τ²), b flat, σ = 1) on the fold's matrix X that keeps
    each fold's rows, draws and matrix."""
    model = br.Model.gaussian(br.Gaussian(tau=tau), 1.0)

    def refit(rows, X):
        post = br.fit(br.from_arrays(X[rows], y[rows]), model, method="exact", draws=draws, seed=seed)
        kept.append((np.array(rows), post.draws["w"].reshape(-1, X.shape[1]), post.draws["b"].ravel(), X))
        return post.draws["w"], post.draws["b"], 1.0

    return refit


@pytest.mark.parametrize("standardised", [False, True])
def test_validated_reference_elpd_is_the_exact_held_out_predictive(standardised):
    """With an exact conjugate reference (w ~ N(0, τ²), b flat, σ = 1) each held-out row's predictive is
    N(zᵀm, 1 + zᵀA⁻¹z), z = (x, 1), A = ZᵀZ + diag(1/τ², 0), m = A⁻¹Zᵀy on the fold's training rows: the
    reference's held-out elpd must match its sum over scikit-learn's KFold(5, shuffle, seed) to the Monte Carlo
    error of log-mean-exp over the draws (delta method, summed over rows), and the projection onto every column
    reproduces the reference on every fold (difference 0). Standardised per fold (``design``), x is every row
    standardised by scikit-learn's ``StandardScaler`` fitted on the training rows alone (columns of sd 3 and mean
    5 here, so a fold that read the unscaled or the whole-table matrix anywhere would miss)."""
    from scipy import stats
    from sklearn.model_selection import KFold
    from sklearn.preprocessing import StandardScaler

    from bayesreg.projection import validate_search

    X, y = _conjugate_problem()
    if standardised:
        X = 5.0 + 3.0 * X
    n, d = X.shape
    tau = 0.8
    post = br.fit(br.from_arrays(X, y), br.Model.gaussian(br.Gaussian(tau=tau), 1.0), method="exact", draws=500)
    ranking = projection_ranking(post.draws["w"], post.draws["b"], 1.0, X, y, max_size=d)
    kept = []
    design = (lambda rows: StandardScaler().fit(X[rows]).transform(X)) if standardised else None
    result = validate_search(ranking, _exact_refit(y, tau, 1000, 3, kept), X, y, folds=5, seed=11,
                             max_draws=4000, design=design)
    exact, mc_var = 0.0, 0.0
    for (train, test), (rows, w, b, X_fold) in zip(KFold(5, shuffle=True, random_state=11).split(X), kept,
                                                   strict=True):
        np.testing.assert_array_equal(train, rows)
        Xo = StandardScaler().fit(X[train]).transform(X) if standardised else X     # the fold's own features
        np.testing.assert_allclose(X_fold, Xo, rtol=1e-12)
        Z = np.column_stack([Xo[train], np.ones(len(train))])
        A = Z.T @ Z + np.diag(np.r_[np.full(d, 1 / tau**2), 0.0])
        m = np.linalg.solve(A, Z.T @ y[train])
        Zt = np.column_stack([Xo[test], np.ones(len(test))])
        var = 1.0 + np.einsum("ij,ji->i", Zt, np.linalg.solve(A, Zt.T))
        exact += stats.norm.logpdf(y[test], Zt @ m, np.sqrt(var)).sum()
        p = stats.norm.pdf(y[test][None, :], (Xo[test] @ w.T).T + b[:, None], 1.0)   # (S, held-out rows)
        mc_var += np.sum(p.var(0) / (len(p) * p.mean(0) ** 2))
    assert abs(result.reference_elpd - exact) < 5 * math.sqrt(mc_var), (result.reference_elpd, exact, mc_var)
    assert result.diff[d] == pytest.approx(0.0, abs=1e-9)
    assert len(result.elpd) == d + 1 and result.folds == 5 and result.seed == 11


@pytest.mark.parametrize("standardised", [False, True])
def test_validated_search_is_each_folds_own_search_scored_on_its_held_out_rows(standardised):
    """Every fold's order is the search run on its training rows alone, and each size's held-out elpd is what
    scikit-learn's least squares (the projection of every draw) and SciPy's normal density give on the held-out
    rows, log-mean-exp over the draws; standardised per fold, on the features scikit-learn's ``StandardScaler``
    fitted on the training rows gives."""
    from scipy import stats
    from scipy.special import logsumexp
    from sklearn.model_selection import KFold
    from sklearn.preprocessing import StandardScaler

    from bayesreg.projection import validate_search

    X0, y = _conjugate_problem(seed=8, n=40, d=5)
    X0 = 5.0 + 3.0 * X0 if standardised else X0
    n, d = X0.shape
    post = br.fit(br.from_arrays(X0, y), br.Model.gaussian(br.Gaussian(tau=1.0), 1.0), method="exact", draws=50)
    ranking = projection_ranking(post.draws["w"], post.draws["b"], 1.0, X0, y, max_size=4)
    kept = []
    design = (lambda rows: StandardScaler().fit(X0[rows]).transform(X0)) if standardised else None
    result = validate_search(ranking, _exact_refit(y, 1.0, 25, 0, kept), X0, y, folds=4, seed=2, design=design)
    lpd = np.zeros((5, n))
    folds = KFold(4, shuffle=True, random_state=2).split(X0)
    for fold, ((rows, w, b, _), (_, test)) in enumerate(zip(kept, folds, strict=True)):
        X = StandardScaler().fit(X0[rows]).transform(X0) if standardised else X0
        own = projection_ranking(w, b, 1.0, X[rows], y[rows], max_size=4)
        assert result.fold_orders[fold] == own.order
        mus = X[rows] @ w.T + b                                       # (rows, S)
        for k in range(5):
            cols = list(own.order[:k])
            pred, s2 = [], []
            for s in range(w.shape[0]):
                if cols:
                    fit = LinearRegression().fit(X[rows][:, cols], mus[:, s])
                    pred.append(fit.predict(X[test][:, cols]))
                    rss = np.sum((mus[:, s] - fit.predict(X[rows][:, cols])) ** 2)
                else:
                    pred.append(np.full(len(test), mus[:, s].mean()))
                    rss = np.sum((mus[:, s] - mus[:, s].mean()) ** 2)
                s2.append(1.0 + rss / len(rows))
            ll = stats.norm.logpdf(y[test][None, :], np.array(pred), np.sqrt(np.array(s2))[:, None])
            lpd[k, test] = logsumexp(ll, axis=0) - math.log(len(ll))
    np.testing.assert_allclose(result.elpd, lpd.sum(1), rtol=1e-9)


def test_validated_search_is_not_optimistic_where_the_in_sample_search_is():
    """Three signals among 24 columns, 120 rows: past the true size the in-sample (PSIS-LOO) elpd keeps rising, by
    up to 5, because the search chose those noise columns on the same rows; held out, every column past the third
    lowers it. Both suggest 3; every fold's search puts the three signals first. (Seeds 4 and 6 behave alike: up
    to +1.6 and +4.8 in sample against ≤ −1.4 held out.)"""
    from bayesreg.projection import validate_search

    rng = np.random.default_rng(5)
    X = rng.normal(size=(120, 24))
    y = X[:, [2, 9, 17]] @ np.array([1.5, -1.2, 1.0]) + rng.normal(size=120)
    model = br.Model.gaussian(br.Gaussian(tau=0.5), 1.0)
    post = br.fit(br.from_arrays(X, y), model, method="exact", draws=250)
    ranking = projection_ranking(post.draws["w"], post.draws["b"], 1.0, X, y, max_size=12)
    result = validate_search(ranking, _exact_refit(y, 0.5, 250, 1, []), X, y, folds=5, seed=0)
    assert set(ranking.order[:3]) == {2, 9, 17}
    in_sample, held_out = ranking.elpd[4:] - ranking.elpd[3], result.elpd[4:] - result.elpd[3]
    assert in_sample.max() > 3.0 and held_out.max() < 0.0
    assert np.all(in_sample > held_out)
    assert ranking.suggested_size == result.suggested_size == 3
    assert np.all(result.stability[:3] == 1.0)


def test_validated_search_refuses_bad_input_in_one_line():
    from bayesreg.projection import validate_search

    X, y, w, b, sigma = _reference()
    ranking = projection_ranking(w, b, sigma, X, y, max_size=3)
    refit = lambda rows, X: (w, b, sigma)  # noqa: E731
    with pytest.raises(SpecError, match="2 ≤ folds ≤ rows"):
        validate_search(ranking, refit, X, y, folds=1)
    with pytest.raises(SpecError, match="2 ≤ folds ≤ rows"):
        validate_search(ranking, refit, X, y, folds=X.shape[0] + 1)
    with pytest.raises(SpecError, match="X has 3 columns but the ranking has 6"):
        validate_search(ranking, refit, X[:, :3], y)
    with pytest.raises(SpecError, match="y has 3 values"):
        validate_search(ranking, refit, X, y[:3])
    with pytest.raises(SpecError, match=r"design\(rows\) gave a \(.*\) matrix for the"):
        validate_search(ranking, refit, X, y, design=lambda rows: X[rows])


def test_cli_validated_search_standardises_each_fold_on_its_training_rows(tmp_path, capsys):
    """With --standardize each fold's refit, search and held-out rows read the features standardised by the
    fold's training rows alone (scikit-learn's StandardScaler fitted on them), not by the whole table."""
    import json

    from sklearn.preprocessing import StandardScaler

    from bayesreg.projection import validate_search
    from tests.scripts import run_cli

    code, _, err = run_cli(capsys, "fit", "--data", "diabetes", "--standardize", "--prior", "gaussian", "--tau", "20",
                           "--sigma", "54", "--draws", "250", "--validate-search", "3", "--no-plots", "--out",
                           str(tmp_path / "fit"))
    assert code == 0, err
    validated = json.loads((tmp_path / "fit" / "summary.json").read_text())["variable_selection"]["projection"][
        "validated"]
    data, raw = br.load_dataset("diabetes", standardize=True), br.load_dataset("diabetes")
    model = br.Model.gaussian(br.Gaussian(tau=20.0), 54.0)
    full = br.fit(data, model, method="exact", draws=250, seed=0)
    ranking = projection_ranking(full.draws["w"], full.draws["b"], 54.0, data.X, data.y, names=data.feature_names)
    seen = []

    def refit(rows, X):
        seen.append(X)
        post = br.fit(br.from_arrays(X[rows], data.y[rows]), model, method="exact", draws=250, seed=0)
        return post.draws["w"], post.draws["b"], 54.0

    direct = validate_search(ranking, refit, data.X, data.y, folds=3, seed=0,
                             design=lambda rows: StandardScaler().fit(raw.X[rows]).transform(raw.X))
    validated.pop("fold_health")
    expected = json.loads(json.dumps(direct.to_dict(ranking)))   # equal to rounding: z·s + c recovers the rows
    for got, want in zip(validated.pop("sizes"), expected.pop("sizes"), strict=True):
        assert got.keys() == want.keys()
        assert all(got[k] == pytest.approx(want[k], rel=1e-11) if isinstance(want[k], float) else got[k] == want[k]
                   for k in want), (got, want)
    assert validated == expected
    assert all(np.abs(X - data.X).max() > 1e-3 for X in seen)    # the whole table's scaling differs on each fold


def test_cli_validates_the_search_with_the_same_fit_on_each_folds_rows(tmp_path, capsys):
    """`bayesreg fit --validate-search 3` stores what validate_search gives with the fit repeated (same method,
    draws and seed) on each fold's rows, with each refit's health verdict (a bad one becomes a note), names the
    validated size on the terminal and draws both curves; where
    there is no ranking to validate it is a one-line error and nothing is written; more folds than rows leave the
    fit standing with a note."""
    import json

    from bayesreg.projection import validate_search
    from tests.scripts import run_cli

    common = ["fit", "--data", "diabetes", "--prior", "gaussian", "--tau", "20", "--sigma", "54", "--draws", "250"]
    code, out, err = run_cli(capsys, *common, "--validate-search", "3", "--out", str(tmp_path / "fit"))
    assert code == 0, err
    summary = json.loads((tmp_path / "fit" / "summary.json").read_text())
    validated = summary["variable_selection"]["projection"]["validated"]
    assert len(validated["fold_rankings"]) == 3 and validated["sizes"][0]["size"] == 0
    assert "validated by 3-fold cross-validation of the search: suggested size" in out
    assert (tmp_path / "fit" / "projection.png").exists()

    diabetes = br.load_diabetes()
    model = br.Model.gaussian(br.Gaussian(tau=20.0), 54.0)
    full = br.fit(diabetes, model, method="exact", draws=250, seed=0)
    ranking = projection_ranking(full.draws["w"], full.draws["b"], 54.0, diabetes.X, diabetes.y,
                                 names=diabetes.feature_names)

    def refit(rows, X):
        post = br.fit(br.from_arrays(X[rows], diabetes.y[rows]), model, method="exact", draws=250, seed=0)
        return post.draws["w"], post.draws["b"], 54.0

    direct = validate_search(ranking, refit, diabetes.X, diabetes.y, folds=3, seed=0).to_dict(ranking)
    health = validated.pop("fold_health")
    assert validated == json.loads(json.dumps(direct))
    assert [(h["fold"], h["verdict"]) for h in health] == [(1, "ok"), (2, "ok"), (3, "ok")]

    # a refit that mixes badly is named in a note (Gibbs, 4 × 30 draws: too few for the ESS it needs)
    code, _, err = run_cli(capsys, "fit", "--data", "diabetes", "--prior", "laplace", "--scale", "1", "--sigma", "54",
                           "--method", "gibbs", "--draws", "30", "--validate-search", "2", "--no-plots", "--out",
                           str(tmp_path / "short"))
    notes = json.loads((tmp_path / "short" / "summary.json").read_text())["notes"]
    assert code == 0 and sum(n.startswith(f"validated projection search: the fit on fold {k} is unreliable (")
                             and "effective sample size" in n for n in notes for k in (1, 2)) == 2, notes

    code, _, err = run_cli(capsys, *common, "--validate-search", "500", "--no-plots", "--out", str(tmp_path / "many"))
    notes = json.loads((tmp_path / "many" / "summary.json").read_text())["notes"]
    assert code == 0 and "no validated projection search: the validated search needs 2 ≤ folds ≤ rows (442), got 500" \
        in notes
    for extra, message in ((["--validate-search", "1"], "at least 2 folds"),
                           (["--validate-search", "3", "--method", "map"], "--method map gives a point estimate"),
                           (["--validate-search", "3", "--engine", "chunks"], "use --engine memory")):
        code, _, err = run_cli(capsys, *common, *extra, "--out", str(tmp_path / "refused"))
        assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err
        assert not (tmp_path / "refused").exists()
    code, _, err = run_cli(capsys, "fit", "--data", "breast_cancer", "--standardize", "--likelihood", "logistic",
                           "--prior", "gaussian", "--tau", "1", "--validate-search", "3", "--out", str(tmp_path / "c"))
    assert code == 2 and "regression only" in err and not (tmp_path / "c").exists()
