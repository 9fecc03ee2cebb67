"""Wrong solutions of exercise 05_architectures, for tests/test_exercise_sets.py.

Each is the reference solution of ``exercises/source/05_architectures.ipynb`` with one realistic
mistake, and must lose exactly the question named first: ``WRONG = {name: (question, first words
of the solution cell, old text, new text)}``, the format of ``WRONG`` in submissions.py. Several
pass the public tests and are caught only by the hidden ones (grouped convolutions, strides
in a receptive field, a plain block without its last ReLU).
"""

from __future__ import annotations

WRONG = {
    "q1_bias_forgotten": ("q1", "def conv_parameters", " + (c_out if bias else 0)", ""),
    # Every output map sees all the input maps, as if groups were always 1.
    "q1_groups_ignored": ("q1", "def conv_parameters", "(c_in // groups)", "c_in"),
    # Padding added on one side only.
    "q2_padding_on_one_side": ("q2", "def output_shape", "+ 2 * p - k", "+ p - k"),
    # A convolution that keeps the number of maps of its input.
    "q2_channels_not_updated": (
        "q2",
        "def output_shape",
        "_, c, k, s, p = layer",
        "_, _, k, s, p = layer",
    ),
    # One MAC per input pixel instead of per output pixel: wrong as soon as the stride is 2.
    "q3_input_size_not_output_size": (
        "q3",
        "def conv_macs",
        "return c_out * out_h * out_w * c_in * k * k",
        "return c_out * h * w * c_in * k * k",
    ),
    "q3_bias_counted_as_a_mac": ("q3", "def conv_macs", "* c_in * k * k", "* (c_in * k * k + 1)"),
    # Every layer widens the field by k - 1 input pixels, whatever the strides below it.
    "q4_strides_ignored": ("q4", "def receptive_field", "        jump *= s\n", ""),
    # A layer's own stride counted in its widening: the jump updated one layer too early.
    "q4_own_stride_counted": (
        "q4",
        "def receptive_field",
        "field += (k - 1) * jump\n        jump *= s",
        "jump *= s\n        field += (k - 1) * jump",
    ),
    # The ReLU applied to the branch before the addition, not to the sum.
    "q5_relu_before_the_addition": (
        "q5",
        "def residual_block",
        "return np.maximum(branch + x, 0)",
        "return np.maximum(branch, 0) + x",
    ),
    "q5_no_relu_after_the_addition": (
        "q5",
        "def residual_block",
        "return np.maximum(branch + x, 0)",
        "return branch + x",
    ),
    "q5_plain_block_without_last_relu": (
        "q5",
        "def residual_block",
        "return np.maximum(conv3x3(hidden_maps, w2), 0)",
        "return conv3x3(hidden_maps, w2)",
    ),
    "q6_dense_biases_forgotten": (
        "q6",
        "def vgg_parameters",
        "total += n_out * (n_in + 1)",
        "total += n_out * n_in",
    ),
    # The first dense layer sized for 1 x 1 maps, whatever the pooling's output size.
    "q6_pool_size_ignored": (
        "q6",
        "def vgg_parameters",
        "sizes = [c * pool_size * pool_size,",
        "sizes = [c,",
    ),
    "q6_conv_biases_forgotten": (
        "q6",
        "def vgg_parameters",
        "total += item * (c * 3 * 3 + 1)",
        "total += item * c * 3 * 3",
    ),
}
