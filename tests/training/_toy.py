"""Small models and datasets shared by the training tests (fast, CPU)."""

from __future__ import annotations

import pytest
import torch


class PairDataset(torch.utils.data.Dataset):
    """``n`` samples ``{"x": (1, s, s), "y": (1, s, s)}``; y is a fixed smoothing of x."""

    def __init__(self, n: int = 16, size: int = 8, *, seed: int = 0, in_channels: int = 1) -> None:
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, in_channels, size, size, generator=g)
        kernel = torch.ones(1, in_channels, 3, 3) / (9.0 * in_channels)
        self.y = torch.nn.functional.conv2d(self.x, kernel, padding=1) + 0.5

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[i], "y": self.y[i]}


class TinyNet(torch.nn.Module):
    """Conv net with dropout (so resume must restore the RNG) and channel attributes."""

    def __init__(self, in_channels: int = 1, out_channels: int = 1, width: int = 6,
                 dropout: float = 0.2) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.lift = torch.nn.Conv2d(in_channels, width, 3, padding=1)
        self.drop = torch.nn.Dropout(dropout)
        self.proj = torch.nn.Conv2d(width, out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(self.drop(torch.tanh(self.lift(x))))


def params_of(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.fixture
def one_thread():
    """Run a test's tiny models on one thread: on a loaded shared machine, two spinning
    OpenMP threads per process can be many times slower than one."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)
