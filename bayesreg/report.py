"""``bayesreg report``: run the studies on the built-in data and write one readable page.

Writes, into a directory that appears only when everything succeeded (:func:`~bayesreg.outputs.output_directory`):

* ``index.html``: one self-contained page (figures embedded), a section per study with a short explanation,
  tables and figures, then every check;
* ``summary.json``: ``checks`` (each with ``study``, ``name``, ``value``, ``tolerance``, ``pass``), ``all_pass``,
  ``selection`` (per data set, the canonical λ each selection method picked; ``notes`` says per data set whether
  σ was known and which picks sit on their grid's edge) and each study's numbers;
* ``<study>/<figure>.png``: the figures (``<figure>.png`` when there is one study).

The same seed gives the same ``summary.json``: it holds no timings (those are on the page and the terminal).
The scripts in ``analyses/`` use :func:`study_main` to write the same three things for one study.
"""

from __future__ import annotations

import argparse
import base64
import html
import importlib
import io
import math
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from . import __version__
from .argparsing import Parser
from .argparsing import seed as seed_type
from .outputs import output_directory, write_atomic, write_json
from .studies import STUDIES
from .studies.base import StudyResult

__all__ = ["run_studies", "write_report", "study_main", "add_report_parser", "DEFAULT_OUT"]

DEFAULT_OUT = "out/report"
SELECTION_CONVENTION = "canonical: ½Σr² + (λ/2)‖w‖² (L2, λ = σ²/τ²) or ½Σr² + λ‖w‖₁ (L1, λ = σ²/s)"

_REPORT_TITLE = "bayesreg: weight decay read the Bayesian way"
_REPORT_INTRO = """\
Every number on this page is computed on built-in data: the weight-decay problem of Dive into Deep Learning
(20 training rows, 200 features, true weights 0.01, noise sd 0.01) and scikit-learn's diabetes data (442 rows,
10 features). Each section says what it shows, then shows it.

λ is written in the canonical convention `½Σr² + (λ/2)‖w‖²` unless a table says otherwise. In that form
λ = σ²/τ²: an L2 penalty is a Gaussian prior N(0, τ²) on each weight, once you know the noise sd σ.

The checks at the end compare the toolkit with oracles nobody here wrote (scikit-learn, SciPy integrals,
the exact conjugate posterior) with tolerances derived from numerical or Monte Carlo error."""


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_studies(names: Sequence[str] = STUDIES, *, seed: int = 0, quick: bool = False,
                progress=_stderr) -> list[StudyResult]:
    """Run the named studies in order; ``progress`` gets one line per stage."""
    results = []
    for i, name in enumerate(names, 1):
        module = importlib.import_module(f"{__package__}.studies.{name}")
        progress(f"[{i}/{len(names)}] {name}: starting")
        began = time.perf_counter()
        result = module.run(seed=seed, quick=quick, progress=lambda m, name=name: progress(f"      {name}: {m}"))
        result.seconds = time.perf_counter() - began
        failed = [c.name for c in result.checks if not c.passed]
        verdict = f"{len(result.checks)} checks, " + (f"FAILED: {', '.join(failed)}" if failed else "all pass")
        progress(f"[{i}/{len(names)}] {name}: done in {result.seconds:.1f} s ({verdict})")
        results.append(result)
    return results


def summary_of(results: Sequence[StudyResult], *, seed: int, quick: bool) -> dict:
    """The JSON summary: checks, selection and each study's numbers (no timings: same seed, same file)."""
    checks = [{"study": r.name, **c.to_dict()} for r in results for c in r.checks]
    selection: dict = {}
    notes: dict = {}
    for r in results:
        for dataset, picks in r.selection.items():
            selection.setdefault(dataset, {}).update({k: float(v) for k, v in picks.items()})
        for dataset, said in r.selection_notes.items():
            notes.setdefault(dataset, {}).update(said)
    return {
        "bayesreg": __version__,
        "seed": seed,
        "quick": quick,
        "all_pass": all(c["pass"] for c in checks),
        "checks": checks,
        "selection": {"convention": SELECTION_CONVENTION, **selection, "notes": notes} if selection else {},
        "studies": {r.name: r.summary for r in results},
    }


