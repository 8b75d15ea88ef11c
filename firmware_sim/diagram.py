"""The state diagram, drawn by ``transitions`` (GraphMachine, graphviz) from the very table
the terminal runs (:data:`firmware_sim.states.TRANSITIONS`).

>>> "WAITING_FOR_CARD -> CARD_READ" in state_graph_source()
True
"""

from __future__ import annotations

from typing import Any

from .states import TRANSITIONS, TerminalState

__all__ = ["state_graph", "state_graph_source"]


class _Model:
    state: TerminalState


def state_graph(highlight: TerminalState = TerminalState.IDLE) -> Any:
    """A graphviz.Digraph of the machine, ``highlight`` drawn as the current state."""
    from transitions.extensions import GraphMachine

    model = _Model()
    GraphMachine(
        model=model,
        states=TerminalState,
        transitions=TRANSITIONS,
        initial=highlight,
        auto_transitions=False,
        graph_engine="graphviz",
        title="possim terminal",
    )
    return model.get_graph()  # type: ignore[attr-defined]


def state_graph_source(highlight: TerminalState = TerminalState.IDLE) -> str:
    """The DOT source (deterministic: the test compares it with docs/state-machine.dot)."""
    return str(state_graph(highlight).source)
