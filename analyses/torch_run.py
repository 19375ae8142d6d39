"""From your PyTorch training run: the prior it assumed, whether it reached that prior's MAP, and the posterior.

Four runs read with bayesreg.torch (implied_prior, map_check, laplace_posterior through laplace-torch), each
against bayesreg's exact answers:

* Dive into Deep Learning's concise weight-decay run (train_concise(wd=3)): the implied prior against the
  conventions table, the distance to its MAP, the Laplace covariance and the log marginal likelihood against
  weight decay against the exact posterior and evidence, the preferred decay, held-out coverage;
* a small MLP on diabetes (σ estimated from the training residuals): Laplace over all parameters and over the
  last layer (checked against Bayesian linear regression on the penultimate features), coverage, log ML;
* a classifier on breast_cancer with SGD(weight_decay = 1/n): Laplace against Newton's MAP, bayesreg's own
  Laplace and the Pólya–Gamma Gibbs posterior;
* AdamW, full batch and minibatch: its end point against the MAP of the effective and of the naive prior.

Needs laplace-torch (see the README's install notes). Writes OUT/index.html, OUT/summary.json and the figures;
prints the tables and checks.

usage: python analyses/torch_run.py [--out out/torch_run] [--seed 0] [--quick] [--force]
"""

import sys

from bayesreg.report import study_main
from bayesreg.studies import torch_run


def main(argv: list[str] | None = None) -> int:
    """Run the study and write OUT/index.html, OUT/summary.json and the figures (see --help)."""
    return study_main(torch_run, argv, description=__doc__)


if __name__ == "__main__":
    sys.exit(main())
