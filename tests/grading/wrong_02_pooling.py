"""Wrong solutions to exercise 2 (pooling): the reference solution with one realistic mistake.

``WRONG = {name: (question, first words of the solution cell, old text, new text)}``, as in
``grading.submissions.WRONG``. Each must cost exactly its question's points; several pass the
public tests and are caught only by the hidden ones (ceil_mode's exception, a window of negative
numbers, padding, overlapping windows, ties, a flat image).
"""

WRONG = {
    # The default stride of pooling is the window size, not 1 as for a convolution.
    "q1_default_stride_one": (
        "q1",
        "def pool_output_size",
        "s = k if stride is None else stride",
        "s = 1 if stride is None else stride",
    ),
    # ceil_mode's exception checked against the end of the padded axis instead of its start.
    "q1_exception_at_padded_end": (
        "q1",
        "def pool_output_size",
        "if (out - 1) * s >= n + padding:",
        "if (out - 1) * s >= n + 2 * padding:",
    ),
    # Zero padding: a border window of negative numbers then gets the maximum 0.
    "q2_zero_padding": (
        "q2",
        "def max_pool2d(",
        ", constant_values=-np.inf)",
        ")",
    ),
    "q2_stride_ignored": ("q2", "def max_pool2d(", "windows[:, :, ::s, ::s]", "windows"),
    "q3_divided_by_k": ("q3", "def avg_pool2d", ".mean(axis=(4, 5))", ".sum(axis=(4, 5)) / k"),
    "q3_padding_forgotten": (
        "q3",
        "def avg_pool2d",
        "np.pad(x, [(0, 0), (0, 0), (p, p), (p, p)])",
        "x",
    ),
    # Every pixel of the window gets the gradient, as if it were average pooling without 1/k^2.
    "q4_gradient_to_whole_window": (
        "q4",
        "def max_pool2d_backward",
        "grad_x[batch, channel, i * s + di, j * s + dj] += grad_out[:, :, i, j]",
        "grad_x[:, :, i * s : i * s + k, j * s : j * s + k] += grad_out[:, :, i, j, None, None]",
    ),
    # Assignment instead of addition: where windows overlap, the last one wins.
    "q4_overlaps_overwrite": (
        "q4",
        "def max_pool2d_backward",
        "] += grad_out[:, :, i, j]",
        "] = grad_out[:, :, i, j]",
    ),
    # On ties the last maximum wins (a hand-written scan with >=), not the first as in PyTorch.
    "q4_last_maximum_on_ties": (
        "q4",
        "def max_pool2d_backward",
        "window.argmax(axis=2)",
        "k * k - 1 - window[:, :, ::-1].argmax(axis=2)",
    ),
    "q5_unit_axes_dropped": (
        "q5",
        "def global_avg_pool2d",
        "x.mean(axis=(2, 3), keepdims=True)",
        "x.mean(axis=(2, 3))",
    ),
    "q5_gradient_not_divided": (
        "q5",
        "def global_avg_pool2d",
        "grad_out / (x.shape[2] * x.shape[3])",
        "grad_out",
    ),
    # A circular shift (np.roll) instead of filling the uncovered columns with black.
    "q6_circular_shift": (
        "q6",
        "def fraction_unchanged",
        "shifted = np.zeros(image.shape)\n"
        "    shifted[:, shift:] = image[:, : image.shape[1] - shift]",
        "shifted = np.roll(image, shift, axis=1)",
    ),
    "q6_shifted_left": (
        "q6",
        "def fraction_unchanged",
        "shifted[:, shift:] = image[:, : image.shape[1] - shift]",
        "shifted[:, : image.shape[1] - shift] = image[:, shift:]",
    ),
}
