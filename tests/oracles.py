"""Reference solutions written from textbook optimality conditions, for the tests only.

None of this uses bayesreg: these are the oracles bayesreg is checked against.
"""

from __future__ import annotations

import numpy as np
import torch


def random_problem(n: int, d: int, seed: int, *, sparse: bool = False):
    """A regression problem with correlated columns, non-zero column means and an intercept."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((d, d)) / np.sqrt(d)
    X = rng.standard_normal((n, d)) @ (np.eye(d) + 0.3 * A) + rng.normal(0, 2, size=d)
    w = rng.standard_normal(d)
    if sparse:
        w[rng.random(d) < 0.5] = 0.0
    y = X @ w + 1.5 + rng.normal(0, 0.5, size=n)
    return X, y


def elastic_net_canonical(X, y, lam1: float, lam2: float, support_guess: np.ndarray, tol: float = 1e-9):
    """Exact minimiser of ½Σ(y − Xw − b)² + λ₁‖w‖₁ + (λ₂/2)‖w‖² (b unpenalised), given the right support.

    On the support A with signs s the stationarity condition is linear:
    (X_Aᶜᵀ X_Aᶜ + λ₂ I) w_A = X_Aᶜᵀ yᶜ − λ₁ s_A (ᶜ: centred). The result is accepted only if it satisfies the
    KKT conditions (signs agree; |X_jᶜᵀ rᶜ| ≤ λ₁ off the support), which makes it the unique minimiser.
    """
    Xc = X - X.mean(axis=0)
    yc = y - y.mean()
    A = np.flatnonzero(support_guess != 0)
    s = np.sign(support_guess[A])
    w = np.zeros(X.shape[1])
    if A.size:
        XA = Xc[:, A]
        w[A] = np.linalg.solve(XA.T @ XA + lam2 * np.eye(A.size), XA.T @ yc - lam1 * s)
        assert np.all(np.sign(w[A]) == s), "support guess has wrong signs: not the minimiser"
    grad = Xc.T @ (yc - Xc @ w) - lam2 * w
    off = np.setdiff1d(np.arange(X.shape[1]), A)
    assert np.all(np.abs(grad[off]) <= lam1 * (1 + tol)), "KKT violated off the support: not the minimiser"
    b = y.mean() - X.mean(axis=0) @ w
    return w, b


def heavy_ball(hessian: np.ndarray) -> tuple[float, float]:
    """Polyak's optimal (lr, momentum) for a quadratic with this Hessian: converges in O(√κ) steps."""
    eig = np.linalg.eigvalsh(hessian)
    L, mu = eig.max(), eig.min()
    return 4.0 / (np.sqrt(L) + np.sqrt(mu)) ** 2, ((np.sqrt(L) - np.sqrt(mu)) / (np.sqrt(L) + np.sqrt(mu))) ** 2


def full_batch_descent(loss_fn, X, y, *, lr: float, momentum: float = 0.0, weight_decay: float = 0.0,
                       max_steps: int = 100_000, tol: float = 1e-14):
    """Minimise ``loss_fn(pred, y, w)`` with ``torch.optim.SGD`` on the full batch (float64) until a step is
    below ``tol``; weight decay on w only (the bias is a separate parameter group). Returns (w, b, steps)."""
    Xt = torch.as_tensor(X, dtype=torch.float64)
    yt = torch.as_tensor(y, dtype=torch.float64)
    w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([{"params": [w], "weight_decay": weight_decay}, {"params": [b], "weight_decay": 0.0}],
                          lr=lr, momentum=momentum)
    for step in range(1, max_steps + 1):
        prev = torch.cat([w.detach(), b.detach().reshape(1)])
        opt.zero_grad()
        loss_fn(Xt @ w + b, yt, w).backward()
        opt.step()
        if torch.max(torch.abs(torch.cat([w.detach(), b.detach().reshape(1)]) - prev)) < tol:
            return w.detach().numpy(), b.detach().item(), step
    raise AssertionError(f"gradient descent did not converge in {max_steps} steps")


def rel_err(a, b) -> float:
    """max|a − b| / max|b|."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))
