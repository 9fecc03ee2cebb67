"""coursepkg.pooling against torch.nn.functional and autograd."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from coursepkg import pooling

DTYPES = [np.float32, np.float64]
pairs = st.one_of(st.integers(1, 4), st.tuples(st.integers(1, 4), st.integers(1, 4)))
paddings = st.one_of(st.integers(0, 2), st.tuples(st.integers(0, 2), st.integers(0, 2)))
small_pairs = st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3)))


def images(seed: int, shape: tuple[int, ...], dtype, special: bool = False) -> np.ndarray:
    """Small integer values, so that max pooling windows often tie; optionally -inf and NaN."""
    x = np.random.default_rng(seed).integers(-3, 4, size=shape).astype(dtype)
    if special:
        x[x == -3] = -np.inf
        x[x == 3] = np.nan
    return x


def assert_close(ours: np.ndarray, theirs: torch.Tensor) -> None:
    theirs = theirs.detach().numpy()
    assert ours.dtype == theirs.dtype
    assert ours.shape == theirs.shape
    if ours.dtype == np.float64:
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)
    else:
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-6)


def torch_grad(fn, x: np.ndarray, seed: int):
    """Output of ``fn`` on ``x`` as a tensor, a random upstream gradient and autograd's dx."""
    xt = torch.from_numpy(x).requires_grad_(True)
    out = fn(xt)
    out = out[0] if isinstance(out, tuple) else out
    grad = np.random.default_rng(seed + 1).standard_normal(out.shape).astype(x.dtype)
    (dx,) = torch.autograd.grad(out, xt, torch.from_numpy(grad))
    return grad, dx


def torch_accepts(fn, x: np.ndarray) -> bool:
    try:
        fn(torch.from_numpy(x))
    except RuntimeError:
        return False
    return True


def every_window_touches_input(x: np.ndarray, kernel, stride, padding, dilation, out) -> bool:
    """False when some window lies entirely in the padding (possible with dilation)."""
    args = [np.broadcast_to(v, 2) for v in (kernel, stride, padding, dilation)]
    for axis, (k, s, p, d) in enumerate(zip(*args, strict=True)):
        size, n_out = x.shape[2 + axis], out.shape[2 + axis]
        taps = np.arange(n_out)[:, None] * s - p + np.arange(k) * d
        if not ((taps >= 0) & (taps < size)).any(axis=1).all():
            return False
    return True


# ---- max pooling ---------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(1, 2),
    c=st.integers(1, 2),
    h=st.integers(1, 8),
    w=st.integers(1, 8),
    kernel=pairs,
    stride=st.one_of(st.none(), small_pairs),
    padding=paddings,
    dilation=small_pairs,
    ceil_mode=st.booleans(),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**16),
)
def test_max_pool2d_matches_torch(
    n, c, h, w, kernel, stride, padding, dilation, ceil_mode, dtype, seed
):
    x = images(seed, (n, c, h, w), dtype)
    args = dict(
        kernel_size=kernel, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode
    )
    assume(torch_accepts(lambda t: F.max_pool2d(t, **args), x))
    out, idx = F.max_pool2d(torch.from_numpy(x), **args, return_indices=True)
    assume(every_window_touches_input(x, kernel, stride or kernel, padding, dilation, out))

    assert_close(pooling.max_pool2d(x, **args), out)
    ours, ours_idx = pooling.max_pool2d(x, **args, return_indices=True)
    assert_close(ours, out)
    np.testing.assert_array_equal(ours_idx, idx.numpy())
    assert ours_idx.dtype == np.int64

    grad, dx = torch_grad(lambda t: F.max_pool2d(t, **args), x, seed)
    assert_close(pooling.max_pool2d_backward(grad, x, **args), dx)
    assert_close(pooling.max_pool2d_backward(grad, x, **args, indices=ours_idx), dx)


