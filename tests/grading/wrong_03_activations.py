"""Wrong solutions to exercise 3 (activations): the reference solution with one realistic mistake.

``WRONG = {name: (question, first words of the solution cell, old text, new text)}``, as in
``grading.submissions.WRONG``. Each must cost exactly its question's points; several pass the
public tests and are caught only by the hidden ones (a slope above 1, inputs of +-1000, exact
zeros, an upstream gradient other than ones).
"""

WRONG = {
    # Slope 1 at x = 0, where PyTorch uses 0.
    "q1_slope_one_at_zero": ("q1", "def relu", "(x > 0)", "(x >= 0)"),
    # The derivative itself, not multiplied by grad_out (right only when grad_out is all ones).
    "q1_grad_out_ignored": ("q1", "def relu", "grad_out * (x > 0)", "1.0 * (x > 0)"),
    # max(x, a x) equals leaky ReLU only for slopes up to 1.
    "q2_maximum_shortcut": (
        "q2",
        "def leaky_relu",
        "np.where(x > 0, x, negative_slope * x)",
        "np.maximum(x, negative_slope * x)",
    ),
    "q2_grad_out_ignored": (
        "q2",
        "def leaky_relu",
        "grad_out * np.where(x > 0, 1.0, negative_slope)",
        "np.where(x > 0, 1.0, negative_slope)",
    ),
    # The textbook form: inf / inf = nan at x = 1000.
    "q3_textbook_sigmoid": (
        "q3",
        "def sigmoid",
        "e = np.exp(-np.abs(x))  # never above 1\n"
        "    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))",
        "return np.exp(x) / (1 + np.exp(x))",
    ),
    # The output taken for the input: sigmoid applied a second time.
    "q3_sigmoid_slope_from_x": (
        "q3",
        "def sigmoid",
        "grad_out * out * (1 - out)",
        "grad_out * sigmoid(out) * (1 - sigmoid(out))",
    ),
    "q3_tanh_slope_not_squared": ("q3", "def sigmoid", "(1 - out**2)", "(1 - out)"),
    # No maximum subtracted: exp(1000) overflows.
    "q4_maximum_not_subtracted": (
        "q4",
        "def softmax",
        "np.exp(x - np.max(x, axis=axis, keepdims=True))",
        "np.exp(x)",
    ),
    # The maximum of the whole array: a slice far below it underflows to 0 / 0.
    "q4_global_maximum": (
        "q4",
        "def softmax",
        "np.max(x, axis=axis, keepdims=True)",
        "np.max(x)",
    ),
    "q4_axis_ignored": (
        "q4",
        "def softmax",
        "np.sum(e, axis=axis, keepdims=True)",
        "np.sum(e, axis=-1, keepdims=True)",
    ),
    # log(softmax): log(0) = -inf where a probability underflows.
    "q5_log_of_softmax": (
        "q5",
        "def log_softmax",
        "return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))",
        "return np.log(np.exp(shifted) / np.sum(np.exp(shifted), axis=-1, keepdims=True))",
    ),
    "q5_sum_not_mean": ("q5", "def log_softmax", "-np.mean(", "-np.sum("),
    # Every row's entries at every label (N x N), instead of each row's own label.
    "q5_labels_as_columns": (
        "q5",
        "def log_softmax",
        "log_p[np.arange(len(labels)), labels]",
        "log_p[:, labels]",
    ),
    # A pre-activation of exactly 0 is taken for a firing unit.
    "q6_strictly_negative": ("q6", "def dead_units", "pre <= 0", "pre < 0"),
    "q6_any_input": ("q6", "def dead_units", "np.all(", "np.any("),
    "q6_bias_forgotten": ("q6", "def dead_units", "x @ weight.T + bias", "x @ weight.T"),
    "q7_product_reversed": ("q7", "def collapsed_weight", "w @ total  #", "total @ w  #"),
    # The biases added up, as if each layer did not transform the biases before it.
    "q7_biases_summed": ("q7", "def collapsed_weight", "w @ total + b", "total + b"),
}