def write_report(results: Sequence[StudyResult], out, *, seed: int, quick: bool, force: bool = False,
                 title: str = _REPORT_TITLE, intro: str = _REPORT_INTRO) -> Path:
    """Write index.html, summary.json and the PNG figures of ``results`` into ``out`` (all or nothing)."""
    pngs = {(r.name, f.name): _png(f.figure) for r in results for f in r.figures}
    summary = summary_of(results, seed=seed, quick=quick)
    page = render_html(results, pngs, summary, title=title, intro=intro)
    with output_directory(out, force=force) as tmp:
        for (study, name), data in pngs.items():
            folder = tmp / study if len(results) > 1 else tmp
            write_atomic(folder / f"{name}.png", lambda p, data=data: Path(p).write_bytes(data))
        write_json(tmp / "summary.json", summary)
        write_atomic(tmp / "index.html", lambda p: Path(p).write_text(page, encoding="utf-8"))
    return Path(out)


def _png(figure, dpi: int = 110) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------- HTML

_CSS = """
body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 1100px; margin: 2em auto;
       padding: 0 1em; color: #1d1d1f; }
h1 { font-size: 1.8em; } h2 { border-bottom: 2px solid #ddd; padding-bottom: .2em; margin-top: 2em; }
h3 { margin-top: 1.5em; }
code { background: #f3f3f3; padding: 0 .25em; border-radius: 3px; }
table { border-collapse: collapse; margin: .8em 0; font-size: .92em; }
th, td { padding: .25em .7em; border-bottom: 1px solid #e3e3e3; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f7f7f7; }
caption { caption-side: top; text-align: left; font-weight: 600; padding-bottom: .3em; }
figure { margin: 1.2em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #444; font-size: .93em; }
.pass { color: #11772d; font-weight: 600; } .fail { color: #b00020; font-weight: 700; }
.note { color: #555; font-size: .9em; }
nav ol { columns: 2; }
.findings { background: #f6f8fa; border-left: 4px solid #2166ac; padding: .3em 1.2em; margin: 1em 0; }
.findings h2 { border: none; margin-top: .5em; }
table.checks { width: 100%; }
table.checks td { vertical-align: top; }
table.checks td.mark { width: 3.5em; text-align: center; }
table.checks td.name { text-align: left; } table.checks td.name .note { margin-top: .15em; }
table.checks td.num { font-family: ui-monospace, "SF Mono", Menlo, monospace; white-space: nowrap; }
table.checks td.when { text-align: left; color: #444; white-space: nowrap; }
table.checks tr.group th { text-align: left; background: #eef1f5; font-size: 1.02em; padding-top: .6em; }
table.checks th { text-align: left; }
"""


def _inline(text: str) -> str:
    """Escape, then the inline markdown the studies write: `code`, **bold**, *italic*, [text](url)."""
    out = html.escape(text, quote=False)
    parts = re.split(r"(`[^`]+`)", out)  # nothing inside a code span is markup
    for k, part in enumerate(parts):
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            parts[k] = f"<code>{part[1:-1]}</code>"
            continue
        part = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", part)
        part = re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", part)
        part = re.sub(r"\[([^\]]+)\]\((https?://[^)\s]+)\)", r'<a href="\2">\1</a>', part)
        parts[k] = part
    return "".join(parts)


def _paragraphs(text: str) -> str:
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text.strip()) if b.strip()]
    out = []
    for block in blocks:
        lines = block.splitlines()
        if lines[0].lstrip().startswith(("- ", "* ")):
            items: list[str] = []           # a bullet starts an item; an indented line continues it
            for line in lines:
                if line.lstrip().startswith(("- ", "* ")):
                    items.append(line.lstrip()[2:])
                else:
                    items[-1] += " " + line.strip()
            out.append("<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in items) + "</ul>")
        else:
            out.append(f"<p>{_inline(' '.join(line.strip() for line in lines))}</p>")
    return "\n".join(out)


def _table(table) -> str:
    head = "".join(f"<th>{_inline(str(c))}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>" for row in table.cells())
    note = f'<p class="note">{_inline(table.note)}</p>' if table.note else ""
    return f"<table><caption>{_inline(table.title)}</caption><tr>{head}</tr>{body}</table>{note}"


def _figure(study: str, figure, pngs: dict) -> str:
    data = base64.b64encode(pngs[(study, figure.name)]).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(figure.caption)}">'
            f"<figcaption>{_inline(figure.caption)}</figcaption></figure>")


