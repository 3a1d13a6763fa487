"""Shared test setup: the repository root is importable, so tests can `import tools.*`."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


@pytest.fixture
def fixture_notebook() -> Path:
    """A tiny solution notebook that follows the lesson conventions (tests/fixtures/)."""
    return ROOT / "tests" / "fixtures" / "00_fixture.ipynb"


@pytest.fixture
def one_thread():
    """One torch thread: tiny models only pay thread overhead on a shared 2-core CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
