"""Scoped torch thread count for the frame path."""

from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def torch_threads(n: int = 1):
    """Run a block with ``n`` torch threads, then restore the previous count.

    A forward pass over a dozen 28x28 crops is microseconds of work per thread:
    thread start-up and, on a busy machine, waiting for a second core cost more
    than they give (measured: classify p99 several times lower with one thread).
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
