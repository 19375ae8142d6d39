r"""The prior a PyTorch training run assumed: one reading per parameter of ``model.named_parameters()``.

A coupled decay (``SGD``, with or without momentum or Nesterov; ``Adam``, ``RMSprop``, ``Adagrad``, ...) adds
``wd·θ`` to the gradient, i.e. ``(wd/2)‖θ‖²`` to the objective whatever the step rule: the fixed point of any of
them is the MAP of a Gaussian prior (momentum and the adaptive steps change the path, not the fixed point). The
prior's sd follows from the loss (:mod:`bayesreg.torch.loss_reading`): :math:`1/\tau^2 = a\,wd/\kappa`. No decay
is a flat (improper) prior. A decoupled decay (``AdamW``) has no fixed prior: :mod:`bayesreg.torch.adamw`.

A penalty written into the loss by hand (``loss_penalties``, the from-scratch code of *Dive into Deep Learning*)
is read too: ``c·Σθ²`` or ``c·Σθ²/2`` is a coupled decay of 2c or c (Gaussian), ``c·Σ|θ|`` a Laplace prior with
:math:`1/s = a\,c/\kappa` (with a decay as well: the elastic-net prior), ``c·‖θ‖`` (``torch.norm``, unsquared)
the radial prior :class:`~bayesreg.derived_priors.L2NormPrior`, not weight decay; a negative c (``loss − c·‖θ‖₁``)
has no prior at all: ``exp(+c‖θ‖₁)`` does not normalise.

What the reading flags:

* a **decayed bias**: ``b ~ N(0, τ_b²)`` pulls the intercept to 0; with a strong decay the model loses its affine
  part (the usual choice is no decay on biases: a flat prior);
* a decayed **normalisation scale** (BatchNorm/LayerNorm/GroupNorm ``weight``): its natural value is 1, the
  prior N(0, τ²) shrinks it towards 0, so the layer's outputs towards 0;
* weights that feed a **BatchNorm**: the network's function does not change when they are scaled, so their
  decay is not a prior on the function; it only changes their effective learning rate;
* a parameter the optimiser does not train: held at its value (``kind="fixed"``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ..errors import NoPriorError, SpecError
from .adamw import effective_decay, is_decoupled
from .loss_reading import LossReading, read_loss
from .training_data import TrainingRows, float64_copy, training_rows

__all__ = ["ParameterPrior", "ImpliedPrior", "implied_prior", "decay_vector", "KINDS", "LOSS_PENALTIES"]

#: The readings a parameter can get.
KINDS = ("gaussian", "flat", "adamw-effective", "fixed", "laplace", "elastic-net", "l2-norm")

#: Penalties a user may have added to the loss by hand: form -> what it is in code.
LOSS_PENALTIES = {
    "sum_squares": "c·Σθ²: (θ**2).sum()",
    "half_sum_squares": "c·Σθ²/2: d2l's l2_penalty(w) = (w**2).sum() / 2",
    "l1": "c·Σ|θ|: θ.abs().sum()",
    "norm": "c·‖θ‖: torch.norm(θ), the unsquared norm",
}
_KINKED = ("laplace", "elastic-net", "l2-norm")

_NORM_TYPES = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm)
_BATCH_NORM = nn.modules.batchnorm._BatchNorm
_NO_DECAY_OPTIONS = (torch.optim.LBFGS, torch.optim.Rprop, torch.optim.SparseAdam)


@dataclass(frozen=True)
class ParameterPrior:
    """The prior one parameter tensor was trained under.

    ``kind``: ``gaussian`` (a coupled decay: N(0, τ²) on each entry), ``flat`` (no decay), ``adamw-effective``
    (decoupled decay: ``tau`` is None; ``effective_tau`` per entry from the optimiser's state, None before its
    first step; ``naive_tau`` the coupled reading of the same ``weight_decay``) or ``fixed`` (not trained).
    ``lam`` is the canonical λ (σ²/τ² regression, 1/τ² classifier; 0 flat, None where no fixed prior exists).
    """

    name: str
    shape: tuple[int, ...]
    kind: str
    tau: float | None
    lam: float | None
    weight_decay: float
    group: int | None
    reason: str
    flags: tuple[str, ...] = ()
    effective_tau: np.ndarray | None = field(default=None, repr=False)
    naive_tau: float | None = None
    scale: float | None = None

    @property
    def prior(self):
        """The reading as one of bayesreg's priors (for ``bayesreg prior``-style reading and the density), or None
        (flat, AdamW, fixed)."""
        from ..derived_priors import ElasticNetPrior, L2NormPrior
        from ..priors import Gaussian, Laplace

        if self.kind == "gaussian":
            return Gaussian(self.tau)
        if self.kind == "laplace":
            return Laplace(self.scale)
        if self.kind == "elastic-net":
            return ElasticNetPrior(self.scale, self.tau)
        if self.kind == "l2-norm":
            return L2NormPrior(self.scale, self.size)
        return None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def precision(self) -> np.ndarray:
        """The prior precision of each entry (flattened, float64): 1/τ², 0 for flat; the effective one for AdamW.

        Raises
        ------
        SpecError
            AdamW before its first step (no state to read), or a parameter held fixed.
        """
        if self.kind == "gaussian":
            return np.full(self.size, 1.0 / self.tau**2)
        if self.kind == "flat":
            return np.zeros(self.size)
        if self.kind == "adamw-effective":
            if self.effective_tau is None:
                raise SpecError(f"{self.name}: AdamW's effective prior is read from its state, and it has taken no "
                                "step yet")
            return 1.0 / np.square(self.effective_tau).ravel()
        if self.kind in _KINKED:
            raise SpecError(f"{self.name}: the {self.kind} prior has a kink at 0, so no Gaussian (Laplace) "
                            "approximation or gradient test applies; sample it with bayesreg fit --prior "
                            f"{'laplace' if self.kind == 'laplace' else 'gaussian'} instead")
        raise SpecError(f"{self.name} is not trained: it has no posterior, only its fixed value")


@dataclass(frozen=True)
class ImpliedPrior:
    """The reading of a whole training run: one :class:`ParameterPrior` per parameter (``named_parameters()``
    order), the loss read as a likelihood, σ and where it came from, and notes about the run as a whole."""

    parameters: dict[str, ParameterPrior]
    loss: LossReading
    optimizer: str
    sigma: float | None
    sigma_source: str | None
    notes: tuple[str, ...] = ()

    def __getitem__(self, name: str) -> ParameterPrior:
        try:
            return self.parameters[name]
        except KeyError:
            raise KeyError(f"no parameter {name!r}; the model has {', '.join(self.parameters)}") from None

    def __iter__(self):
        return iter(self.parameters.values())

    def __len__(self) -> int:
        return len(self.parameters)

    @property
    def regression(self) -> bool:
        return self.loss.regression

    def precision_vector(self, names=None) -> np.ndarray:
        """The prior precision of every entry of the named parameters (default all trained ones), flattened in
        ``named_parameters()`` order."""
        names = [p.name for p in self if p.kind != "fixed"] if names is None else names
        return np.concatenate([self[n].precision() for n in names]) if names else np.zeros(0)

    def table(self) -> str:
        """One line per parameter: name, shape, kind, τ, λ, weight decay and flags; then σ and the notes."""
        rows = [("parameter", "shape", "kind", "tau / scale", "lambda", "weight_decay", "flags")]
        for p in self:
            tau = "-" if p.tau is None else f"{p.tau:.4g}"
            if p.kind == "adamw-effective" and p.effective_tau is not None:
                et = p.effective_tau
                tau = f"{np.min(et):.3g}..{np.max(et):.3g} (eff.)"
            if p.scale is not None:
                tau = ("" if p.tau is None else tau + ", ") + ("ℓ" if p.kind == "l2-norm" else "s") + f"={p.scale:.4g}"
            lam = "-" if p.lam is None else f"{p.lam:.4g}"
            rows.append((p.name, "×".join(map(str, p.shape)) or "scalar", p.kind, tau, lam, f"{p.weight_decay:g}",
                         ", ".join(p.flags) or ""))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
        lines.append(f"loss: {self.loss.objective}  ({self.loss.description})")
        if self.regression:
            lines.append(f"sigma = {self.sigma:.6g} ({self.sigma_source})")
        lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def reasons(self) -> str:
        """Each parameter's reading as a sentence."""
        return "\n".join(f"{p.name}: {p.reason}" for p in self)


