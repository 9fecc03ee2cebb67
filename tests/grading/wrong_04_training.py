"""Wrong solutions of exercise 04_training, for tests/test_exercise_sets.py.

Each is the reference solution of ``exercises/source/04_training.ipynb`` with one realistic
mistake, and must lose exactly the question named first: ``WRONG = {name: (question, first words
of the solution cell, old text, new text)}``, the format of ``WRONG`` in submissions.py. The
Question 7 mistakes train a classifier that is measured, not compared: with them the reference
recipe gets 0.873 (one mini-batch per epoch) and 0.029 (learning rate 0) of the held-out digits
right, against 0.980 unchanged and the 0.90 the judge asks for.
"""

from __future__ import annotations

WRONG = {
    "q1_weight_gradient_transposed": (
        "q1",
        "def linear_grad_input",
        "return grad_out.T @ x",
        "return x.T @ grad_out",
    ),
    "q1_bias_summed_over_outputs": (
        "q1",
        "def linear_grad_input",
        "grad_out.sum(axis=0)",
        "grad_out.sum(axis=1)",
    ),
    "q2_sum_not_mean": ("q2", "def softmax_cross_entropy(", "labels].mean()", "labels].sum()"),
    "q2_max_not_subtracted": (
        "q2",
        "def softmax_cross_entropy(",
        "shifted = logits - logits.max(axis=1, keepdims=True)",
        "shifted = logits",
    ),
    "q3_mean_over_batch_forgotten": (
        "q3",
        "def softmax_cross_entropy_grad",
        "return probs / len(labels)",
        "return probs",
    ),
    "q3_overflow": (
        "q3",
        "def softmax_cross_entropy_grad",
        "probs = np.exp(shifted)",
        "probs = np.exp(logits)",
    ),
    "q4_forward_differences": (
        "q4",
        "def numerical_gradient",
        "(f(x + step) - f(x - step)) / (2 * eps)",
        "(f(x + step) - f(x)) / eps",
    ),
    "q4_step_not_doubled": ("q4", "def numerical_gradient", "/ (2 * eps)", "/ eps"),
    "q5_velocity_updated_after_the_step": (
        "q5",
        "def sgd_momentum",
        "velocity = momentum * velocity + g\n        param = param - lr * velocity",
        "param = param - lr * velocity\n        velocity = momentum * velocity + g",
    ),
    "q5_weight_decay_ignored": (
        "q5",
        "def sgd_momentum",
        "g = grad + weight_decay * param",
        "g = grad",
    ),
    "q5_dampened_gradient": (
        "q5",
        "def sgd_momentum",
        "momentum * velocity + g",
        "momentum * velocity + (1 - momentum) * g",
    ),
    "q6_kernel_flipped": (
        "q6",
        "def conv2d_weight_grad",
        "windows, grad_out)",
        "windows[..., ::-1, ::-1], grad_out)",
    ),
    "q6_filters_and_channels_swapped": (
        "q6",
        "def conv2d_weight_grad",
        '"nchwij,nfhw->fcij"',
        '"nchwij,nfhw->cfij"',
    ),
    "q6_divided_by_batch_size": (
        "q6",
        "def conv2d_weight_grad",
        "windows, grad_out)",
        "windows, grad_out) / len(x)",
    ),
    "q7_one_mini_batch_per_epoch": (
        "q7",
        "# Train your classifier here",
        "for start in range(0, len(pixels), batch_size):",
        "for start in range(0, batch_size, batch_size):",
    ),
    "q7_learning_rate_zero": (
        "q7",
        "# Train your classifier here",
        "learning_rate, momentum, batch_size, epochs = 0.1,",
        "learning_rate, momentum, batch_size, epochs = 0.0,",
    ),
}
