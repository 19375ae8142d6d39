"""Load a script of ``analyses/`` as a module (they are not a package)."""

import importlib.util
from pathlib import Path

ANALYSES = Path(__file__).resolve().parent.parent / "analyses"


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, ANALYSES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
