"""PyTorch models the chapters train, one module per architecture; nothing is downloaded."""
