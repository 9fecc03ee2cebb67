"""Draw the course logo (book/logo.png): a 3x3 kernel sliding over a feature map.

Run `python book/logo.py` to redraw it; the site uses it as logo and favicon.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402


def draw_logo(path: Path) -> None:
    grid = np.add.outer(np.arange(6), np.arange(6)) % 4 / 3.0
    fig, ax = plt.subplots(figsize=(2, 2), dpi=64)
    ax.imshow(grid, cmap="Blues", vmin=-0.5, vmax=1.5)
    ax.add_patch(Rectangle((0.5, 0.5), 3, 3, fill=False, edgecolor="#d62728", linewidth=4))
    ax.set_axis_off()
    fig.savefig(path, transparent=True, bbox_inches="tight", pad_inches=0.02)
    plt.close(fig)


if __name__ == "__main__":
    draw_logo(Path(__file__).with_name("logo.png"))