def implied_prior(model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: nn.Module, n_train: int,
                  sigma: float | None = None, *, train_data=None, half: bool = False,
                  reduction: str | None = None, batch_size: int | None = None,
                  loss_penalties: dict | None = None) -> ImpliedPrior:
    r"""The prior each parameter of ``model`` was trained under (module docstring).

    Parameters
    ----------
    model, optimizer, loss_fn
        The run: any ``nn.Module``, a ``torch.optim`` optimiser over (some of) its parameters, and one of
        ``nn.MSELoss``, ``nn.BCEWithLogitsLoss``, ``nn.BCELoss``, ``nn.CrossEntropyLoss``.
    n_train
        Rows in the training set.
    sigma
        Regression: the noise sd, if known. Else it is estimated from the training residuals (needs
        ``train_data``) and the reading says so.
    train_data
        The ``DataLoader`` trained with, or ``(X, y)``: σ̂, the outputs per row and the batch size come from it.
    half
        ½ × ``loss_fn`` was back-propagated.
    reduction
        How a ``reduction="none"`` loss was reduced: ``"mean"`` or ``"sum"``.
    batch_size
        Rows per minibatch, for a summed loss (default: the loader's, else full batch).
    loss_penalties
        Penalties added to the loss by hand, ``{parameter name: (form, c)}`` with form one of
        :data:`LOSS_PENALTIES` (``"half_sum_squares"`` for d2l's ``lambd * l2_penalty(w)``).

    Raises
    ------
    NoPriorError
        A penalty subtracted from the loss (c < 0), or a negative weight decay: no prior exists.
    SpecError
        An unreadable loss or optimiser option (:func:`~bayesreg.torch.loss_reading.read_loss`).

    Examples
    --------
    The weight-decay chapter of *Dive into Deep Learning*: 20 rows, ``MSELoss``, decay 3 on the weight only.

    >>> import torch
    >>> from torch import nn
    >>> net = nn.Linear(200, 1)
    >>> opt = torch.optim.SGD([{"params": net.weight, "weight_decay": 3.0}, {"params": net.bias}], lr=0.003)
    >>> reading = implied_prior(net, opt, nn.MSELoss(), n_train=20, sigma=0.01)
    >>> reading["weight"].kind, round(reading["weight"].tau, 6), reading["weight"].lam
    ('gaussian', 0.001826, 30.0)
    >>> reading["bias"].kind
    'flat'
    """
    if not isinstance(model, nn.Module):
        raise SpecError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise SpecError(f"optimizer must be a torch.optim optimiser, got {type(optimizer).__name__}")
    rows = training_rows(train_data) if train_data is not None else None
    if rows is not None and rows.n != n_train:
        raise SpecError(f"n_train={n_train} but the training data have {rows.n} rows")
    if batch_size is None and rows is not None:
        batch_size = rows.batch_size
    loss = read_loss(loss_fn, n_train, outputs=_outputs_per_row(model, rows), half=half, reduction=reduction,
                     batch_size=batch_size, drop_last=bool(rows is not None and rows.drop_last))
    notes = []
    if loss.reduction == "sum" and batch_size is None:
        notes.append("a summed loss was read as full-batch; with minibatches of B rows the data weigh only "
                     "1/⌈n/B⌉ as much against the decay (give batch_size= or the loader)")
    sigma, sigma_source = _noise(model, loss, sigma, rows, notes)
    notes.extend(_run_notes(model, loss, rows))
    penalties = _check_penalties(loss_penalties, model)
    groups = _groups_by_parameter(optimizer)
    norm_params, feeds_batchnorm = _special_parameters(model)
    readings = {}
    for name, param in model.named_parameters():
        found = groups.get(id(param))
        flags = _flags(name, param, norm_params, feeds_batchnorm)  # what a decay on it would do
        if found is None or not param.requires_grad:
            why = "not in the optimiser" if found is None else "requires_grad=False"
            readings[name] = ParameterPrior(name, tuple(param.shape), "fixed", None, None, 0.0, None,
                                            f"not trained ({why}): held at its value, no prior is used")
            continue
        index, group = found
        reading = _read_parameter(name, param, optimizer, index, group, loss, sigma, flags)
        readings[name] = _with_loss_penalty(reading, penalties.get(name), loss, sigma, flags)
    _check_options(optimizer)
    return ImpliedPrior(readings, loss, type(optimizer).__name__, sigma, sigma_source, tuple(notes))