@settings(max_examples=100, deadline=None)
@given(
    kernel=st.integers(2, 4),
    overlap=st.integers(1, 3),
    padding=st.integers(0, 2),
    dilation=st.integers(1, 2),
    ceil_mode=st.booleans(),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**16),
)
def test_max_pool2d_backward_from_indices_accumulates_overlaps_like_torch(
    kernel, overlap, padding, dilation, ceil_mode, dtype, seed
):
    """Windows overlap (stride below the dilated kernel span); torch's own indices work too."""
    stride = max(1, dilation * (kernel - 1) + 1 - overlap)
    x = images(seed, (2, 3, 11, 10), dtype)
    args = dict(
        kernel_size=kernel, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode
    )
    assume(torch_accepts(lambda t: F.max_pool2d(t, **args), x))
    out, idx = F.max_pool2d(torch.from_numpy(x), **args, return_indices=True)
    assume(every_window_touches_input(x, kernel, stride, padding, dilation, out))

    grad, dx = torch_grad(lambda t: F.max_pool2d(t, **args), x, seed)
    _, ours_idx = pooling.max_pool2d(x, **args, return_indices=True)
    assert_close(pooling.max_pool2d_backward(grad, x, **args, indices=ours_idx), dx)
    assert_close(pooling.max_pool2d_backward(grad, x, **args, indices=idx.numpy()), dx)
    narrow = ours_idx.astype(np.int32)
    assert_close(pooling.max_pool2d_backward(grad, x, **args, indices=narrow), dx)


