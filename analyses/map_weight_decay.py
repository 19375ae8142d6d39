"""MAP ≡ weight decay: every way to reach the MAP, and where practice breaks the equivalence.

1. Side by side on scikit-learn's diabetes data (σ = 54): a Gaussian prior (τ = 20) and a Laplace prior
   (scikit-learn's Lasso(alpha=0.5)). The closed form / coordinate descent is the reference (checked against
   scikit-learn); Pyro MAP, SGD(weight_decay), Adam(weight_decay) and proximal SGD reach it; AdamW and the
   subgradient of λ‖w‖₁ do not.
2. The bias: penalising b like a weight (what SGD(model.parameters(), weight_decay=wd) does) is the prior
   b ~ N(0, τ²); over a λ sweep it goes to 0 while a flat bias stays at the mean of y.
3. The chapter's own run (Dive into Deep Learning §3.7: minibatch 5, lr 0.003, 100 epochs, λ = 0 and 3):
   its ‖w‖ and its distance from the exact MAP: early stopping, not the penalty's optimum.

Writes OUT/index.html, OUT/summary.json and the figures; prints the tables and checks.

usage: python analyses/map_weight_decay.py [--out out/map_weight_decay] [--seed 0] [--quick] [--force]
"""

import sys

from bayesreg.report import study_main
from bayesreg.studies import map_weight_decay


def main(argv: list[str] | None = None) -> int:
    """Run the study and write OUT/index.html, OUT/summary.json and the figures (see --help)."""
    return study_main(map_weight_decay, argv, description=__doc__)


if __name__ == "__main__":
    sys.exit(main())