# ------------------------------------------------------------------------------------------------ pieces

def _read_parameter(name, param, optimizer, index, group, loss: LossReading, sigma, flags) -> ParameterPrior:
    wd = float(group.get("weight_decay", 0.0) or 0.0)
    shape = tuple(param.shape)
    opt = type(optimizer).__name__
    where = f"group {index} of {opt}"
    if wd < 0:
        raise NoPriorError(f"{name}: weight_decay={wd} in {where} is negative: exp(+|wd|‖θ‖²/2) does not "
                           "normalise, no prior exists")
    if wd == 0:
        return ParameterPrior(name, shape, "flat", None, 0.0, 0.0, index,
                              f"no weight decay in {where}: a flat (improper) prior, the likelihood alone")
    if isinstance(optimizer, _NO_DECAY_OPTIONS):
        return ParameterPrior(name, shape, "flat", None, 0.0, 0.0, index,
                              f"{opt} applies no weight decay: a flat prior (a penalty written into the loss is "
                              "not visible here)")
    naive_tau = 1.0 / math.sqrt(loss.prior_precision(wd, sigma))
    lam = loss.canonical_lam(wd)
    unit = "σ²/τ²" if loss.regression else "1/τ²"
    flag_text = "".join(f"; {_FLAG_TEXT[f]}" for f in flags)
    if is_decoupled(optimizer, group):
        eff = effective_decay(optimizer, param, group)
        eff_tau = None
        state_text = "no optimiser state yet (no step taken)"
        if eff is not None:
            eff_tau = (1.0 / np.sqrt(loss.nll_per_unit_loss(sigma) * eff.numpy() / loss.kappa)).reshape(shape)
            state_text = (f"from its state: τ_j from {np.min(eff_tau):.3g} to {np.max(eff_tau):.3g} "
                          f"(median {np.median(eff_tau):.3g})")
        reason = (f"decoupled decay wd={wd:g} in {where}: its fixed point is the MAP of N(0, τ_j²) with "
                  f"1/τ_j² ∝ wd·(√v̂_j + ε), set by the running squared gradients, not a prior fixed in advance; "
                  f"{state_text}; read as coupled it would be τ = {naive_tau:.4g}{flag_text}")
        return ParameterPrior(name, shape, "adamw-effective", None, None, wd, index, reason, flags, eff_tau,
                              naive_tau)
    loss_text = f"κ = {loss.kappa:.4g}" + (" (a summed loss over minibatches)" if loss.reduction == "sum" else "")
    reason = (f"coupled decay wd={wd:g} in {where} adds (wd/2)‖θ‖² to {loss.objective.split(' + ')[0]} "
              f"({loss_text}): N(0, τ²) with τ = {naive_tau:.4g}, λ = {unit} = {lam:.4g}{flag_text}")
    return ParameterPrior(name, shape, "gaussian", naive_tau, lam, wd, index, reason, flags, None, naive_tau)


