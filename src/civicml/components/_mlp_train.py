"""Torch training of the tabular MLP (the ``deep`` extra: ``torch==2.13.0``, CPU).

:func:`fit_tabular_mlp` trains the network that :mod:`civicml.components._mlp` runs with numpy,
and returns its weights as numpy arrays. torch is imported inside the functions only, so this
module loads without the extra. Training is deterministic for a seed: one thread,
``torch.use_deterministic_algorithms(True)``, a seeded generator for initialisation, dropout and
shuffling (the global torch settings are restored afterwards). Early stopping watches the loss
on an internal validation split and keeps the best epoch's weights.
"""

from __future__ import annotations

import contextlib
import importlib.util
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypedDict, Unpack

import numpy as np

from civicml.components._mlp_net import embedding_dims, embedding_indices

__all__ = ["DeadlineReached", "MLPParams", "MLPSettings", "fit_tabular_mlp", "torch_available"]


class DeadlineReached(TimeoutError):
    """Training stopped because the next epoch would not end before the deadline; ``projected``
    is how long all ``max_epochs`` were expected to take (seconds)."""

    def __init__(self, message: str, projected: float | None = None) -> None:
        super().__init__(message)
        self.projected = projected


def torch_available() -> bool:
    """Whether torch can be imported (the ``deep`` extra is installed)."""
    return importlib.util.find_spec("torch") is not None


@contextlib.contextmanager
def _deterministic(seed: int) -> Iterator[Any]:
    """One thread and deterministic algorithms for the block; global settings restored after."""
    import torch

    threads = torch.get_num_threads()
    was_det = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(seed)
    try:
        yield torch.Generator().manual_seed(seed)
    finally:
        torch.use_deterministic_algorithms(was_det)
        torch.set_num_threads(threads)