def _checks_table(summary: dict) -> str:
    """Every check, grouped by study, failures first in each group: a mark, the check, the value against its
    tolerance (aligned), when it passes, and against what."""
    groups: dict[str, list] = {}
    for c in summary["checks"]:
        groups.setdefault(c["study"], []).append(c)
    rows = []
    for study, checks in groups.items():
        failed = sum(not c["pass"] for c in checks)
        state = (f'<span class="fail">{failed} of {len(checks)} fail</span>' if failed
                 else f'<span class="pass">all {len(checks)} pass</span>')
        rows.append(f"<tr class='group'><th colspan='5'>{html.escape(study)} · {state}</th></tr>")
        for c in sorted(checks, key=lambda c: c["pass"]):
            mark = '<span class="pass">✓</span>' if c["pass"] else '<span class="fail">✗ FAIL</span>'
            target = f" → {c['target']:.4g}" if "target" in c else ""
            value = c["value"] if isinstance(c["value"], str) else f"{c['value']:.3g}"
            rows.append(f"<tr><td class='mark'>{mark}</td><td class='name'>{_inline(c['name'])}"
                        f"<div class='note'>{_inline(c.get('detail', ''))}</div></td>"
                        f"<td class='num'>{value}{target}</td><td class='num'>{c['tolerance']:.3g}</td>"
                        f"<td class='when'>{html.escape(c['comparison'])}</td></tr>")
    head = "".join(f"<th>{h}</th>" for h in ("", "check (and its oracle)", "value", "tolerance", "passes when"))
    return f"<table class='checks'><tr>{head}</tr>{''.join(rows)}</table>"


