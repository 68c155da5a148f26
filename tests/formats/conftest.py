"""Fixtures of the format tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

#: Memory pools a test measured with; kept for the process's life, since Arrow buffers allocated from
#: a pool must never outlive it.
_MEASURING_POOLS: list[Any] = []


@pytest.fixture
def arrow_memory() -> Iterator[Callable[[], Any]]:
    """Call it to make a fresh Arrow memory pool the default until the test ends: its ``max_memory()``
    is the peak of what Arrow allocated from then on (pyarrow's own pool never forgets an earlier peak)."""
    pa = pytest.importorskip("pyarrow")
    previous = pa.default_memory_pool()
    pool = pa.proxy_memory_pool(previous)
    _MEASURING_POOLS.append(pool)
    yield lambda: pa.set_memory_pool(pool) or pool
    pa.set_memory_pool(previous)
