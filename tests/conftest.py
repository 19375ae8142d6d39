"""Session-wide fixtures: each study of the report is computed once per pytest session.

A study's quick run takes 2 to 11 s on one core; the tests of the studies, of ``bayesreg report`` and of the
``analyses/`` scripts all need the same one (seed 0, ``quick=True``). :class:`StudyCache` runs each study's own
``run`` the first time a test asks for it and keeps the :class:`~bayesreg.studies.StudyResult` for the session:

* ``studies.get(name)`` (or the ``<name>_result`` fixtures) for tests that read numbers, checks, tables, figures;
* ``cached_studies`` for tests that render: it makes every study's ``run`` return the cached result, so
  ``bayesreg report`` and the scripts write their pages, summaries and PNGs from it into ``tmp_path`` (each
  cached figure is encoded to PNG once per session: about 1 s a figure, 16 figures).

A test that needs a fresh run (another seed or mode, or the same one again to check reproducibility) calls the
study's ``run`` itself. The terminal summary says which studies were computed and how long they took.
"""

from __future__ import annotations

import dataclasses
import importlib
import time

import pytest

from bayesreg import report
from bayesreg.studies import STUDIES
from bayesreg.studies.base import StudyResult, quiet

QUICK = {"seed": 0, "quick": True}  # what every fast test of a study runs


class StudyCache:
    """StudyResults by (study, seed, quick), each from the study's real ``run``, computed on first use."""

    def __init__(self):
        self.modules = {name: importlib.import_module(f"bayesreg.studies.{name}") for name in STUDIES}
        self._run = {name: module.run for name, module in self.modules.items()}  # before any test patches them
        self._results: dict[tuple, StudyResult] = {}
        self.messages: dict[tuple, list[str]] = {}
        self.seconds: dict[tuple, float] = {}
        self._pngs: dict[tuple, tuple] = {}  # (id(figure), dpi) -> (figure, PNG bytes)
        self._png = report._png

    def get(self, name: str, *, seed: int = QUICK["seed"], quick: bool = QUICK["quick"]) -> StudyResult:
        """The study's result at (seed, quick); computed by its ``run`` the first time only."""
        key = (name, seed, quick)
        if key not in self._results:
            messages: list[str] = []
            began = time.perf_counter()
            self._results[key] = self._run[name](seed=seed, quick=quick, progress=messages.append)
            self.seconds[key] = time.perf_counter() - began
            self.messages[key] = messages
        return self._results[key]

    def serve(self, monkeypatch) -> None:
        """Replace every study's ``run`` with one that returns the cached result (computing it if need be).

        Each call gets a shallow copy, since ``bayesreg report`` sets ``seconds`` on what ``run`` returns. The
        report's PNG encoder keeps the bytes of each figure it encodes, so a figure is drawn once per session.
        """
        for name, module in self.modules.items():
            def served(*, seed: int = 0, quick: bool = False, progress=quiet, _name: str = name) -> StudyResult:
                return dataclasses.replace(self.get(_name, seed=seed, quick=quick))

            monkeypatch.setattr(module, "run", served)
        monkeypatch.setattr(report, "_png", self.png)

    def png(self, figure, dpi: int = 110) -> bytes:
        """``report._png``, once per figure and dpi (the figures of cached results live as long as the cache)."""
        key = (id(figure), dpi)
        if key not in self._pngs or self._pngs[key][0] is not figure:
            self._pngs[key] = (figure, self._png(figure, dpi=dpi))
        return self._pngs[key][1]


_CACHE: StudyCache | None = None


def _cache() -> StudyCache:
    global _CACHE
    if _CACHE is None:
        _CACHE = StudyCache()
    return _CACHE


@pytest.fixture(scope="session")
def studies() -> StudyCache:
    """The session's study results (see :class:`StudyCache`)."""
    return _cache()


@pytest.fixture
def cached_studies(studies, monkeypatch) -> StudyCache:
    """For this test, every study's ``run`` returns the session's cached result: renders, never recomputes."""
    studies.serve(monkeypatch)
    return studies


@pytest.fixture(scope="session")
def chapter_result(studies) -> StudyResult:
    return studies.get("chapter")


@pytest.fixture(scope="session")
def map_weight_decay_result(studies) -> StudyResult:
    return studies.get("map_weight_decay")


@pytest.fixture(scope="session")
def posterior_vs_point_result(studies) -> StudyResult:
    return studies.get("posterior_vs_point")


@pytest.fixture(scope="session")
def choosing_lambda_result(studies) -> StudyResult:
    return studies.get("choosing_lambda")


@pytest.fixture(scope="session")
def bayesian_lasso_result(studies) -> StudyResult:
    return studies.get("bayesian_lasso")


@pytest.fixture(scope="session")
def torch_run_result(studies) -> StudyResult:
    return studies.get("torch_run")


def pytest_terminal_summary(terminalreporter) -> None:
    if _CACHE is None or not _CACHE.seconds:
        return
    done = ", ".join(f"{name}{'' if (seed, quick) == (0, True) else f' (seed {seed}, quick={quick})'} {s:.1f} s"
                     for (name, seed, quick), s in _CACHE.seconds.items())
    terminalreporter.write_line(f"study results cached this session (each computed once): {done}")
