"""``bayesreg report``: every study runs, every check passes, and the page and summary are complete.

The report renders the session's results of the studies (conftest.py): each study runs once per session. The
slow tests run the studies again: the whole report in full mode, and each study afresh against its summary.
"""

import json
import math
import re

import pytest

from bayesreg import report
from bayesreg.cli import main
from bayesreg.studies import STUDIES, Check, Section, StudyResult, Table, new_figure
from bayesreg.studies.base import Figure

SELECTION_METHODS = {"evidence", "validation", "cv", "hyperprior"}


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory, studies):
    """``bayesreg report --quick``, the studies' results from the session's cache."""
    out = tmp_path_factory.mktemp("report") / "report"
    with pytest.MonkeyPatch.context() as mp:
        studies.serve(mp)
        assert main(["report", "--quick", "--out", str(out)]) == 0
    return out


def test_every_check_passes(quick_report):
    summary = json.loads((quick_report / "summary.json").read_text())
    assert summary["all_pass"] is True
    assert {c["study"] for c in summary["checks"]} == set(STUDIES)
    for c in summary["checks"]:
        assert {"name", "value", "tolerance", "pass"} <= set(c) and c["pass"] is True, c
    assert set(summary["studies"]) == set(STUDIES)


def test_selection_per_data_set_in_canonical_lambda(quick_report):
    selection = json.loads((quick_report / "summary.json").read_text())["selection"]
    assert "canonical" in selection["convention"]
    assert SELECTION_METHODS | {"bayesian_ridge"} <= set(selection["diabetes"])
    assert SELECTION_METHODS <= set(selection["d2l"])
    for dataset in ("diabetes", "d2l"):
        for method, lam in selection[dataset].items():
            assert math.isfinite(lam) and lam > 0, (dataset, method, lam)
        assert "sigma" in selection["notes"][dataset]  # known or not: the reader must be told
    assert selection["notes"]["d2l"]["sigma"].startswith("known")


def test_page_is_self_contained(quick_report):
    page = (quick_report / "index.html").read_text()
    pngs = sorted(quick_report.glob("*/*.png"))
    assert len(pngs) >= 10 and all(p.stat().st_size > 10_000 for p in pngs)
    assert page.count('src="data:image/png;base64,') == len(pngs)
    assert not re.findall(r'src="(?!data:)', page)  # nothing loaded from outside the file
    for name in STUDIES:
        assert f"id='{name}'" in page
    assert "All " in page and "checks pass" in page


def test_page_renders_its_text_and_opens_with_findings(quick_report):
    page = (quick_report / "index.html").read_text()
    body = re.sub(r"<style>.*?</style>|data:image/png;base64,[^\"]+", "", page, flags=re.S)
    assert "**" not in body and not re.search(r"(?<![\w`])\*\w[^*<]*\*(?!\w)", body)  # no literal markdown
    found = page.index("What this report found")
    assert found < page.index("λ picked by each selection method") and found < page.index("id='chapter'")
    assert "N(0, 0.0013²)" in page  # a finding read from the chapter's numbers
    assert page.count("<tr class='group'>") == len(STUDIES)  # the checks grouped by study


@pytest.mark.parametrize("text,html_", [
    ("a **bold** b", "a <strong>bold</strong> b"),
    ("an *emphasis* here", "an <em>emphasis</em> here"),
    ("`x * y` and **z**", "<code>x * y</code> and <strong>z</strong>"),
    ("2 * 3 * 4", "2 * 3 * 4"),
    ("[ArviZ](https://python.arviz.org)", '<a href="https://python.arviz.org">ArviZ</a>'),
    ("<b>", "&lt;b&gt;"),
])
def test_inline_markdown(text, html_):
    from bayesreg.report import _inline

    assert _inline(text) == html_


def test_existing_results_are_refused_without_force(quick_report, capsys):
    before = (quick_report / "summary.json").read_bytes()
    assert main(["report", "--quick", "--only", "chapter", "--out", str(quick_report)]) == 2
    assert "--force" in capsys.readouterr().err
    assert (quick_report / "summary.json").read_bytes() == before


def test_same_results_same_summary(tmp_path, cached_studies):
    """summary.json holds no timings: the same results, timed differently, write the same file."""
    args = ["report", "--quick", "--only", "chapter", "choosing_lambda"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    assert (tmp_path / "a" / "summary.json").read_bytes() == (tmp_path / "b" / "summary.json").read_bytes()


def test_same_seed_same_numbers_fast(studies):
    """The fast suite keeps one real rerun: the cheapest study (under a second), against its cached run."""
    cached = studies.get("posterior_vs_point", seed=0, quick=True)
    again = studies.modules["posterior_vs_point"].run(seed=0, quick=True)
    assert json.dumps(again.summary) == json.dumps(cached.summary)


@pytest.mark.slow
@pytest.mark.parametrize("name", STUDIES)
def test_a_fresh_run_reproduces_the_summary(name, studies):
    """Same seed, same numbers: a second run of the study gives the cached run's summary, selection and checks."""
    cached = studies.get(name, seed=0, quick=True)
    again = studies.modules[name].run(seed=0, quick=True)
    assert json.dumps(again.summary) == json.dumps(cached.summary)
    assert again.selection == cached.selection
    assert [c.to_dict() for c in again.checks] == [c.to_dict() for c in cached.checks]


def test_unknown_study_is_an_argparse_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["report", "--only", "nonsense", "--out", str(tmp_path / "x")])
    assert exc.value.code == 2 and "invalid choice" in capsys.readouterr().err


def _fake_result(passed: bool) -> StudyResult:
    fig, ax = new_figure()
    ax.plot([0, 1], [0, 1])
    checks = [Check.at_most("error <b>", 0.5 if not passed else 0.0, 0.1)]
    section = Section("A <section>", "Text with `code` & <tags>.\n\n- one\n- two",
                      [Table("t", ["a", "b"], [["x", 1.5]])], [Figure("f", fig, "caption")])
    return StudyResult("fake", "Fake study", "intro", [section], checks, {"x": 1.0}, {"toy": {"evidence": 2.0}})


def test_a_failing_check_is_flagged_and_exits_1(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(report, "run_studies", lambda names, **kw: [_fake_result(passed=False)])
    assert main(["report", "--out", str(tmp_path / "r")]) == 1
    assert "FAILED" in capsys.readouterr().err
    page = (tmp_path / "r" / "index.html").read_text()
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["all_pass"] is False and summary["checks"][0]["pass"] is False
    assert "1 of 1 checks FAIL" in page
    # text is escaped, `code` becomes <code>, lists become <ul>
    assert "&lt;tags&gt;" in page and "<code>code</code>" in page and "<li>two</li>" in page
    assert "error &lt;b&gt;" in page and "<b>" not in page


def test_check_constructors():
    assert Check.close("c", 1.05, 1.0, 0.1).passed and not Check.close("c", 1.2, 1.0, 0.1).passed
    assert Check.at_least("c", 0.9, 0.8).passed and not Check.at_least("c", float("nan"), 0.8).passed
    assert Check.at_most("c", float("inf"), 1.0).to_dict()["value"] == "inf"


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_full_report_passes_every_check(tmp_path, seed):
    """What `make report` runs (no --quick), over seeds: a check that fails on some seed is a defect."""
    assert main(["report", "--seed", str(seed), "--out", str(tmp_path / "report")]) == 0
    assert json.loads((tmp_path / "report" / "summary.json").read_text())["all_pass"] is True
