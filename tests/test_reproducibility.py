import os

import numpy as np
import pytest
import torch

from coursepkg.reproducibility import cpu_count, default_device, set_seed, setup_notebook


def test_set_seed_makes_every_generator_repeat():
    first = set_seed(3)
    a = (np.random.rand(), torch.rand(1).item(), first.random())  # noqa: NPY002 (legacy global)
    second = set_seed(3)
    assert (np.random.rand(), torch.rand(1).item(), second.random()) == a  # noqa: NPY002


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True])
def test_set_seed_rejects_bad_seeds(bad):
    with pytest.raises(ValueError, match="seed"):
        set_seed(bad)


def test_default_device_is_cuda_only_when_available():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert default_device().type == expected


def test_cpu_count_is_positive_and_not_more_than_the_machine():

    assert 1 <= cpu_count() <= (os.cpu_count() or 1)


def test_cpu_count_without_affinity(monkeypatch):

    monkeypatch.delattr(os, "sched_getaffinity")
    assert cpu_count() == (os.cpu_count() or 1)


def test_setup_notebook_fixes_threads_and_determinism():
    rng = setup_notebook(seed=1)
    try:
        assert torch.get_num_threads() == cpu_count()
        assert torch.are_deterministic_algorithms_enabled()
        assert rng.random() == np.random.default_rng(1).random()
    finally:
        torch.use_deterministic_algorithms(False)
        np.set_printoptions(precision=8, suppress=False)
