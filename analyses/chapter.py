"""The weight-decay chapter of Dive into Deep Learning, read the Bayesian way.

The chapter (§3.7) fits 200 weights to 20 rows, y = 0.01·Σx + 0.05 + N(0, 0.01²), with λ = 3. This study
says which prior λ = 3 is (τ ≈ 0.0013: the true weights 0.01 are 7.7 prior sds out), reruns the chapter's
exercise (training and test loss of the exact MAP against λ, and ‖w‖), and draws functions from the prior to
show why weight decay calls f = 0 "simplest".

Writes OUT/index.html, OUT/summary.json and the figures; prints the tables and checks.

usage: python analyses/chapter_prior.py [--out out/chapter] [--seed 0] [--quick] [--force]
"""

import sys

from bayesreg.report import study_main
from bayesreg.studies import chapter


def main(argv: list[str] | None = None) -> int:
    """Run the study and write OUT/index.html, OUT/summary.json and the figures (see --help)."""
    return study_main(chapter, argv, description=__doc__)


if __name__ == "__main__":
    sys.exit(main())
