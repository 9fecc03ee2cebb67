"""coursepkg: the companion package of "Understanding Convolutional Neural Networks".

One module per concept; the chapters import them by name, for example
``from coursepkg import conv``. Arrays follow PyTorch's ``(N, C, H, W)`` layout.
"""

__version__ = "0.1.0"
