from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def unique() -> str:
    """A short suffix for topic, group, table and checkpoint names owned by one test."""
    return uuid.uuid4().hex[:10]