def findings(results: Sequence[StudyResult], summary: dict) -> list[str]:
    """A few plain sentences of what the studies found, from their numbers (a study not run says nothing)."""
    s = {r.name: r.summary for r in results}
    out = []

    def get(d, *keys):
        for k in keys:
            if not isinstance(d, dict) or k not in d:
                return None
            d = d[k]
        return d

    tau = get(s, "chapter", "implied_prior", "d2l", "tau")
    sds = get(s, "chapter", "implied_prior", "d2l", "true_w_in_prior_sds")
    if tau is not None and sds is not None:
        out.append(f"The weight-decay chapter's λ = 3 assumes each weight is N(0, {tau:.2g}²): the true weights "
                   f"(0.01) sit {sds:.1f} prior standard deviations out, a prior that all but rules them out.")
    ev, ch = get(s, "posterior_vs_point", "d2l", "evidence"), get(s, "posterior_vs_point", "d2l", "chapter")
    if ev and ch:
        out.append(f"Its 94% credible intervals cover {ch['coverage']:.0%} of the true weights; at the λ the evidence "
                   f"picks ({ev['lam_d2l']:.3g} in d2l's convention, τ = {ev['tau']:.2g}) they cover "
                   f"{ev['coverage']:.1%}.")
    chap3 = get(s, "map_weight_decay", "chapter", "3")
    if chap3:
        out.append(f"The chapter's own 100-epoch run ends at ‖w‖ = {chap3['w_norm']:.2f}, far from the MAP's "
                   f"{chap3['map_w_norm']:.3f}: early stopping, not the penalty, decides where it ends.")
    for prior in ("gaussian", "laplace"):
        methods = get(s, "map_weight_decay", "side_by_side", prior, "methods")
        if not methods:
            continue
        near = [m for m, r in methods.items() if r.get("relative_diff", math.inf) <= 1e-5]
        far = [f"{m} ({r['relative_diff']:.2g} off)" for m, r in methods.items()
               if r.get("relative_diff", math.inf) > 1e-5]
        out.append(f"{prior.capitalize()} prior on diabetes: {', '.join(near)} reach the MAP to 1e-5 relative"
                   + (f"; {', '.join(far)} {'does' if len(far) == 1 else 'do'} not" if far else "") + ".")
    picks = get(s, "choosing_lambda", "diabetes", "picks")
    if picks:
        out.append(f"On diabetes, λ by maximum evidence is {picks['evidence']:.3g} (scikit-learn's BayesianRidge: "
                   f"{picks.get('bayesian_ridge', float('nan')):.3g}), by 5-fold CV {picks['cv']:.3g}, under a "
                   f"hyperprior {picks['hyperprior']:.3g} (posterior median).")
    lasso = get(s, "bayesian_lasso", "fixed")
    if lasso and lasso.get("median_zeros") == 0:
        out.append("The lasso's exact zeros are a property of the mode only: under the same Laplace prior no "
                   "posterior median is zero.")
    fits = get(s, "sparse_truth", "fits")
    if fits and {"ridge", "lasso", "horseshoe"} <= set(fits):
        h = fits["horseshoe"]
        out.append(f"With 10 of 200 weights non-zero, the horseshoe's posterior mean is {h['error']:.2g} from the "
                   f"truth (lasso {fits['lasso']['error']:.2g}, ridge {fits['ridge']['error']:.2g}); SAVS under it "
                   f"selects {h['savs_true']} of the 10 with {h['savs_false']} false positives, and its intervals "
                   f"cover {h['covered_nonzero']} of 10 non-zero weights (ridge {fits['ridge']['covered_nonzero']}).")
        projection = get(s, "sparse_truth", "projection")
        if projection:
            out.append(f"Its projection-predictive ranking puts {projection['true_in_first']} of the 10 true signals "
                       f"first and suggests keeping {projection['suggested_size']} columns "
                       f"({projection['false']} of them noise).")
    mine = s.get("your_data")
    if mine:
        out.append(f"On {mine['data']} ({mine['n']} rows, {mine['d']} features) the evidence picks "
                   f"λ = {mine['lam']:.4g} with σ̂ = {mine['sigma']:.4g}: weight decay at that λ is the prior "
                   f"N(0, {mine['tau']:.4g}²) on each weight.")
        edge = [k for k, v in mine["interior"].items() if not v]
        others = ", ".join(f"{k} {v:.3g}" for k, v in mine["picks"].items() if k != "evidence")
        out.append(f"The other methods pick {others}" + (f"; {', '.join(edge)} stayed at the search limit (see "
                                                         "their notes)" if edge else "") + ".")
        h = mine["held_out"]
        out.append(f"{mine['intervals_excluding_zero']} of {mine['d']} weights have 94% credible intervals that "
                   f"exclude 0; held-out 94% predictive intervals cover {h['coverage']:.1%} of the rows.")
    n_checks = len(summary["checks"])
    failed = sum(not c["pass"] for c in summary["checks"])
    out.append(f"All {n_checks} checks against independent oracles pass." if not failed else
               f"{failed} of {n_checks} checks FAIL (listed first under Checks): read those results with care.")
    return out


def render_html(results: Sequence[StudyResult], pngs: dict, summary: dict, *, title: str, intro: str) -> str:
    """The whole page as one string: no external files, figures as data URIs."""
    n_checks, n_failed = len(summary["checks"]), sum(not c["pass"] for c in summary["checks"])
    verdict = (f'<p class="pass">All {n_checks} checks pass.</p>' if not n_failed else
               f'<p class="fail">{n_failed} of {n_checks} checks FAIL: see <a href="#checks">the checks</a>.</p>')
    toc = "".join(f'<li><a href="#{r.name}">{html.escape(r.title)}</a></li>' for r in results)
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
             f"<meta name='viewport' content='width=device-width, initial-scale=1'><style>{_CSS}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>", _paragraphs(intro),
             "<section class='findings'><h2>What this report found</h2><ul>"
             + "".join(f"<li>{_inline(f)}</li>" for f in findings(results, summary)) + "</ul></section>",
             verdict, f"<nav><ol>{toc}<li><a href='#checks'>Checks</a></li></ol></nav>"]
    if summary["selection"]:
        parts.append(_selection_table(summary["selection"]))
    for r in results:
        parts.append(f"<h2 id='{r.name}'>{html.escape(r.title)}</h2>{_paragraphs(r.intro)}")
        for s in r.sections:
            parts.append(f"<h3>{html.escape(s.title)}</h3>{_paragraphs(s.text)}")
            parts.extend(_table(t) for t in s.tables)
            parts.extend(_figure(r.name, f, pngs) for f in s.figures)
        parts.append(f'<p class="note">Study <code>{r.name}</code>: {r.seconds:.1f} s.</p>')
    parts.append(f"<h2 id='checks'>Checks</h2>{verdict}{_checks_table(summary)}")
    seconds = sum(r.seconds for r in results)
    parts.append(f'<p class="note">bayesreg {__version__}, seed {summary["seed"]}'
                 f'{", quick" if summary["quick"] else ""}; studies took {seconds:.0f} s.</p></body></html>')
    return "\n".join(parts)


