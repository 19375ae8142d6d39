"""The studies of the report, one module or package each: ``run(*, seed, quick, progress) -> StudyResult``, which
chains ``compute`` (numbers), ``check`` (the checks, from those numbers) and ``render`` (text, tables, figures).

They are the application layer: the maths lives in the package, the files are written by
:mod:`bayesreg.report` and the scripts in ``analyses/``.
"""

from .base import Check, Figure, Section, StudyResult, Table, new_figure

__all__ = ["Check", "Figure", "Section", "StudyResult", "Table", "new_figure", "STUDIES"]

# name -> module, in the report's order
STUDIES = ("chapter", "map_weight_decay", "posterior_vs_point", "choosing_lambda", "bayesian_lasso", "classification",
           "torch_run", "sparse_truth")
