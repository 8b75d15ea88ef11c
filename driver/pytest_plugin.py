"""The ``possim_terminal`` pytest fixture: the port of a fresh simulated terminal (automatic
cardholder with the default card, journal in memory).

    def test_checkout_pays(possim_terminal):
        with Terminal(possim_terminal) as terminal:
            assert terminal.sale("12.34", "EUR").approved
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .testing import simulated_terminal


@pytest.fixture
def possim_terminal() -> Iterator[str]:
    with simulated_terminal() as port:
        yield port