def _selection_table(selection: dict) -> str:
    datasets = [k for k in selection if k not in ("convention", "notes")]
    methods = list(dict.fromkeys(m for d in datasets for m in selection[d]))
    head = "<tr><th>method</th>" + "".join(f"<th>{html.escape(d)}</th>" for d in datasets) + "</tr>"
    rows = "".join(
        f"<tr><td>{html.escape(m)}</td>"
        + "".join(f"<td>{selection[d][m]:.4g}</td>" if m in selection[d] else "<td>—</td>" for d in datasets)
        + "</tr>" for m in methods)
    notes = "".join(f"<li>{html.escape(d)}, {html.escape(k)}: {_inline(v)}</li>"
                    for d, said in selection.get("notes", {}).items() for k, v in said.items())
    return (f"<table><caption>λ picked by each selection method ({_inline(selection['convention'])})</caption>"
            f"{head}{rows}</table>" + (f'<ul class="note">{notes}</ul>' if notes else ""))


# ----------------------------------------------------------------------------------------- entry points

_EPILOG = f"""\
studies, in order:
  chapter              the weight-decay chapter's experiment: the λ sweep, the prior λ = 3 implies, prior draws
  map_weight_decay     MAP ≡ weight decay: closed form, coordinate descent, Pyro MAP, SGD; AdamW, subgradient
                       L1, a penalised bias and early stopping, where practice breaks the equivalence
  posterior_vs_point   what the point estimate hides: credible bands, interval coverage, predictive coverage
  choosing_lambda      λ by evidence, validation, cross-validation and a hyperprior, side by side
  bayesian_lasso       the Bayesian lasso on diabetes: exact zeros of the MAP against the posterior

examples:
  bayesreg report                         # everything, into {DEFAULT_OUT}/ (about 40 s)
  bayesreg report --quick --out /tmp/r    # coarser grids and fewer draws (about 20 s)
  bayesreg report --only chapter choosing_lambda --force

Exit status: 0 when every check passes, 1 when the report was written but a check failed, 2 on bad input.
"""


def _add_common(parser: argparse.ArgumentParser, default_out: str) -> None:
    parser.add_argument("--out", default=default_out, metavar="DIR",
                        help="output directory (default: %(default)s); refused if it holds results, unless --force")
    parser.add_argument("--quick", action="store_true", help="coarser grids, fewer draws and steps")
    parser.add_argument("--seed", type=seed_type, default=0, metavar="K", help="seed of data splits and samplers "
                        "(default: %(default)s); the same seed gives the same summary.json")
    parser.add_argument("--force", action="store_true", help="replace the results already in --out")


