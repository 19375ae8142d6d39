"""Classification: what scikit-learn's C = 1 assumes, read the Bayesian way, on breast_cancer.

* C = 1 as a prior (N(0, 1) on each standardised weight) and in every library's convention;
* MAP ≡ LogisticRegression ≡ PyTorch weight decay (SGD and Adam on BCEWithLogitsLoss), and where AdamW and the
  subgradient of an L1 term fall short;
* what the point estimate hides: NUTS against the Pólya–Gamma Gibbs sampler, each held-out row's probability with
  its 94% interval, held-out calibration, and the Laplace approximation's error;
* λ chosen four ways (Laplace evidence, validation, 5-fold CV against LogisticRegressionCV, a hyperprior).

Writes OUT/index.html, OUT/summary.json and the figures; prints the tables and checks.

usage: python analyses/classification.py [--out out/classification] [--seed 0] [--quick] [--force]
"""

import sys

from bayesreg.report import study_main
from bayesreg.studies import classification


def main(argv: list[str] | None = None) -> int:
    """Run the study and write OUT/index.html, OUT/summary.json and the figures (see --help)."""
    return study_main(classification, argv, description=__doc__)


if __name__ == "__main__":
    sys.exit(main())
