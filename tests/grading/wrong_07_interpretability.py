"""Wrong solutions to exercise 7 (interpretability): the reference solution with one mistake.

``WRONG = {name: (question, first words of the solution cell, old text, new text)}``, as in
``grading.submissions.WRONG``. Each must cost exactly its question's points; several pass the
public tests and are caught only by the hidden ones (strides that do not tile the image, a flat
map whose peak is a tie, maps that keep their size).
"""

WRONG = {
    # The ReLU forgotten: negative evidence stays in the map.
    "q1_no_relu": ("q1", "def grad_cam", "return np.maximum(heat, 0.0)", "return heat"),
    # Channels weighted by their mean activation instead of their mean gradient.
    "q1_weights_from_activations": (
        "q1",
        "def grad_cam",
        "alpha = gradients.mean(axis=(1, 2))",
        "alpha = activations.mean(axis=(1, 2))",
    ),
    # Summed gradients instead of their mean: the map is h * w times too large.
    "q1_summed_gradients": (
        "q1",
        "def grad_cam",
        "alpha = gradients.mean(axis=(1, 2))",
        "alpha = gradients.sum(axis=(1, 2))",
    ),
    # A ReLU copied over from Grad-CAM: CAM keeps its negative values.
    "q2_relu_added": (
        "q2",
        "def class_activation_map",
        'return np.einsum("k,khw->hw", weights[c], features)',
        'return np.maximum(np.einsum("k,khw->hw", weights[c], features), 0)',
    ),
    # The channels averaged instead of summed.
    "q2_mean_over_channels": (
        "q2",
        "def class_activation_map",
        'return np.einsum("k,khw->hw", weights[c], features)',
        'return np.einsum("k,khw->hw", weights[c], features) / len(features)',
    ),
    # Drops summed over the covering patches instead of averaged.
    "q3_sum_not_mean": ("q3", "def occlusion_map", "return total / count", "return total"),
    # Patches only where they fit entirely: with a stride that does not tile the image, the last
    # rows and columns are never covered (0 / 0).
    "q3_patches_stop_early": (
        "q3",
        "def occlusion_map",
        "last_top = stride * int(np.ceil((height - window) / stride))",
        "last_top = height - window",
    ),
    # The rise of the score instead of its drop.
    "q3_sign_flipped": (
        "q3",
        "def occlusion_map",
        "+= base - score(occluded, template)",
        "+= score(occluded, template) - base",
    ),
    # Corners aligned (align_corners=True) instead of pixel centres.
    "q4_corners_aligned": (
        "q4",
        "def upsample_bilinear",
        "x = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)",
        "x = np.arange(n_out) * (n_in - 1) / max(n_out - 1, 1)",
    ),
    # Nearest neighbour instead of bilinear interpolation.
    "q4_nearest": (
        "q4",
        "def upsample_bilinear",
        "return lo, np.minimum(lo + 1, n_in - 1), x - lo",
        "return lo, lo, 0 * x",
    ),
    # Rows and columns swapped when turning the flat index into a position.
    "q5_rows_and_columns_swapped": (
        "q5",
        "def pointing_game",
        "rows, cols = np.divmod(heats.reshape(n, -1).argmax(axis=1), width)",
        "cols, rows = np.divmod(heats.reshape(n, -1).argmax(axis=1), width)",
    ),
    # The bottom and right edges counted as inside the box.
    "q5_box_end_included": (
        "q5",
        "def pointing_game",
        "(rows < bottom) & (left <= cols) & (cols < right)",
        "(rows <= bottom) & (left <= cols) & (cols <= right)",
    ),
    # The ReLU's gate forgotten: the gradient of a linear network.
    "q6_relu_gate_forgotten": (
        "q6",
        "def saliency",
        "upstream = w2[c] * (w1 @ x > 0)",
        "upstream = w2[c]",
    ),
    "q6_no_absolute_value": (
        "q6",
        "def saliency",
        "return np.abs(w1.T @ upstream)",
        "return w1.T @ upstream",
    ),
}
