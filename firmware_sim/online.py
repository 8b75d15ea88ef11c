"""How the terminal reaches its authorizer: the built-in one (the embedded default) or an ISO
8583 acquirer host (``--acquirer tcp://HOST:PORT``), with the runner's wrappers for network
latency and for the trace."""

from __future__ import annotations

import time
from collections.abc import Callable

from keys import KeyStore
from protocols.acquirer.codec import redact
from protocols.currency import format_money
from protocols.messages import KindTotals

from .acquirer import AcquirerClient, Identity
from .authorizer import (
    AuthorizationRequest,
    AuthorizationResponse,
    Authorizer,
    BuiltInAuthorizer,
    Reconciler,
)

__all__ = ["TracingAuthorizer", "DelayedAuthorizer", "Online", "connect"]


class TracingAuthorizer:
    """Records each authorization in the trace."""

    def __init__(self, inner: Authorizer, record: Callable[..., None]) -> None:
        self._inner = inner
        self._record = record

    def authorize(self, request: AuthorizationRequest) -> AuthorizationResponse:
        response = self._inner.authorize(request)
        self._record(
            "authorization",
            "out",
            "",
            response=f"{response.response_code} {response.auth_code}".strip(),
            note=f"{request.kind.name} {format_money(request.amount, request.currency)}"
            f" ref {request.reference}",
        )
        return response

    def reverse(self, reference: str) -> bool:
        done = self._inner.reverse(reference)
        self._record(
            "authorization",
            "out",
            "",
            response="reversed" if done else "nothing",
            note=f"REVERSAL ref {reference}",
        )
        return done

    def reconcile(self, batch: int, lines: tuple[KindTotals, ...]) -> dict[str, str]:
        if not isinstance(self._inner, Reconciler):
            return {}
        results = self._inner.reconcile(batch, lines)
        note = "; ".join(f"{c} {r}" for c, r in results.items())
        self._record(
            "authorization", "out", "", response=note, note=f"RECONCILIATION batch {batch}"
        )
        return results


class DelayedAuthorizer:
    """Network latency to the host: the answer comes back ``seconds`` after the decision."""

    def __init__(self, inner: Authorizer, seconds: float) -> None:
        self._inner = inner
        self._seconds = seconds

    def authorize(self, request: AuthorizationRequest) -> AuthorizationResponse:
        response = self._inner.authorize(request)
        time.sleep(self._seconds)
        return response

    def reverse(self, reference: str) -> bool:
        return self._inner.reverse(reference)

    def reconcile(self, batch: int, lines: tuple[KindTotals, ...]) -> dict[str, str]:
        return self._inner.reconcile(batch, lines) if isinstance(self._inner, Reconciler) else {}


class Online:
    """The authorizer the core asks (``chain``) and what is behind it."""

    def __init__(
        self,
        chain: Authorizer,
        behind: BuiltInAuthorizer | AcquirerClient,
        *,
        answers_at_once: bool = False,
    ) -> None:
        self.chain = chain
        self.behind = behind
        # the built-in authorizer with no latency added: asking it is part of the terminal's
        # own work, with nothing for a display to show while it runs
        self.answers_at_once = answers_at_once

    def counters(self) -> dict[str, int]:
        if isinstance(self.behind, AcquirerClient):
            counts = {f"acquirer_{k}": v for k, v in vars(self.behind.counters).items()}
            counts["acquirer_waiting"] = len(self.behind.outbox.waiting())  # not yet delivered
            return counts
        return {}

    def close(self) -> None:
        self.behind.close()


def connect(
    store: KeyStore,
    journal: str,
    acquirer: str | None,
    identity: Identity,
    acquirer_timeout: float,
    latency: float,
    record: Callable[..., None] | None,
) -> Online:
    """The authorizer of a terminal whose journal is ``journal``: built-in with its ledger
    beside the journal, or the client of ``acquirer`` with its queue in the journal's file.
    ``record``: the trace's writer, if a trace is kept (ISO 8583 messages go in it masked)."""
    behind: BuiltInAuthorizer | AcquirerClient
    if acquirer:

        def observe(direction: str, message: bytes) -> None:
            if record is not None:
                record("iso8583", direction, redact(message).hex())

        behind = AcquirerClient(
            acquirer, journal, identity, store, timeout=acquirer_timeout, observer=observe
        )
    else:
        ledger = ":memory:" if journal == ":memory:" else journal + ".ledger"
        behind = BuiltInAuthorizer(store, ledger)
    chain: Authorizer = behind
    if latency:
        chain = DelayedAuthorizer(chain, latency)
    if record is not None:
        chain = TracingAuthorizer(chain, record)
    return Online(chain, behind, answers_at_once=not acquirer and not latency)