@settings(max_examples=50, deadline=None)
@given(
    kernel=pairs,
    stride=small_pairs,
    padding=paddings,
    dilation=small_pairs,
    ceil_mode=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_max_pool2d_routes_nan_and_inf_like_torch(
    kernel, stride, padding, dilation, ceil_mode, seed
):
    """PyTorch moves to a NaN when it meets one; a window of -inf keeps its first real tap."""
    x = images(seed, (2, 2, 7, 6), np.float64, special=True)
    args = dict(
        kernel_size=kernel, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode
    )
    assume(torch_accepts(lambda t: F.max_pool2d(t, **args), x))
    out, idx = F.max_pool2d(torch.from_numpy(x), **args, return_indices=True)
    assume(every_window_touches_input(x, kernel, stride, padding, dilation, out))

    ours, ours_idx = pooling.max_pool2d(x, **args, return_indices=True)
    np.testing.assert_array_equal(ours, out.numpy())  # NaN compares equal here
    np.testing.assert_array_equal(pooling.max_pool2d(x, **args), out.numpy())
    np.testing.assert_array_equal(ours_idx, idx.numpy())
    grad, dx = torch_grad(lambda t: F.max_pool2d(t, **args), x, seed)
    assert_close(pooling.max_pool2d_backward(grad, x, **args), dx)  # sums in another order
    assert_close(pooling.max_pool2d_backward(grad, x, **args, indices=ours_idx), dx)


def test_max_pool2d_ties_go_to_first_max_in_row_major_order():
    x = np.array([[[[0.0, 5.0, 5.0], [5.0, 1.0, 5.0], [5.0, 5.0, 2.0]]]])
    out, idx = pooling.max_pool2d(x, 3, return_indices=True)
    assert out.item() == 5.0 and idx.item() == 1
    grad = pooling.max_pool2d_backward(np.full((1, 1, 1, 1), 2.0), x, 3)
    assert grad.sum() == grad[0, 0, 0, 1] == 2.0
    from_indices = pooling.max_pool2d_backward(np.full((1, 1, 1, 1), 2.0), x, 3, indices=idx)
    np.testing.assert_array_equal(from_indices, grad)


def test_max_pool2d_overlapping_windows_accumulate():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    grad = pooling.max_pool2d_backward(np.ones((1, 1, 3, 3)), x, 2, stride=1)
    x_t = torch.from_numpy(x).requires_grad_(True)
    F.max_pool2d(x_t, 2, stride=1).sum().backward()
    np.testing.assert_array_equal(grad, x_t.grad.numpy())
    assert grad.max() == 1.0


def test_max_pool2d_window_that_covers_no_input():
    """Only dilation with ceil_mode can make one: -inf out, index -1, no gradient."""
    x = np.arange(4.0).reshape(1, 1, 4, 1)
    args = dict(kernel_size=(2, 3), stride=(1, 3), padding=(0, 1), dilation=2, ceil_mode=True)
    theirs = F.max_pool2d(torch.from_numpy(x), **args)
    out, idx = pooling.max_pool2d(x, **args, return_indices=True)
    np.testing.assert_array_equal(out, theirs.numpy())
    assert np.all(out == -np.inf) and np.all(idx == -1)
    grad = pooling.max_pool2d_backward(np.ones(out.shape), x, **args)
    np.testing.assert_array_equal(grad, np.zeros_like(x))
    grad = pooling.max_pool2d_backward(np.ones(out.shape), x, **args, indices=idx)
    np.testing.assert_array_equal(grad, np.zeros_like(x))


def test_max_pool2d_defaults_and_dtypes():
    x = np.arange(2 * 3 * 6 * 6).reshape(2, 3, 6, 6)  # integers become float64
    out = pooling.max_pool2d(x, 2)
    assert out.dtype == np.float64 and out.shape == (2, 3, 3, 3)
    np.testing.assert_array_equal(out, F.max_pool2d(torch.from_numpy(x).double(), 2).numpy())
    x32 = x.astype(np.float32)
    assert pooling.max_pool2d(x32, 2).dtype == np.float32
    grad = np.ones((2, 3, 3, 3), np.float32)
    assert pooling.max_pool2d_backward(grad, x32, 2).dtype == np.float32
    assert pooling.max_pool2d_backward(grad, x, 2).dtype == np.float64


# ---- average pooling -----------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(
    n=st.integers(1, 2),
    c=st.integers(1, 2),
    h=st.integers(1, 8),
    w=st.integers(1, 8),
    kernel=pairs,
    stride=st.one_of(st.none(), small_pairs),
    padding=paddings,
    ceil_mode=st.booleans(),
    count_include_pad=st.booleans(),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**16),
)
def test_avg_pool2d_matches_torch(
    n, c, h, w, kernel, stride, padding, ceil_mode, count_include_pad, dtype, seed
):
    x = np.random.default_rng(seed).standard_normal((n, c, h, w)).astype(dtype)
    args = dict(
        kernel_size=kernel,
        stride=stride,
        padding=padding,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
    )
    assume(torch_accepts(lambda t: F.avg_pool2d(t, **args), x))
    assert_close(pooling.avg_pool2d(x, **args), F.avg_pool2d(torch.from_numpy(x), **args))
    grad, dx = torch_grad(lambda t: F.avg_pool2d(t, **args), x, seed)
    assert_close(pooling.avg_pool2d_backward(grad, x, **args), dx)


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize(
    ("shape", "special"),
    [((2, 3, 70, 9), False), ((2, 3, 9, 70), False), ((2, 3, 9, 8), True)],
    ids=["tall", "wide", "inf-and-nan"],
)
def test_avg_pool2d_large_planes_and_infinities_match_torch(shape, special, count_include_pad):
    """Small planes are averaged by matrix products; these take the strided slices instead."""
    x = images(0, shape, np.float64, special=special)
    args = dict(kernel_size=3, stride=2, padding=1, count_include_pad=count_include_pad)
    theirs = F.avg_pool2d(torch.from_numpy(x), **args).numpy()
    np.testing.assert_allclose(pooling.avg_pool2d(x, **args), theirs, rtol=1e-12, atol=1e-12)


def test_avg_pool2d_ceil_mode_divisor_matches_torch():
    """The last ceil-mode window hangs past the padding: torch clips its divisor."""
    x = np.ones((1, 1, 5, 5))
    for count_include_pad in (True, False):
        args = dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)
        ours = pooling.avg_pool2d(x, **args, count_include_pad=count_include_pad)
        theirs = F.avg_pool2d(torch.from_numpy(x), **args, count_include_pad=count_include_pad)
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-12)


