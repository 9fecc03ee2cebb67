"""PyTorch models the chapters train, one module per architecture; nothing is downloaded."""

from contextlib import contextmanager as _contextmanager

import torch as _torch

from coursepkg._checks import as_int as _as_int


@_contextmanager
def seeded(seed: int | None):
    """``with seeded(seed):`` layers built inside draw their initial weights from ``seed``.

    Torch's global generator is restored afterwards, so building a model does not change what
    the reader's next random call returns. ``seed=None`` draws from the global generator as
    usual. Works on any device, the meta device included (where nothing is drawn).
    """
    if seed is not None:
        seed = _as_int(seed, "seed", minimum=0)
    with _torch.random.fork_rng(devices=[], enabled=seed is not None):
        if seed is not None:
            _torch.manual_seed(seed)
        yield
