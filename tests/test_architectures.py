"""coursepkg.models.{lenet, alexnet, vgg, resnet}: the published architectures.

Full-size networks are built on the meta device, where construction and a forward pass compute
shapes only; the published parameter counts are the exact counts of the reference
implementations. Small versions run real forward passes.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from coursepkg.models import alexnet, lenet, resnet, seeded, vgg
from coursepkg.models.complexity import count_parameters
from coursepkg.models.resnet import BasicBlock, Bottleneck, PlainBlock, ResidualBlock

FULL_SIZE = {  # factory: (exact parameters for 1000 classes, input)
    alexnet.alexnet: (61_100_840, (3, 224, 224)),
    vgg.vgg11: (132_863_336, (3, 224, 224)),
    vgg.vgg13: (133_047_848, (3, 224, 224)),
    vgg.vgg16: (138_357_544, (3, 224, 224)),
    vgg.vgg19: (143_667_240, (3, 224, 224)),
    resnet.resnet18: (11_689_512, (3, 224, 224)),
    resnet.resnet34: (21_797_672, (3, 224, 224)),
    resnet.resnet50: (25_557_032, (3, 224, 224)),
}


def on_meta(factory, *args, **kwargs) -> nn.Module:
    with torch.device("meta"):
        return factory(*args, **kwargs)


@pytest.mark.parametrize("factory", FULL_SIZE, ids=lambda f: f.__name__)
def test_published_parameter_counts_and_output_shape(factory):
    count, size = FULL_SIZE[factory]
    model = on_meta(factory)
    assert count_parameters(model) == count
    assert model(torch.zeros(2, *size, device="meta")).shape == (2, 1000)


def test_lenet5_counts_61706_and_the_papers_60000_differs_only_where_documented():
    model = lenet.lenet5()
    assert count_parameters(model) == 61_706
    own = {name: sum(p.numel() for p in m.parameters()) for name, m in model.named_modules()}
    assert [own[f"features.{n}"] for n in ("c1", "c3", "c5")] == [156, 2416, 48120]
    assert [own[f"classifier.{n}"] for n in ("f6", "out")] == [10164, 850]
    # partial C3 table: 6 maps see 3 of S2's maps, 9 see 4, 1 sees all 6
    c3_table = (6 * 3 + 9 * 4 + 1 * 6) * 25 + 16
    trainable_subsampling = 2 * 6 + 2 * 16
    paper = 61_706 - 2416 + c3_table + trainable_subsampling - 850
    assert c3_table == 1516 and paper == 60_000


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("pool", ["avg", "max"])
def test_lenet5_shapes(activation, pool):
    model = lenet.LeNet5(activation=activation, pool=pool)
    x = torch.zeros(3, 1, 32, 32)
    assert model.features(x).shape == (3, 120, 1, 1)
    assert model(x).shape == (3, 10)
    assert isinstance(model.features.act1, lenet.ACTIVATIONS[activation])
    kind = nn.AvgPool2d if pool == "avg" else nn.MaxPool2d
    assert isinstance(model.features.s2, kind)


def test_lenet5_larger_images_and_channels():
    model = lenet.LeNet5(num_classes=4, in_channels=3, image_size=(40, 36))
    assert model(torch.zeros(2, 3, 40, 36)).shape == (2, 4)
    # C5 maps are 3 x 2 for 40 x 36 inputs: F6 sees all of them
    assert model.classifier.f6.in_features == 120 * 3 * 2


def test_alexnet_two_tower_is_the_2012_paper():
    model = on_meta(alexnet.alexnet, variant="two_tower")
    assert count_parameters(model) == 60_965_224
    groups = [m.groups for m in model.features if isinstance(m, nn.Conv2d)]
    assert groups == [1, 2, 1, 2, 2]
    assert sum(isinstance(m, nn.LocalResponseNorm) for m in model.features) == 2
    out = model.features(torch.zeros(1, 3, 224, 224, device="meta"))
    assert out.shape == (1, 256, 6, 6)


def test_small_alexnet_runs_and_drops_out_only_in_training():
    model = alexnet.AlexNet(num_classes=10, in_channels=1, width=1 / 8, hidden=32)
    assert [m.out_channels for m in model.features if isinstance(m, nn.Conv2d)] == [
        8,
        24,
        48,
        32,
        32,
    ]
    x = torch.rand(2, 1, 64, 64)
    model.eval()
    assert torch.equal(model(x), model(x))
    assert model(x).shape == (2, 10)


def test_grouped_widths_stay_divisible():
    model = alexnet.AlexNet(variant="two_tower", width=0.1, hidden=8)
    widths = [m.out_channels for m in model.features if isinstance(m, nn.Conv2d)]
    assert widths == [10, 26, 38, 38, 26]
    assert all(w % 2 == 0 for w in widths[1:])


def test_vgg16_layer_names_and_widths():
    model = on_meta(vgg.vgg16)
    convs = [name for name, m in model.features.named_children() if isinstance(m, nn.Conv2d)]
    assert convs[:3] == ["conv1_1", "conv1_2", "conv2_1"] and convs[-1] == "conv5_3"
    assert len(convs) == 13
    assert all(
        m.kernel_size == (3, 3) and m.padding == (1, 1)
        for m in model.modules()
        if isinstance(m, nn.Conv2d)
    )
    assert model.features(torch.zeros(1, 3, 224, 224, device="meta")).shape == (1, 512, 7, 7)


@pytest.mark.parametrize(("depth", "convs"), [(11, 8), (13, 10), (16, 13), (19, 16)])
def test_vgg_depth_counts_weight_layers(depth, convs):
    model = on_meta(vgg.VGG, depth)
    n_conv = sum(isinstance(m, nn.Conv2d) for m in model.modules())
    n_linear = sum(isinstance(m, nn.Linear) for m in model.modules())
    assert (n_conv, n_linear) == (convs, 3) and n_conv + n_linear == depth


def test_mini_vgg_with_batch_norm_on_digits():
    model = vgg.VGG([8, "M", 16, "M"], 10, 1, batch_norm=True, pool_size=1, hidden=16)
    assert isinstance(model.features.bn1_1, nn.BatchNorm2d)
    assert model(torch.rand(4, 1, 8, 8)).shape == (4, 10)
    assert model.classifier.fc6.in_features == 16
    assert torch.all(model.features.conv1_1.bias == 0)


def test_seed_fixes_weights_and_leaves_the_global_generator_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    a = resnet.small_resnet(8, seed=1)
    b = resnet.small_resnet(8, seed=1)
    c = resnet.small_resnet(8, seed=2)
    assert torch.equal(torch.rand(3), expected)
    assert torch.equal(a.conv1.weight, b.conv1.weight)
    assert not torch.equal(a.conv1.weight, c.conv1.weight)
    d = lenet.lenet5(seed=None)
    assert d.features.c1.weight.shape == (6, 1, 5, 5)


def test_seeded_rejects_a_bad_seed():
    with pytest.raises(ValueError, match="seed"), seeded(-1):
        pass


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize(("c_in", "width"), [(8, 8), (8, 16)])
def test_residual_block_is_shortcut_plus_branch(stride, c_in, width):
    block = ResidualBlock(c_in, width, stride).eval()
    x = torch.randn(2, c_in, 8, 8)
    expected = torch.relu(block.branch(x) + block.shortcut(x))
    assert torch.allclose(block(x), expected)
    assert block(x).shape == (2, width, 8 // stride, 8 // stride)
    if stride == 1 and c_in == width:
        assert isinstance(block.shortcut, nn.Identity)
        assert torch.allclose(block(x), torch.relu(block.branch(x) + x))
    else:
        assert block.shortcut.conv.kernel_size == (1, 1)


def test_plain_block_is_the_residual_block_without_the_skip():
    torch.manual_seed(0)
    plain = PlainBlock(8, 8)
    torch.manual_seed(0)
    residual = BasicBlock(8, 8)
    assert residual.residual and not plain.residual and not hasattr(plain, "shortcut")
    assert count_parameters(plain) == count_parameters(residual)
    x = torch.randn(2, 8, 6, 6)
    plain.eval(), residual.eval()
    assert torch.allclose(plain(x), torch.relu(plain.branch(x)))
    assert torch.allclose(residual(x), torch.relu(plain.branch(x) + x))


def test_zero_init_residual_makes_every_block_start_as_identity():
    model = resnet.resnet18(zero_init_residual=True).eval()
    block = model.layer1[0]
    x = torch.rand(1, 64, 8, 8)  # non-negative, like the ReLU outputs a block receives
    assert torch.allclose(block(x), x)
    bottleneck = resnet.ResNet(Bottleneck, [1], width=4, zero_init_residual=True)
    assert torch.all(bottleneck.layer1[0].bn3.weight == 0)


@pytest.mark.parametrize("stride_in_1x1", [False, True])
def test_bottleneck_strides_in_one_place(stride_in_1x1):
    block = Bottleneck(16, 8, stride=2, stride_in_1x1=stride_in_1x1).eval()
    assert (block.conv1.stride[0], block.conv2.stride[0]) == ((2, 1) if stride_in_1x1 else (1, 2))
    x = torch.randn(2, 16, 8, 8)
    assert block(x).shape == (2, 32, 4, 4)
    assert torch.allclose(block(x), torch.relu(block.branch(x) + block.shortcut(x)))
    plain = Bottleneck(16, 8, residual=False).eval()
    assert torch.allclose(plain(x), torch.relu(plain.branch(x)))


@pytest.mark.parametrize("depth", [8, 20])
@pytest.mark.parametrize("residual", [True, False])
def test_small_resnet_depth_and_shapes(depth, residual):
    model = resnet.small_resnet(depth, residual=residual)
    n_weight = sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in model.modules())
    shortcuts = 2 if residual else 0  # projection shortcuts of stages 2 and 3 are not counted
    assert n_weight == depth + shortcuts
    assert model(torch.rand(3, 1, 8, 8)).shape == (3, 10)
    assert model.layer3[0].conv1.out_channels == 64
    assert isinstance(model.maxpool, nn.Identity)


def test_resnet_stages_halve_the_maps():
    model = on_meta(resnet.resnet18)
    x = torch.zeros(1, 3, 224, 224, device="meta")
    x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    sizes = []
    for k in range(1, 5):
        x = getattr(model, f"layer{k}")(x)
        sizes.append(tuple(x.shape[1:]))
    assert sizes == [(64, 56, 56), (128, 28, 28), (256, 14, 14), (512, 7, 7)]


BAD_ARGUMENTS = [
    (lambda: lenet.LeNet5(num_classes=0), ValueError, "num_classes"),
    (lambda: lenet.LeNet5(image_size=28), ValueError, "image_size"),
    (lambda: lenet.LeNet5(activation="gelu"), ValueError, "activation"),
    (lambda: lenet.LeNet5(pool="blur"), ValueError, "pool"),
    (lambda: lenet.LeNet5(seed=-1), ValueError, "seed"),
    (lambda: alexnet.AlexNet(variant="three"), ValueError, "variant"),
    (lambda: alexnet.AlexNet(width=0), ValueError, "width"),
    (lambda: alexnet.AlexNet(width=True), ValueError, "width"),
    (lambda: alexnet.AlexNet(dropout=1.0), ValueError, "dropout"),
    (lambda: alexnet.AlexNet(hidden=2.5), ValueError, "hidden"),
    (lambda: alexnet.AlexNet(in_channels=0), ValueError, "in_channels"),
    (lambda: vgg.VGG(15), ValueError, "config"),
    (lambda: vgg.VGG(["M", 8]), ValueError, "config"),
    (lambda: vgg.VGG([8, 0]), ValueError, "config"),
    (lambda: vgg.VGG("16"), ValueError, "config"),
    (lambda: vgg.VGG([]), ValueError, "config"),
    (lambda: vgg.VGG([8], batch_norm=1), TypeError, "batch_norm"),
    (lambda: vgg.VGG([8], pool_size=0), ValueError, "pool_size"),
    (lambda: vgg.VGG([8], dropout=-0.1), ValueError, "dropout"),
    (lambda: resnet.ResNet(nn.Conv2d, [1]), TypeError, "block"),
    (lambda: resnet.ResNet(BasicBlock, []), ValueError, "layers"),
    (lambda: resnet.ResNet(BasicBlock, [2, 0]), ValueError, "layers"),
    (lambda: resnet.ResNet(BasicBlock, [1], stem="cifar"), ValueError, "stem"),
    (lambda: resnet.ResNet(BasicBlock, [1], width=0), ValueError, "width"),
    (lambda: resnet.resnet18(stride_in_1x1=True), ValueError, "stride_in_1x1"),
    (lambda: Bottleneck(8, 8, stride_in_1x1=1), TypeError, "stride_in_1x1"),
    (lambda: BasicBlock(8, 8, stride=3), ValueError, "stride"),
    (lambda: BasicBlock(8, 8, residual=None), TypeError, "residual"),
    (lambda: BasicBlock(0, 8), ValueError, "in_channels"),
    (lambda: resnet.small_resnet(21), ValueError, "depth"),
    (lambda: resnet.small_resnet(2), ValueError, "depth"),
]


@pytest.mark.parametrize(("make", "error", "name"), BAD_ARGUMENTS)
def test_bad_arguments_name_themselves(make, error, name):
    with pytest.raises(error, match=name):
        make()