def _check_penalties(loss_penalties, model) -> dict:
    if not loss_penalties:
        return {}
    if not isinstance(loss_penalties, dict):
        raise SpecError("loss_penalties must be a dict {parameter name: (form, c)}")
    names = dict(model.named_parameters())
    out = {}
    for name, spec in loss_penalties.items():
        if name not in names:
            raise SpecError(f"loss_penalties names {name!r}, which is not a parameter; the model has "
                            f"{', '.join(names)}")
        if not (isinstance(spec, (tuple, list)) and len(spec) == 2 and spec[0] in LOSS_PENALTIES):
            raise SpecError(f"loss_penalties[{name!r}] must be (form, c) with form one of "
                            f"{', '.join(LOSS_PENALTIES)}, got {spec!r}")
        form, c = spec[0], float(spec[1])
        if not math.isfinite(c):
            raise SpecError(f"loss_penalties[{name!r}]: c must be finite, got {c}")
        if c < 0:
            raise NoPriorError(f"{name}: the loss subtracts {abs(c):g}·{LOSS_PENALTIES[form].split(':')[0][2:]}: "
                               "exp(+penalty) does not normalise, so no prior exists, and training pushes the "
                               "weights to infinity (add the penalty, do not subtract it)")
        if c > 0:
            out[name] = (form, c)
    return out


