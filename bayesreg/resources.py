"""What the machine has, asked before the work: memory for the draws, and the thread counts that suit a problem.

* :func:`available_memory`: bytes the process can still use (Linux ``MemAvailable``, else physical memory);
* :func:`check_draws_memory`: refuse a number of draws whose arrays cannot fit, before sampling starts;
* :func:`configure_threads`: one torch and BLAS thread for small problems;
* :func:`small_systems`: one BLAS thread while a sampler solves many small linear systems.

Why one thread: bayesreg's per-step work on small problems (d of tens, n of hundreds) is microseconds of
arithmetic, and a thread pool's hand-offs cost more than they save. On a busy 2-core machine torch's default pool
made ``bayesreg compare`` on diabetes about 10× slower than one thread. Large problems keep the libraries'
defaults. ``BAYESREG_THREADS`` (or ``OMP_NUM_THREADS``) set by the user always wins.

The same holds for a Gibbs sweep's one-per-chain Cholesky systems, whatever n is: on 2 cores, the low-rank draw
of 4 chains took 0.33 ms a sweep on one BLAS thread and 0.50 ms on two with k = 99, d = 200; 3.7 against 63 ms
with k = 250, d = 500; 22 against 53 ms with k = 500, d = 1000.
"""

from __future__ import annotations

import os

from .errors import SpecError

__all__ = ["available_memory", "check_draws_memory", "configure_threads", "small_systems", "SMALL_PROBLEM",
           "SMALL_SYSTEM"]

#: n·d below which a problem counts as small (one thread).
SMALL_PROBLEM = 2_000_000
#: the order of a linear system up to which one BLAS thread solves it faster (measured to 500 on 2 cores)
SMALL_SYSTEM = 500
#: Copies of the draws a fit holds at once (the sampler's, the Posterior's, the InferenceData's, the netCDF write).
_COPIES = 4


def available_memory() -> int:
    """Bytes of memory available to new allocations (``MemAvailable`` on Linux; else total physical memory)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not a POSIX system
        return 2**63


def _size(nbytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if nbytes < 1024 or unit == "PiB":
            return f"{nbytes:.3g} {unit}"
        nbytes /= 1024
    return f"{nbytes:.3g} PiB"  # pragma: no cover


def check_draws_memory(chains: int, draws: int, d: int, *, available: int | None = None) -> None:
    """Refuse ``chains × draws`` draws of ``d`` weights (plus b, σ, τ and the sampler's statistics) when the
    arrays a fit holds at once would not fit in the memory available now.

    Raises
    ------
    SpecError
        Naming the sizes and the fix (fewer draws or chains).
    """
    per_draw = (int(d) + 12) * 8  # w, then b, σ, τ and about eight per-draw sampler statistics, float64
    need = _COPIES * int(chains) * int(draws) * per_draw
    have = available_memory() if available is None else available
    if need > have:
        fit_draws = max(1, int(have // (_COPIES * int(chains) * per_draw)))
        raise SpecError(f"{chains} chains × {draws} draws of {d} weights need about {_size(need)} of memory; "
                        f"{_size(have)} is available: use at most --draws {fit_draws} per chain (1000 is "
                        "usually plenty)")


def configure_threads(n: int, d: int) -> int:
    """Set torch's and the BLAS libraries' thread counts for a problem of ``n`` rows and ``d`` features; returns
    the count set (0: left at the libraries' defaults). Does nothing when the user chose (``BAYESREG_THREADS`` or
    ``OMP_NUM_THREADS``), except that ``BAYESREG_THREADS`` is applied."""
    chosen = os.environ.get("BAYESREG_THREADS")
    if chosen is None and "OMP_NUM_THREADS" in os.environ:
        return 0
    if chosen is not None:
        try:
            threads = int(chosen)
        except ValueError:
            raise SpecError(f"BAYESREG_THREADS must be a whole number ≥ 1, got {chosen!r}") from None
        if threads < 1:
            raise SpecError(f"BAYESREG_THREADS must be a whole number ≥ 1, got {chosen!r}")
    elif int(n) * int(d) < SMALL_PROBLEM:
        threads = 1
    else:
        return 0
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    threadpool_limits(limits=threads)
    return threads


def small_systems(order: int):
    """A context in which BLAS runs on one thread, for work made of many linear systems of at most ``order``
    unknowns (module docstring); a context that changes nothing when the systems are larger or the user chose a
    thread count."""
    from contextlib import nullcontext

    if order > SMALL_SYSTEM or "BAYESREG_THREADS" in os.environ or "OMP_NUM_THREADS" in os.environ:
        return nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")