# ---- adaptive and global pooling -----------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    output_size=st.one_of(
        st.integers(1, 10),
        st.tuples(st.none() | st.integers(1, 10), st.none() | st.integers(1, 10)),
    ),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**16),
)
def test_adaptive_avg_pool2d_matches_torch(h, w, output_size, dtype, seed):
    x = np.random.default_rng(seed).standard_normal((2, 3, h, w)).astype(dtype)
    theirs = F.adaptive_avg_pool2d(torch.from_numpy(x), output_size)
    assert_close(pooling.adaptive_avg_pool2d(x, output_size), theirs)
    grad, dx = torch_grad(lambda t: F.adaptive_avg_pool2d(t, output_size), x, seed)
    assert_close(pooling.adaptive_avg_pool2d_backward(grad, x), dx)


@settings(max_examples=60, deadline=None)
@given(
    h=st.integers(1, 7),
    w=st.integers(1, 7),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**16),
)
def test_global_pooling_matches_adaptive_pooling_to_one(h, w, dtype, seed):
    x = images(seed, (2, 3, h, w), dtype)  # ties: the first maximum gets the gradient
    cases = [
        (pooling.global_avg_pool2d, pooling.global_avg_pool2d_backward, F.adaptive_avg_pool2d),
        (pooling.global_max_pool2d, pooling.global_max_pool2d_backward, F.adaptive_max_pool2d),
    ]
    for forward, backward, torch_op in cases:
        ours = forward(x)
        assert ours.shape == (2, 3, 1, 1)
        assert_close(ours, torch_op(torch.from_numpy(x), 1))
        grad, dx = torch_grad(lambda t, op=torch_op: op(t, 1), x, seed)
        assert_close(backward(grad, x), dx)


def test_global_max_pool2d_backward_with_a_wide_plane():
    """Kernels of 256 taps or more keep their offsets in a wider integer type."""
    x = np.random.default_rng(0).standard_normal((1, 2, 2, 300))
    grad = np.ones((1, 2, 1, 1))
    x_t = torch.from_numpy(x).requires_grad_(True)
    F.adaptive_max_pool2d(x_t, 1).sum().backward()
    np.testing.assert_array_equal(pooling.global_max_pool2d_backward(grad, x), x_t.grad.numpy())


# ---- configurations PyTorch refuses --------------------------------------------------------

REFUSED = [
    ((1, 1, 4, 4), dict(kernel_size=2, padding=2)),  # padding more than half the kernel
    ((1, 1, 4, 4), dict(kernel_size=(3, 2), padding=(1, 2))),
    ((1, 1, 4, 4), dict(kernel_size=5)),  # kernel larger than the input
    ((1, 1, 1, 1), dict(kernel_size=3, stride=1, ceil_mode=True)),
    ((1, 1, 1, 9), dict(kernel_size=(4, 3), padding=(1, 0))),  # larger than the padded input
]


@pytest.mark.parametrize(("shape", "args"), REFUSED)
def test_configurations_torch_refuses_raise_value_error(shape, args):
    x = np.ones(shape)
    for ours, theirs in [(pooling.max_pool2d, F.max_pool2d), (pooling.avg_pool2d, F.avg_pool2d)]:
        with pytest.raises(RuntimeError):
            theirs(torch.from_numpy(x), **args)
        with pytest.raises(ValueError, match="kernel_size"):
            ours(x, **args)


def test_dilated_kernel_larger_than_padded_input_raises():
    x = np.ones((1, 1, 5, 5))
    with pytest.raises(RuntimeError):
        F.max_pool2d(torch.from_numpy(x), 3, dilation=3)
    with pytest.raises(ValueError, match="kernel_size.*dilation"):
        pooling.max_pool2d(x, 3, dilation=3)


# ---- bad arguments -------------------------------------------------------------------------

X = np.ones((1, 1, 6, 6))
G = np.ones((1, 1, 3, 3))