def _split(
    n: int, target: np.ndarray, task: str, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """Train and validation row indices (stratified for classification); no split when tiny."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(n)
    n_val = int(round(n * fraction))
    if fraction <= 0 or n_val < 2 or n - n_val < 2:
        return idx, None
    strat = None
    if task != "regression":
        counts = np.bincount(target.astype(np.int64))
        counts = counts[counts > 0]
        if counts.min() >= 2 and n_val >= len(counts):
            strat = target
    tr, va = train_test_split(idx, test_size=n_val, random_state=seed, stratify=strat)
    return np.sort(tr), np.sort(va)


class MLPParams(TypedDict, total=False):
    """The network and training settings (the estimators' parameters; defaults in
    :class:`MLPSettings`)."""

    n_categorical: int
    hidden_units: int
    hidden_layers: int
    embedding_dim: int
    dropout: float
    learning_rate: float
    weight_decay: float
    batch_size: int
    max_epochs: int
    patience: int
    validation_fraction: float
    random_state: int


@dataclass(frozen=True)
class MLPSettings:
    """:class:`MLPParams` with their defaults (those of ``TabularMLPClassifier``)."""

    n_categorical: int = 0
    hidden_units: int = 128
    hidden_layers: int = 2
    embedding_dim: int = 0
    dropout: float = 0.1
    learning_rate: float = 1e-3
    weight_decay: float = 1e-5
    batch_size: int = 256
    max_epochs: int = 100
    patience: int = 8
    validation_fraction: float = 0.15
    random_state: int = 0


def fit_tabular_mlp(
    X: np.ndarray,
    target: np.ndarray,
    *,
    task: str,
    return_net: bool = False,
    deadline: float | None = None,
    **params: Unpack[MLPParams],
) -> dict[str, Any]:
    """Train the MLP and return its fitted attributes (numpy arrays and numbers).

    Parameters
    ----------
    X : (n, d) float array; the first ``n_categorical`` columns are ordinal codes.
    target : class indices ``0..k-1`` (classification) or values (regression).
    task : ``"classification"`` or ``"regression"``.
    return_net : bool
        Also return the trained torch module (tests compare forward passes).
    deadline : float, optional
        Monotonic seconds by which training must end: checked after every batch and before
        every epoch (at the pace of the epochs so far); :class:`DeadlineReached` (a
        ``TimeoutError``) is raised rather than running past it.
    **params
        :class:`MLPParams` (``n_categorical``, ``hidden_units``, ...; see the estimators).

    Returns
    -------
    dict
        ``cardinalities_``, ``embeddings_``, ``coefs_`` (each ``(in, out)``), ``intercepts_``,
        ``n_epochs_``, ``best_epoch_``, ``best_validation_loss_`` and, for regression,
        ``y_mean_`` and ``y_scale_`` (plus ``torch_net``, the trained module in eval mode,
        when ``return_net``).
    """
    import torch
    from torch import nn

    p = MLPSettings(**params)
    X = np.asarray(X, dtype=np.float64)
    cards, idx, num = _inputs(X, p.n_categorical)
    out: dict[str, Any] = {"cardinalities_": cards}
    y_t, n_out = _target(target, task, len(X), out)
    dims = embedding_dims(cards, p.embedding_dim)
    with _deterministic(int(p.random_state)) as gen:
        net = _network(cards, dims, X.shape[1] - p.n_categorical, p, n_out)
        _initialise(net, gen)
        loss_fn: nn.Module = nn.MSELoss() if task == "regression" else nn.CrossEntropyLoss()
        opt = torch.optim.AdamW(
            net.parameters(), lr=float(p.learning_rate), weight_decay=float(p.weight_decay)
        )
        tr, va = _split(
            len(X), y_t.ravel(), task, float(p.validation_fraction), int(p.random_state)
        )
        tensors = (torch.from_numpy(idx), torch.from_numpy(num), torch.from_numpy(y_t))
        epochs, best_epoch, best_loss = _fit_epochs(
            net, loss_fn, opt, gen, tensors, (tr, va), p, deadline
        )
        out.update(
            _weights(net),
            n_epochs_=int(epochs),
            best_epoch_=int(best_epoch),
            best_validation_loss_=float(best_loss) if va is not None else float("nan"),
        )
        if return_net:  # tests compare the numpy forward pass with this module's
            net.eval()
            out["torch_net"] = net
    return out


def _inputs(X: np.ndarray, n_categorical: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cardinality per categorical column, embedding indices, and the numbers as float32."""
    cat = X[:, :n_categorical]
    with np.errstate(invalid="ignore"):
        finite = np.where(np.isfinite(cat) & (cat >= 0), cat, -1.0)
    cards = (finite.max(axis=0) + 1).astype(np.int64) if n_categorical else np.zeros(0, np.int64)
    cards = np.maximum(cards, 1)
    idx = embedding_indices(cat, cards)
    num = np.nan_to_num(X[:, n_categorical:], nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)
    return cards, idx, num


def _target(target: np.ndarray, task: str, n: int, out: dict[str, Any]) -> tuple[np.ndarray, int]:
    """The training target (standardised for regression, recorded in ``out``) and output width."""
    if task == "regression":
        y = np.asarray(target, dtype=np.float64)
        mean, scale = float(y.mean()), float(y.std())
        scale = scale if scale > 0 else 1.0
        out.update(y_mean_=mean, y_scale_=scale)
        return ((y - mean) / scale).astype(np.float32).reshape(-1, 1), 1
    y_t = np.asarray(target, dtype=np.int64)
    return y_t, int(y_t.max()) + 1 if n else 1


def _network(cards: np.ndarray, dims: list[int], n_numeric: int, p: MLPSettings, n_out: int) -> Any:
    """The torch module: embeddings, then (Linear -> ReLU [-> Dropout]) x L, then Linear."""
    import torch
    from torch import nn

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.emb = nn.ModuleList(
                nn.Embedding(int(k) + 1, dim) for k, dim in zip(cards, dims, strict=True)
            )
            width = sum(dims) + n_numeric
            layers: list[nn.Module] = []
            for _ in range(int(p.hidden_layers)):
                layers += [nn.Linear(width, int(p.hidden_units)), nn.ReLU()]
                if p.dropout > 0:
                    layers.append(nn.Dropout(float(p.dropout)))
                width = int(p.hidden_units)
            layers.append(nn.Linear(width, n_out))
            self.body = nn.Sequential(*layers)

        def forward(self, codes: torch.Tensor, numbers: torch.Tensor) -> torch.Tensor:
            parts = [e(codes[:, j]) for j, e in enumerate(self.emb)] + [numbers]
            return self.body(torch.cat(parts, dim=1))

    return Net()


def _initialise(net: Any, gen: Any) -> None:
    """Seeded re-initialisation (nn's own init uses the global RNG)."""
    import torch
    from torch import nn

    with torch.no_grad():
        for p in net.parameters():
            if p.dim() > 1:
                nn.init.kaiming_uniform_(p, a=5**0.5, generator=gen)
            else:
                nn.init.uniform_(p, -0.05, 0.05, generator=gen)
        for e in net.emb:
            assert isinstance(e, nn.Embedding)
            nn.init.normal_(e.weight, 0.0, 0.1, generator=gen)


def _fit_epochs(
    net: Any,
    loss_fn: Any,
    opt: Any,
    gen: Any,
    tensors: tuple[Any, Any, Any],
    rows: tuple[np.ndarray, np.ndarray | None],
    p: MLPSettings,
    deadline: float | None = None,
) -> tuple[int, int, float]:
    """Mini-batch epochs with early stopping; the best epoch's weights are loaded back.

    ``rows`` are the training and validation row indices. Returns the epochs run, the best
    epoch and its validation loss. Raises :class:`DeadlineReached` rather than pass
    ``deadline``.
    """
    import torch

    t_idx, t_num, t_y = tensors
    tr, va = rows
    started = time.monotonic()
    best_loss, best_epoch, best_state, epochs, stale = float("inf"), 0, None, 0, 0
    bs = max(1, int(p.batch_size))
    tr_t = torch.from_numpy(tr)
    for epoch in range(1, int(p.max_epochs) + 1):
        _check_deadline(deadline, started, epoch - 1, int(p.max_epochs), per_epoch=True)
        epochs = epoch
        net.train()
        order = tr_t[torch.randperm(len(tr_t), generator=gen)]
        for start in range(0, len(order), bs):
            _check_deadline(deadline, started, epoch - 1, int(p.max_epochs), per_epoch=False)
            b = order[start : start + bs]
            if len(b) < 2 and len(order) > 1:
                continue  # a lone row gives a noisy step
            opt.zero_grad()
            loss = loss_fn(net(t_idx[b], t_num[b]), t_y[b])
            loss.backward()
            opt.step()
        if va is None:
            continue
        net.eval()
        with torch.no_grad():
            v = torch.from_numpy(va)
            val = float(loss_fn(net(t_idx[v], t_num[v]), t_y[v]))
        if val < best_loss - 1e-6:
            best_loss, best_epoch, stale = val, epoch, 0
            best_state = {k: t.detach().clone() for k, t in net.state_dict().items()}
        else:
            stale += 1
            if stale >= int(p.patience):
                break
    if best_state is not None:
        net.load_state_dict(best_state)
    else:
        best_epoch = epochs
    return epochs, best_epoch, best_loss


def _check_deadline(
    deadline: float | None, started: float, done: int, total: int, *, per_epoch: bool
) -> None:
    """Raise :class:`DeadlineReached` when ``deadline`` has passed or, before an epoch
    (``per_epoch``), when one more epoch at the pace so far would pass it.

    >>> _check_deadline(None, 0.0, 3, 10, per_epoch=True)
    >>> _check_deadline(time.monotonic() - 1, time.monotonic() - 2, 1, 10, per_epoch=False)
    Traceback (most recent call last):
    ...
    civicml.components._mlp_train.DeadlineReached: stopped after 1 of 10 epochs: the deadline passed
    """
    if deadline is None:
        return
    now = time.monotonic()
    pace = (now - started) / done if done else 0.0
    if now > deadline or (per_epoch and done and now + pace > deadline):
        raise DeadlineReached(
            f"stopped after {done} of {total} epochs: the deadline passed"
            if now > deadline
            else f"stopped after {done} of {total} epochs: the next would overrun",
            pace * total if done else None,
        )


def _weights(net: Any) -> dict[str, Any]:
    """The trained weights as float32 numpy arrays (each linear weight as ``(in, out)``)."""
    from torch import nn

    linears = [m for m in net.body if isinstance(m, nn.Linear)]
    return {
        "embeddings_": [
            np.asarray(p.detach().numpy(), dtype=np.float32).copy()
            for name, p in net.named_parameters()
            if name.startswith("emb.")
        ],
        "coefs_": [m.weight.detach().numpy().T.astype(np.float32).copy() for m in linears],
        "intercepts_": [m.bias.detach().numpy().astype(np.float32).copy() for m in linears],
    }
