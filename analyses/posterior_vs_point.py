"""What a point estimate hides.

Weight decay returns one vector w; read as a prior, the same penalty gives a whole posterior. With the exact
(conjugate) posterior, this study shows:

* the ridge regularisation path on diabetes (σ fixed at the least-squares residual sd) with the 94% credible
  band around every weight; under a Gaussian prior the MAP, posterior mean and median coincide, checked against
  scikit-learn's Ridge;
* on the weight-decay chapter's d2l problem, 94% credible intervals against the true w at the chapter's λ = 3
  (canonical λ = 60) and at the λ of maximum evidence, with their coverage, and their calibration when w is
  drawn from the prior;
* 94% posterior predictive intervals on held-out rows (d2l's 100 test rows, a seeded 25% of diabetes) with
  their coverage; checked on d2l by simulation with w drawn from the prior (one fixed w promises no 94%), and
  on diabetes against the spread of coverage the posterior itself predicts;
* one weight under a Laplace prior, exactly: the lasso's MAP is 0 on a whole interval of data while the
  posterior median is 0 only at a point (checked against quadrature).

Writes OUT/index.html, OUT/summary.json and the figures; prints the tables and checks.

usage: python analyses/posterior_vs_point.py [--out out/posterior_vs_point] [--seed 0] [--quick] [--force]
"""

import sys

from bayesreg.report import study_main
from bayesreg.studies import posterior_vs_point


def main(argv: list[str] | None = None) -> int:
    """Run the study and write OUT/index.html, OUT/summary.json and the figures (see --help)."""
    return study_main(posterior_vs_point, argv, description=__doc__)


if __name__ == "__main__":
    sys.exit(main())