def _with_loss_penalty(reading: ParameterPrior, penalty, loss: LossReading, sigma, flags) -> ParameterPrior:
    """Combine the optimiser's reading of one parameter with a penalty in the loss (module docstring)."""
    if penalty is None:
        return reading
    form, c = penalty
    name, shape = reading.name, reading.shape
    if reading.kind == "adamw-effective":
        raise SpecError(f"{name}: a penalty in the loss together with a decoupled decay is not read here")
    text = LOSS_PENALTIES[form]
    unit = "σ²" if loss.regression else "1"
    flag_text = "".join(f"; {_FLAG_TEXT[f]}" for f in flags)
    if form in ("sum_squares", "half_sum_squares"):
        wd = reading.weight_decay + (2.0 * c if form == "sum_squares" else c)
        tau = 1.0 / math.sqrt(loss.prior_precision(wd, sigma))
        lam = loss.canonical_lam(wd)
        why = (f"{text} in the loss is a coupled decay of {wd - reading.weight_decay:g}"
               + (f", plus the optimiser's {reading.weight_decay:g}" if reading.weight_decay else "")
               + f": N(0, τ²) with τ = {tau:.4g}, λ = {lam:.4g}{flag_text}")
        return ParameterPrior(name, shape, "gaussian", tau, lam, wd, reading.group, why, flags, None, tau)
    inv_scale = loss.nll_per_unit_loss(sigma) * c / loss.kappa        # 1/s (l1) or 1/ℓ (norm)
    scale = 1.0 / inv_scale
    if form == "norm":
        if reading.weight_decay:
            raise SpecError(f"{name}: torch.norm in the loss together with weight decay is not read here")
        why = (f"{text} in the loss: the radial prior ∝ exp(−‖θ‖/ℓ), ℓ = {scale:.4g}: not weight decay (its pull "
               f"has length c whatever ‖θ‖ is) and not Gaussian; square the norm for weight decay{flag_text}")
        return ParameterPrior(name, shape, "l2-norm", None, None, reading.weight_decay, reading.group, why, flags,
                              scale=scale)
    lam = c / (2.0 * loss.kappa) if loss.regression else c / loss.kappa
    if reading.kind == "gaussian":
        why = (f"{text} in the loss with the optimiser's decay {reading.weight_decay:g}: the elastic-net prior, "
               f"Laplace scale s = {scale:.4g} times N(0, τ²), τ = {reading.tau:.4g}{flag_text}")
        return ParameterPrior(name, shape, "elastic-net", reading.tau, None, reading.weight_decay, reading.group,
                              why, flags, scale=scale)
    why = (f"{text} in the loss: Laplace(s) with s = {scale:.4g}, λ = {unit}/s = {lam:.4g}; its MAP has exact "
           f"zeros, which a (sub)gradient optimiser does not reach{flag_text}")
    return ParameterPrior(name, shape, "laplace", None, lam, 0.0, reading.group, why, flags, scale=scale)


_FLAG_TEXT = {
    "decayed-bias": "a decayed bias: b ~ N(0, τ²) pulls the intercept to 0 (a strong decay removes the model's "
                    "affine part); biases are usually left undecayed (flat)",
    "normalisation-scale": "a decayed normalisation scale: its natural value is 1 but N(0, τ²) shrinks it towards "
                           "0, and with it the layer's output",
    "normalisation-shift": "a decayed normalisation shift: N(0, τ²) pulls it to 0",
    "scale-invariant": "feeds a BatchNorm, so the function does not change when it is scaled: the decay is no "
                       "prior on the function, it only raises the effective learning rate",
}


def _flags(name: str, param, norm_params: dict, feeds_batchnorm: set) -> tuple[str, ...]:
    flags = []
    if id(param) in norm_params:
        flags.append("normalisation-scale" if norm_params[id(param)] == "weight" else "normalisation-shift")
    elif name.rsplit(".", 1)[-1] == "bias":
        flags.append("decayed-bias")
    if id(param) in feeds_batchnorm:
        flags.append("scale-invariant")
    return tuple(flags)


def _special_parameters(model: nn.Module) -> tuple[dict, set]:
    """ids of normalisation parameters (→ ``weight``/``bias``) and of weights that feed a BatchNorm directly
    (a Linear or Conv immediately before it in an ``nn.Sequential``)."""
    norm = {}
    for module in model.modules():
        if isinstance(module, _NORM_TYPES):
            for pname, p in module.named_parameters(recurse=False):
                norm[id(p)] = pname
    feeds = set()
    for module in model.modules():
        if isinstance(module, nn.Sequential):
            children = list(module.children())
            for before, after in zip(children, children[1:], strict=False):
                if isinstance(after, _BATCH_NORM) and isinstance(before, (nn.Linear, nn.modules.conv._ConvNd)):
                    feeds.add(id(before.weight))
    return norm, feeds


def _groups_by_parameter(optimizer) -> dict[int, tuple[int, dict]]:
    out = {}
    for index, group in enumerate(optimizer.param_groups):
        for p in group["params"]:
            out[id(p)] = (index, group)
    return out


