"""Banks of broken exercise implementations (one module per lesson), and the assertions that a
checker rejects each of them with the right message.

A checker that cannot fail is a defect: every checker test feeds it these broken versions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ganlib.checks import CheckFailed


def fails_with(
    checker: Callable[..., Any], *args: Any, fragments: tuple[str, ...] | list[str], **kwargs: Any
) -> str:
    """Assert that ``checker(*args, **kwargs)`` raises CheckFailed whose text holds every fragment."""
    with pytest.raises(CheckFailed) as info:
        checker(*args, **kwargs)
    text = str(info.value)
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in:\n{text}"
    return text


def fails(checker: Callable[[Any], Any], candidate: Any, *fragments: str) -> str:
    """Assert that ``checker(candidate)`` fails with a message holding every fragment."""
    return fails_with(checker, candidate, fragments=fragments)