def add_report_parser(sub) -> None:
    """Register ``bayesreg report`` on the CLI's subparsers."""
    from .data_options import add_data_options

    p = sub.add_parser("report", help="run every study on the built-in data (or on yours) and write an HTML report",
                       description="Run every study on the built-in data (d2l, diabetes) and write DIR/index.html "
                                   "(one self-contained page), DIR/summary.json (every check with name, value, "
                                   "tolerance and pass; the λ each selection method picked) and the figures. "
                                   "With --data FILE --target Y, run the studies that apply to any data set on "
                                   "yours instead.",
                       epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_common(p, DEFAULT_OUT)
    p.add_argument("--only", nargs="+", choices=STUDIES, metavar="STUDY", help="run only these studies")
    add_data_options(p, required=False)
    p.set_defaults(run=_run_report)


_DATA_INTRO = """Every number on this page is computed on your data set. λ is written in the canonical convention
`½Σr² + (λ/2)‖w‖²` (scikit-learn's `Ridge(alpha)`) unless a table says otherwise: there λ = σ²/τ², so an L2
penalty is a Gaussian prior N(0, τ²) on each weight once the noise sd σ is known (here it is estimated).

The checks at the end compare the toolkit with oracles nobody here wrote (scikit-learn's Ridge, BayesianRidge
and GridSearchCV) on your data."""


def _run_report(args) -> int:
    from .errors import SpecError

    if args.data is None:
        for option in ("target", "features", "drop"):
            if getattr(args, option):
                raise SpecError(f"--{option} is for a data set given with --data; add --data FILE or drop --{option}")
        if args.standardize:
            raise SpecError("--standardize is for a data set given with --data; add --data FILE or drop it")
        names = args.only or STUDIES
        return _run_and_write(names, args, title=_REPORT_TITLE, intro=_REPORT_INTRO)
    if args.only:
        raise SpecError("--only chooses among the built-in studies; with --data the studies that apply to any data "
                        "set run (drop --only)")
    return _run_and_write(["your_data"], args, title="bayesreg: your data read the Bayesian way",
                          intro=_DATA_INTRO)


def _run_and_write(names, args, *, title: str, intro: str) -> int:
    from .outputs import check_output_directory

    out = Path(args.out)
    check_output_directory(out, force=args.force)  # fail before the work
    began = time.perf_counter()
    if names == ["your_data"]:
        from .data_options import load_from_args
        from .studies import your_data

        data = load_from_args(args)
        _stderr(f"[1/1] your_data: {data.name} ({data.n} rows, {data.d} features)")
        result = your_data.run(data, seed=args.seed, quick=args.quick,
                               progress=lambda m: _stderr(f"      your_data: {m}"))
        results = [result]
    else:
        results = run_studies(names, seed=args.seed, quick=args.quick)
    write_report(results, out, seed=args.seed, quick=args.quick, force=args.force, title=title, intro=intro)
    for r in results:
        _print_result(r)
    failed = [(r.name, c.name) for r in results for c in r.checks if not c.passed]
    n = sum(len(r.checks) for r in results)
    print(f"\nwrote {out / 'index.html'}, {out / 'summary.json'} and {sum(len(r.figures) for r in results)} figures "
          f"in {time.perf_counter() - began:.0f} s")
    if failed:
        print(f"{len(failed)} of {n} checks FAILED: " + ", ".join(f"{s}/{c}" for s, c in failed), file=sys.stderr)
        return 1
    print(f"all {n} checks pass")
    return 0


def _print_result(result: StudyResult) -> None:
    print(f"\n== {result.title} ({result.seconds:.1f} s)")
    for section in result.sections:
        for table in section.tables:
            print()
            print(table.format_text())
    print()
    for c in result.checks:
        print(f"  [{'pass' if c.passed else 'FAIL'}] {c.name}: {c.value:.4g} ({c.comparison}, tolerance "
              f"{c.tolerance:.3g})")


def study_main(module, argv: list[str] | None = None, *, description: str | None = None) -> int:
    """The ``main`` of an ``analyses/`` script: run one study and write its page, summary and figures."""
    from .errors import BayesregError

    name = module.__name__.rsplit(".", 1)[-1]
    parser = Parser(prog=f"analyses/{name}.py", description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_common(parser, f"out/{name}")
    args = parser.parse_args(argv)
    doc = (module.__doc__ or "").strip()
    # the module docstring is reStructuredText: its ``code`` and :role:`target` become the page's `code`
    doc = re.sub(r":[a-z]+:`~?([^`]+)`", r"`\1`", doc).replace("``", "`")
    title, _, intro = doc.partition("\n\n")
    try:
        return _run_and_write([name], args, title=title or name, intro=intro or title)
    except BayesregError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
