"""What every study returns: numbers, checks, and sections of text, tables and figures.

A study is a function ``run(*, seed=0, quick=False, progress=None) -> StudyResult``. It computes on the
built-in data with the package's own maths and returns a :class:`StudyResult`; it writes no files. The
report (:mod:`bayesreg.report`) and the scripts in ``analyses/`` turn results into ``index.html``,
``summary.json`` and PNG files.

``run`` chains three stages that every study keeps apart, so that each can be called (and tested) alone:

* ``compute(*, seed=0, quick=False, progress=None)``: the numbers, as the study's result dataclass (arrays,
  fitted objects, dicts of numbers); no text, no figures, no files;
* ``check(result) -> list[Check]``: the checks the report shows, computed from that result (against oracles
  such as scikit-learn or quadrature);
* ``render(result, checks) -> StudyResult``: the intro, the sections' text, tables and matplotlib figures, the
  JSON summary (``summarise(result)``) and, for the λ-choosing studies, the selection.

The large studies are packages with one module per stage (``compute.py``, ``checks.py``, ``render.py``); their
``__init__`` re-exports the public names, so ``from bayesreg.studies.choosing_lambda import run`` still works.

A :class:`Check` is one equivalence or calibration check against an oracle: its measured value, the
tolerance, and whether it passed. Tolerances are written next to the check, with the reason in ``detail``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Check", "Table", "Figure", "Section", "StudyResult", "Progress", "new_figure", "quiet", "one_blas_thread",
           "timed_study"]

Progress = Callable[[str], None]


def quiet(message: str) -> None:
    """The default progress callback: says nothing."""


@dataclass(frozen=True)
class Check:
    """One check: ``value`` measured, compared with ``tolerance`` (and ``target``, for closeness checks).

    Build it with :meth:`close`, :meth:`at_most` or :meth:`at_least`, which compute ``passed``.
    """

    name: str
    value: float
    tolerance: float
    passed: bool
    comparison: str
    target: float | None = None
    detail: str = ""

    @classmethod
    def close(cls, name: str, value: float, target: float, tolerance: float, detail: str = "") -> Check:
        """Passes when |value − target| ≤ tolerance."""
        value, target = float(value), float(target)
        ok = math.isfinite(value) and abs(value - target) <= tolerance
        return cls(name, value, float(tolerance), bool(ok), "|value - target| <= tolerance", target, detail)

    @classmethod
    def at_most(cls, name: str, value: float, tolerance: float, detail: str = "") -> Check:
        """Passes when value ≤ tolerance (a distance, an error, a p-value's complement...)."""
        value = float(value)
        return cls(name, value, float(tolerance), bool(math.isfinite(value) and value <= tolerance),
                   "value <= tolerance", None, detail)

    @classmethod
    def at_least(cls, name: str, value: float, tolerance: float, detail: str = "") -> Check:
        """Passes when value ≥ tolerance (a coverage, a p-value, an effective sample size...)."""
        value = float(value)
        return cls(name, value, float(tolerance), bool(math.isfinite(value) and value >= tolerance),
                   "value >= tolerance", None, detail)

    def to_dict(self) -> dict:
        out = {"name": self.name, "value": _json_float(self.value), "tolerance": self.tolerance,
               "pass": self.passed, "comparison": self.comparison}
        if self.target is not None:
            out["target"] = self.target
        if self.detail:
            out["detail"] = self.detail
        return out


@dataclass
class Table:
    """A small table: ``rows`` of cells (numbers or strings) under ``columns``."""

    title: str
    columns: list[str]
    rows: list[list[Any]]
    note: str = ""

    def cells(self) -> list[list[str]]:
        """Every cell as text, numbers with 4 significant digits."""
        return [[format_cell(c) for c in row] for row in self.rows]

    def format_text(self) -> str:
        """The table as aligned plain text (for the terminal)."""
        body = self.cells()
        widths = [max(len(str(h)), *(len(r[i]) for r in body)) if body else len(str(h))
                  for i, h in enumerate(self.columns)]
        line = lambda cells: "  ".join(  # noqa: E731
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True)))
        out = [self.title, line([str(h) for h in self.columns])] + [line(r) for r in body]
        if self.note:
            out.append(self.note)
        return "\n".join(out)


def format_cell(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return {True: "yes", False: "no", None: "—"}[value]
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value == 0:
            return "0"
        return f"{value:.4g}"
    return str(value)


@dataclass
class Figure:
    """A matplotlib figure, saved as ``name + ".png"``, with a caption that says what to look at."""

    name: str
    figure: Any
    caption: str


@dataclass
class Section:
    """A part of a study: a short plain explanation (paragraphs separated by blank lines), tables, figures."""

    title: str
    text: str
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)


@dataclass
class StudyResult:
    """Everything a study found.

    ``summary`` is JSON-ready (numbers, strings, lists, dicts; no NumPy types). ``selection`` maps a data set's
    name to {selection method: λ picked, canonical convention} (only the λ-choosing studies fill it), and
    ``selection_notes`` a data set's name to {method or "sigma": what a reader must know about that pick}.
    """

    name: str
    title: str
    intro: str
    sections: list[Section]
    checks: list[Check]
    summary: dict
    selection: dict[str, dict[str, float]] = field(default_factory=dict)
    seconds: float = 0.0
    selection_notes: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def figures(self) -> list[Figure]:
        return [f for s in self.sections for f in s.figures]


def new_figure(ncols: int = 1, nrows: int = 1, *, width: float = 6.0, height: float = 4.2, **kwargs):
    """A matplotlib ``Figure`` (not registered with pyplot, so no backend or global state) and its axes."""
    from matplotlib.figure import Figure as MplFigure

    fig = MplFigure(figsize=(width * ncols, height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kwargs)
    return fig, (axes[0, 0] if nrows == ncols == 1 else axes.ravel() if nrows == 1 or ncols == 1 else axes)


def one_blas_thread(run):
    """Decorate a study's ``run`` so that BLAS uses one thread meanwhile (restored afterwards).

    The studies' matrices are small (at most 442 × 10, or 201 × 201 on d2l), where OpenBLAS threads cost more
    than they save: measured 6 to 10 times slower on 2 cores, far more when another process holds the cores.
    """

    @functools.wraps(run)
    def wrapper(*args, **kwargs):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=1, user_api="blas"):
            return run(*args, **kwargs)

    return wrapper


def timed_study(compute, check, render, *, seed: int, quick: bool, progress) -> StudyResult:
    """compute → check → render, with the wall time in ``StudyResult.seconds``."""
    import time

    began = time.perf_counter()
    result = compute(seed=seed, quick=quick, progress=progress)
    out = render(result, check(result))
    out.seconds = time.perf_counter() - began
    return out


def _json_float(x: float):
    return x if math.isfinite(x) else str(x)