BAD_ARGUMENTS = [
    # (function, kwargs, error, name in the message)
    (pooling.max_pool2d, dict(x=X, kernel_size=0), ValueError, "kernel_size"),
    (pooling.max_pool2d, dict(x=X, kernel_size=(2, 2, 2)), ValueError, "kernel_size"),
    (pooling.max_pool2d, dict(x=X, kernel_size=1.5), ValueError, "kernel_size"),
    (pooling.max_pool2d, dict(x=X, kernel_size=True), ValueError, "kernel_size"),
    (pooling.avg_pool2d, dict(x=X, kernel_size=None), ValueError, "kernel_size"),
    (pooling.max_pool2d, dict(x=X, kernel_size=2, stride=0), ValueError, "stride"),
    (pooling.avg_pool2d, dict(x=X, kernel_size=2, stride=(1, -1)), ValueError, "stride"),
    (pooling.max_pool2d, dict(x=X, kernel_size=2, padding=-1), ValueError, "padding"),
    (pooling.avg_pool2d, dict(x=X, kernel_size=2, padding=2), ValueError, "padding"),
    (pooling.max_pool2d, dict(x=X, kernel_size=2, dilation=0), ValueError, "dilation"),
    (pooling.max_pool2d, dict(x=X, kernel_size=2, ceil_mode=1), TypeError, "ceil_mode"),
    (pooling.max_pool2d, dict(x=X, kernel_size=2, return_indices="no"), TypeError, "indices"),
    (pooling.avg_pool2d, dict(x=X, kernel_size=2, count_include_pad=None), TypeError, "count"),
    (pooling.max_pool2d, dict(x=np.ones((1, 6, 6)), kernel_size=2), ValueError, "x"),
    (pooling.avg_pool2d, dict(x=np.ones((1, 1, 0, 6)), kernel_size=1), ValueError, "x"),
    (pooling.global_max_pool2d, dict(x=np.ones((1, 1, 6, 0))), ValueError, "x"),
    (pooling.global_avg_pool2d, dict(x=np.ones((6, 6))), ValueError, "x"),
    (pooling.max_pool2d, dict(x=X.astype(complex), kernel_size=2), TypeError, "x"),
    (pooling.max_pool2d_backward, dict(grad_out=X, x=X, kernel_size=2), ValueError, "grad_out"),
    (
        pooling.max_pool2d_backward,
        dict(grad_out=G, x=X, kernel_size=2, indices=np.zeros((1, 1, 3, 2), np.int64)),
        ValueError,
        "indices",
    ),
    (
        pooling.max_pool2d_backward,
        dict(grad_out=G, x=X, kernel_size=2, indices=np.zeros(9, np.int64)),
        ValueError,
        "indices",
    ),
    (
        pooling.max_pool2d_backward,
        dict(grad_out=G, x=X, kernel_size=2, indices=np.zeros((1, 1, 3, 3))),
        TypeError,
        "indices",
    ),
    (pooling.avg_pool2d_backward, dict(grad_out=G[0], x=X, kernel_size=2), ValueError, "grad_out"),
    (pooling.global_avg_pool2d_backward, dict(grad_out=G, x=X), ValueError, "grad_out"),
    (pooling.global_max_pool2d_backward, dict(grad_out=G, x=X), ValueError, "grad_out"),
    (pooling.adaptive_avg_pool2d_backward, dict(grad_out=X[0], x=X), ValueError, "grad_out"),
    (
        pooling.adaptive_avg_pool2d_backward,
        dict(grad_out=np.ones((1, 2, 3, 3)), x=X),
        ValueError,
        "grad_out",
    ),
    (pooling.adaptive_avg_pool2d, dict(x=X, output_size=0), ValueError, "output_size"),
    (pooling.adaptive_avg_pool2d, dict(x=X, output_size=(2, 2, 2)), ValueError, "output_size"),
    (pooling.adaptive_avg_pool2d, dict(x=X, output_size=(None, -1)), ValueError, "output_size"),
    (pooling.adaptive_avg_pool2d, dict(x=X, output_size=2.5), ValueError, "output_size"),
]


@pytest.mark.parametrize(
    ("function", "kwargs", "error", "name"),
    BAD_ARGUMENTS,
    ids=[f"{f.__name__}-{name}-{i}" for i, (f, _, _, name) in enumerate(BAD_ARGUMENTS)],
)
def test_bad_arguments_raise_naming_the_argument(function, kwargs, error, name):
    with pytest.raises(error, match=name):
        function(**kwargs)
