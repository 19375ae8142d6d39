"""Writing result files safely: through a temporary name in the same directory, then an atomic rename.

Used by the entry points (CLI, report, analyses); nothing below them writes files. A crash or Ctrl-C
mid-write leaves the previous file (or none), never a half-written one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["write_atomic", "write_json", "save_figure", "output_directory", "check_output_directory",
           "check_output_file", "is_results_directory", "RESULTS_MARKER"]

#: The file every results directory bayesreg writes carries: ``--force`` replaces a directory only if it has it.
RESULTS_MARKER = ".bayesreg-results"
#: Results directories written before the marker existed are recognised by their files.
_LEGACY_RESULTS = ({"posterior.nc", "summary.json"}, {"index.html", "summary.json"})


def _writable_parent(path: Path, option: str) -> None:
    """The nearest existing ancestor of ``path`` is a directory this process may create entries in."""
    from .errors import SpecError

    parent = path.parent
    while not parent.exists():
        if parent == parent.parent:
            break
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise SpecError(f"cannot write {option} {path}: {parent} is a file, not a directory; choose another path")
    probe = parent
    if not os.access(probe, os.W_OK | os.X_OK):
        raise SpecError(f"cannot write {option} {path}: {probe} is not writable (permission denied); choose a "
                        "directory you can write to")
    try:  # access() trusts the mode bits; a read-only file system or a root-squashed share says no only on write
        fd, tmp = tempfile.mkstemp(dir=probe, prefix=".bayesreg-probe.")
    except OSError as exc:
        raise SpecError(f"cannot write {option} {path}: {probe} is not writable ({exc.strerror}); choose a "
                        "directory you can write to") from None
    os.close(fd)
    os.unlink(tmp)


def is_results_directory(path: Path) -> bool:
    """Whether ``path`` is a results directory bayesreg wrote (its marker, or an older run's own files)."""
    if not path.is_dir():
        return False
    names = {p.name for p in path.iterdir()}
    return RESULTS_MARKER in names or any(files <= names for files in _LEGACY_RESULTS)


def check_output_directory(path: str | os.PathLike, *, force: bool = False, option: str = "--out") -> Path:
    """Before any work: ``path`` can become a results directory.

    Free (missing or empty): fine. Holding results of ours: refused unless ``force``. A file, or a directory
    holding anything else: refused even with ``force`` (``--force`` replaces only an earlier results directory
    of ours, never a user's file or folder). The place must be writable.
    """
    from .errors import SpecError

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise SpecError(f"{option} {path} is a file, not a results directory; bayesreg will not replace it (with or "
                        "without --force): choose another path")
    if path.is_dir() and any(path.iterdir()):
        if not is_results_directory(path):
            raise SpecError(f"{option} {path} holds files that bayesreg did not write; it will not replace them (with "
                            "or without --force): choose a new or empty directory")
        if not force:
            raise SpecError(f"{path} already holds results; choose another {option} or pass --force to replace them")
    _writable_parent(path / "x" if path.is_dir() else path, option)
    return path


def check_output_file(path: str | os.PathLike, *, force: bool = False, option: str = "--json") -> Path:
    """Before any work: ``path`` may be written (new, or an existing file with ``force``; never a directory)."""
    from .errors import SpecError

    path = Path(path)
    if path.is_dir():
        raise SpecError(f"{option} {path} is a directory; give a file name")
    if path.exists() and not force:
        raise SpecError(f"{option} {path} already exists; choose another name or pass --force to replace it")
    _writable_parent(path, option)
    return path


def write_atomic(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` then rename the temporary file to ``path``; returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json(path: str | os.PathLike, obj) -> Path:
    """``obj`` as indented JSON (UTF-8), atomically."""
    text = json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    return write_atomic(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def save_figure(fig, path: str | os.PathLike, dpi: int = 110) -> Path:
    """A matplotlib figure as PNG, atomically; the figure is closed afterwards."""
    import matplotlib.pyplot as plt

    try:
        return write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=dpi, format="png"))
    finally:
        plt.close(fig)


@contextlib.contextmanager
def output_directory(path: str | os.PathLike, *, force: bool = False):
    """Build a result directory in a temporary sibling and move it into place only when everything succeeded.

    ``path`` is checked by :func:`check_output_directory` (an earlier results directory of ours is replaced only
    with ``force``, and only after the new results are complete; a file or someone else's directory never). The
    new directory carries :data:`RESULTS_MARKER`. On any error or Ctrl-C nothing is left at ``path`` that was not
    there before.
    """
    path = check_output_directory(path, force=force)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        yield tmp
        (tmp / RESULTS_MARKER).write_text("written by bayesreg; `--force` may replace this directory\n",
                                          encoding="utf-8")
        os.chmod(tmp, 0o777 & ~_umask())
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            path.rename(old)
            try:
                tmp.rename(path)
            except BaseException:  # put the previous results back: complete results or none, never a gap
                if not path.exists():
                    old.rename(path)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask
