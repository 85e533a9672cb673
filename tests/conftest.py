"""Shared fixtures. Tests build their own small data; real recordings come from ../shared."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

REAL_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real"


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    if not REAL_DATA.is_dir():
        pytest.skip(f"real recordings not found at {REAL_DATA} (CI has them beside the clone)")
    return REAL_DATA


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """One intra-op thread for every test: small tensors run faster on one, and the Bi-GRU's
    many tiny ops slow down ~50× when a second OpenMP thread waits on a busy core."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