def _check_options(optimizer) -> None:
    for group in optimizer.param_groups:
        if group.get("maximize", False):
            raise SpecError(f"{type(optimizer).__name__}(maximize=True) ascends the loss: it is no posterior mode")


def _outputs_per_row(model: nn.Module, rows: TrainingRows | None) -> int:
    """k: outputs per row, from one forward pass on a training row, else the last Linear's ``out_features``."""
    if rows is not None:
        with torch.no_grad():
            out = float64_copy(model)(rows.X[:1])
        return int(np.prod(out.shape[1:], dtype=np.int64)) if out.ndim > 1 else 1
    last = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return last[-1].out_features if last else 1


def _run_notes(model: nn.Module, loss: LossReading, rows: TrainingRows | None) -> list[str]:
    """What the reading assumes about the run that the run may not have done."""
    notes = []
    if any(isinstance(m, (nn.Dropout, nn.modules.batchnorm._BatchNorm)) for m in model.modules()):
        notes.append("the checks evaluate the model in eval mode (dropout off, BatchNorm on its running "
                     "statistics): the function training made stationary was the train-mode one")
    if rows is not None and loss.family != "categorical":
        with torch.no_grad():
            out = float64_copy(model)(rows.X[:2])
        if tuple(out.shape[1:]) != tuple(rows.y.shape[1:]):
            notes.append(f"the targets have shape {tuple(rows.y.shape)} and the outputs (n, "
                         f"{', '.join(map(str, out.shape[1:]))}): {loss.loss_name} on them as given broadcasts to "
                         "an n × n matrix and trains another objective; the reading assumes targets shaped like "
                         "the outputs")
    return notes


def _noise(model, loss: LossReading, sigma, rows: TrainingRows | None, notes: list) -> tuple[float | None, str | None]:
    if not loss.regression:
        if sigma is not None:
            raise SpecError(f"{loss.loss_name} has no noise σ (the log-loss is the likelihood itself); drop sigma=")
        return None, None
    if sigma is not None:
        sigma = float(sigma)
        if not (math.isfinite(sigma) and sigma > 0):
            raise SpecError(f"sigma must be a positive number (the noise sd), got {sigma}")
        return sigma, "given"
    if rows is None:
        raise SpecError("the squared-error loss is a Gaussian likelihood only once the noise σ is known: give "
                        "sigma= or train_data= to estimate it from the training residuals")
    with torch.no_grad():
        out = float64_copy(model)(rows.X)
    y = rows.y.to(torch.float64)
    if out.shape != y.shape:
        if out.numel() != y.numel():
            raise SpecError(f"the model's output has shape {tuple(out.shape)} and the targets {tuple(y.shape)}")
        y = y.reshape(out.shape)
    mse = float(torch.mean((y - out) ** 2))
    if not mse > 0:
        raise SpecError("the model fits the training targets exactly: the residuals give σ̂ = 0; give sigma=")
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    source = f"estimated from the training residuals: √(mean r²) over {out.numel()} outputs"
    if n_params >= out.numel():
        notes.append(f"σ̂ from the training residuals is unreliable here: {n_params} parameters can fit "
                     f"{out.numel()} targets closely, so the residuals understate the noise; give sigma= if known")
    elif n_params > 0.05 * out.numel():
        notes.append(f"σ̂ from the training residuals understates the noise when the model is flexible ({n_params} "
                     f"parameters for {out.numel()} targets: by a factor of about √(1 − p/n) = "
                     f"{math.sqrt(1 - n_params / out.numel()):.2f} for a linear model, more for a network); the sd "
                     "of held-out residuals, given as sigma=, is safer")
    return math.sqrt(mse), source


def decay_vector(reading: ImpliedPrior, names, *, adamw: str = "effective") -> np.ndarray:
    """The coupled-equivalent decay of every entry of ``names`` (flattened): the wd whose ``(wd/2)‖θ‖²`` in the
    training objective is the prior; AdamW's effective one (``adamw="effective"``) or its wd read as coupled
    (``"naive"``)."""
    a = reading.loss.nll_per_unit_loss(reading.sigma)
    out = []
    for name in names:
        p = reading[name]
        if p.kind == "adamw-effective" and adamw == "naive":
            out.append(np.full(p.size, p.weight_decay))
        else:
            out.append(p.precision() * reading.loss.kappa / a)
    return np.concatenate(out) if out else np.zeros(0)
