"""Helpers for the tests: load a script of ``analyses/`` as a module (they are not a package), run the CLI."""

import importlib.util
from pathlib import Path

ANALYSES = Path(__file__).resolve().parent.parent / "analyses"


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, ANALYSES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_cli(capsys, *argv):
    """``bayesreg ARGV`` in-process: ``(exit status, stdout, stderr)``; argparse's usage errors (which raise
    ``SystemExit(2)``) count as their status, as the console script would exit."""
    from bayesreg.cli import main

    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err
