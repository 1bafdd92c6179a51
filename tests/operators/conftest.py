"""Shared fixtures of the operator tests."""

import pytest
import torch


@pytest.fixture
def one_thread():
    """Run a test on one torch thread: small tensors gain nothing from more, and a shared 2-core
    machine loses a lot to oversubscription. The previous setting is restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
