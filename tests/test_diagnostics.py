"""coursepkg.diagnostics: gradient norms, dead units, captured outputs, timings, plot_curves."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from torch import nn  # noqa: E402

from coursepkg import diagnostics  # noqa: E402
from coursepkg.diagnostics import (  # noqa: E402
    capture_outputs,
    dead_unit_fraction,
    gradient_norms,
    plot_curves,
    time_function,
)
from coursepkg.models.plain import deep_cnn, deep_mlp  # noqa: E402


def _data(n=16, features=6, classes=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, features, generator=g), torch.randint(0, classes, (n,), generator=g)


def _hook_count(model):
    return sum(len(m._forward_hooks) for m in model.modules())


# ---- gradient_norms -------------------------------------------------------------------------


def test_gradient_norms_match_autograd_and_leave_no_grad_behind():
    x, y = _data()
    model = deep_mlp(3, 5, "tanh", in_features=6, num_classes=3)
    norms = gradient_norms(model, x, y)
    assert list(norms) == ["linear1", "linear2", "out"]
    assert all(p.grad is None for p in model.parameters())
    F.cross_entropy(model(x), y).backward()
    for name, value in norms.items():
        expected = model.get_submodule(name).weight.grad.norm().item()
        assert value == pytest.approx(expected, rel=1e-6)


def test_gradient_norms_use_the_given_loss_and_cover_convolutions():
    x = torch.randn(4, 1, 6, 6)
    y = torch.randn(4, 10)
    model = deep_cnn(2, 3)
    norms = gradient_norms(model, x, y, loss_fn=F.mse_loss)
    assert list(norms) == ["conv1", "conv2", "out"]
    assert all(v > 0 for v in norms.values())


def test_gradient_norms_vanish_through_sigmoid_layers():
    x, y = _data(n=64, features=16, classes=4)
    sig = gradient_norms(deep_mlp(10, 32, "sigmoid", 16, 4, init="glorot"), x, y)
    relu = gradient_norms(deep_mlp(10, 32, "relu", 16, 4, init="he"), x, y)
    assert sig["linear1"] / sig["out"] < 1e-3
    assert relu["linear1"] / relu["out"] > 1e-2


def test_gradient_norms_reject_bad_arguments():
    x, y = _data()
    model = deep_mlp(2, 4, in_features=6, num_classes=3)
    with pytest.raises(TypeError, match="model"):
        gradient_norms(lambda t: t, x, y)
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        gradient_norms(model, x.numpy(), y)
    with pytest.raises(ValueError, match="y must hold at least one example"):
        gradient_norms(model, x, torch.tensor(1))
    with pytest.raises(ValueError, match="same length"):
        gradient_norms(model, x, y[:3])
    with pytest.raises(ValueError, match="weight parameter"):
        gradient_norms(nn.Sequential(nn.Flatten()), x, y)


# ---- capture_outputs ------------------------------------------------------------------------


def test_capture_outputs_records_each_forward_and_removes_its_hooks():
    model = deep_mlp(3, 4, "relu", in_features=6)
    x, _ = _data()
    with capture_outputs(model) as seen:
        assert _hook_count(model) == 2
        model(x)
        model(x[:5])
    assert list(seen) == ["act1", "act2"]
    assert [tuple(o.shape) for o in seen["act1"]] == [(16, 4), (5, 4)]
    assert not seen["act1"][0].requires_grad
    assert _hook_count(model) == 0


def test_capture_outputs_removes_its_hooks_after_an_error():
    model = deep_mlp(3, 4, "relu", in_features=6)
    with pytest.raises(RuntimeError), capture_outputs(model, nn.Linear):
        model(torch.zeros(2, 7))  # wrong number of features
    assert _hook_count(model) == 0


@pytest.mark.parametrize("bad", [(), int, (nn.ReLU, "relu"), nn.ReLU()])
def test_capture_outputs_rejects_bad_layer_types(bad):
    with pytest.raises(TypeError, match="layer_types"), capture_outputs(deep_mlp(2, 3), bad):
        pass


def test_capture_outputs_rejects_a_non_module():
    with pytest.raises(TypeError, match="model"), capture_outputs("model"):
        pass


# ---- dead_unit_fraction ---------------------------------------------------------------------


def _killed_mlp():
    """A 3-layer ReLU network whose first hidden layer has units 0 and 1 dead on x >= 0."""
    model = deep_mlp(3, 4, "relu", in_features=6)
    with torch.no_grad():
        model.linear1.weight[:2] = -1.0
        model.linear1.bias[:2] = -0.5
        model.linear1.weight[2:] = 1.0
        model.linear1.bias[2:] = 0.5
    return model


def test_dead_unit_fraction_counts_units_never_positive_and_leaves_the_model_alone():
    model = _killed_mlp().train()
    x = torch.rand(50, 6)
    fractions = dead_unit_fraction(model, x, batch_size=7)
    assert fractions["act1"] == 0.5
    assert 0.0 <= fractions["act2"] <= 1.0
    assert model.training and _hook_count(model) == 0
    assert dead_unit_fraction(model.eval(), x)["act1"] == 0.5
    assert not model.training


def test_dead_unit_fraction_treats_a_convolution_channel_as_a_unit():
    model = deep_cnn(1, 4)
    with torch.no_grad():
        model.conv1.weight.zero_()
        model.conv1.bias.copy_(torch.tensor([-1.0, 1.0, -2.0, 3.0]))
    fractions = dead_unit_fraction(model, torch.rand(3, 1, 5, 5))
    assert fractions == {"act1": 0.5}


def test_dead_unit_fraction_accepts_other_layer_types():
    model = deep_mlp(3, 4, "sigmoid", in_features=6)
    fractions = dead_unit_fraction(model, torch.rand(10, 6), layer_types=nn.Sigmoid)
    assert fractions == {"act1": 0.0, "act2": 0.0}


def test_dead_unit_fraction_restores_the_mode_after_an_error():
    model = _killed_mlp().train()
    with pytest.raises(RuntimeError):
        dead_unit_fraction(model, torch.rand(4, 9))
    assert model.training and _hook_count(model) == 0


def test_dead_unit_fraction_rejects_bad_arguments():
    model = _killed_mlp()
    with pytest.raises(ValueError, match="no layer of layer_types"):
        dead_unit_fraction(deep_mlp(2, 3, "tanh", in_features=6), torch.rand(4, 6))
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        dead_unit_fraction(model, [[0.0] * 6])
    with pytest.raises(ValueError, match="x must hold at least one example"):
        dead_unit_fraction(model, torch.zeros(0, 6))
    with pytest.raises(ValueError, match="batch_size"):
        dead_unit_fraction(model, torch.rand(4, 6), batch_size=0)
    with pytest.raises(TypeError, match="model"):
        dead_unit_fraction(None, torch.rand(4, 6))


# ---- time_function --------------------------------------------------------------------------


def test_time_function_returns_the_best_time_per_call():
    calls = []
    seconds = time_function(calls.append, 1, repeats=3, number=4)
    assert len(calls) == 12 and 0 <= seconds < 0.1


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"f": 3}, TypeError, "f must be callable"),
        ({"repeats": 0}, ValueError, "repeats"),
        ({"number": 1.5}, ValueError, "number"),
    ],
)
def test_time_function_rejects_bad_arguments(kwargs, error, name):
    args = {"f": len, **kwargs}
    f = args.pop("f")
    with pytest.raises(error, match=name):
        time_function(f, [1], **args)


# ---- plot_curves ----------------------------------------------------------------------------


def test_plot_curves_draws_one_line_per_label():
    fig = plot_curves({"a": [1.0, 0.1, 0.01], "b": [1, 2]}, "layer", "norm", log=True, title="t")
    ax = fig.axes[0]
    assert isinstance(fig, Figure)
    assert [line.get_label() for line in ax.get_lines()] == ["a", "b"]
    assert list(ax.get_lines()[1].get_xdata()) == [1, 2]
    assert ax.get_yscale() == "log" and ax.get_title() == "t" and ax.get_xlabel() == "layer"
    assert all(float(tick).is_integer() for tick in ax.get_xticks())
    assert plot_curves({"a": [1, 2]}, "x", "y").axes[0].get_yscale() == "linear"
    plt.close("all")


@pytest.mark.parametrize("bad", [{}, [[1, 2]], {"a": []}, {"a": [[1, 2]]}])
def test_plot_curves_rejects_bad_curves(bad):
    figures = plt.get_fignums()
    with pytest.raises(ValueError, match="curves"):
        plot_curves(bad, "x", "y")
    assert plt.get_fignums() == figures  # no half-drawn figure left open


def test_module_lists_its_public_names():
    assert set(diagnostics.__all__) == {
        "capture_outputs",
        "dead_unit_fraction",
        "gradient_norms",
        "plot_curves",
        "time_function",
    }
