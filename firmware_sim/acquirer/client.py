"""The terminal's acquirer client: the :class:`~firmware_sim.authorizer.Authorizer` that asks an
ISO 8583 host over TCP (``--acquirer tcp://HOST:PORT``) instead of the built-in authorizer.

The rules, after EMV Book 4 and how acquirers run terminals:

- Every request is written down (:class:`Outbox`) before it is sent, so it can be reversed.
- No answer in time, or the line dropped after sending: a reversal advice (0420) is queued and
  the transaction is declined with 91; the connection is closed, so a late answer can never be
  taken for the answer to a later request. An answer is taken only when it names the
  request's STAN, terminal id and reference and carries a good MAC.
- Advices (0220: completion, tip adjustment) are queued first and approved here when the host
  does not answer; they follow when it is back.
- The queue goes out oldest first, before each new request and every few seconds from a
  sender thread, each message sent again (MTI ending in 1) until the host answers it,
  across restarts of either side. Nothing overtakes it: while it cannot be delivered, a new
  request is declined 91 unsent, and a new advice waits behind it.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from keys import KeyStore, MessageAuthenticator
from protocols.acquirer.codec import (
    AcquirerFormatError,
    LengthPrefixedDecoder,
    decode,
    encode_sealed,
    frame,
    mac_matches,
)
from protocols.acquirer.spec import REPEAT, message_type
from protocols.codes import TransactionKind
from protocols.messages import KindTotals

from ..issuer import AuthorizationRequest, AuthorizationResponse
from .messages import (
    Identity,
    Sent,
    answers,
    reconciliation_doc,
    request_doc,
    response_of,
    reversal_doc,
    sign_on_doc,
    transmission_time,
)
from .outbox import Queued, open_outbox

__all__ = ["AcquirerClient", "AcquirerCounters", "parse_acquirer_url"]

ISSUER_UNAVAILABLE = "91"
Observer = Callable[[str, bytes], None]  # ("out" or "in", the message as on the wire)


def parse_acquirer_url(url: str) -> tuple[str, int]:
    """``tcp://HOST:PORT`` -> (host, port); ValueError otherwise.

    >>> parse_acquirer_url("tcp://127.0.0.1:8583")
    ('127.0.0.1', 8583)
    """
    if not url.startswith("tcp://"):
        raise ValueError(f"{url!r}: an acquirer is tcp://HOST:PORT")
    host, sep, port = url[len("tcp://") :].rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{url!r}: an acquirer is tcp://HOST:PORT")
    return host, int(port)


@dataclass
class AcquirerCounters:
    requests: int = 0
    answered: int = 0
    timeouts: int = 0  # no answer in time, or the line dropped after sending
    unreachable: int = 0  # no connection: nothing was sent
    reversals_queued: int = 0
    advices_queued: int = 0
    delivered: int = 0  # queued messages the host has answered
    bad_answers: int = 0  # unparsable, or a bad MAC: dropped
    stale_answers: int = 0  # parsable, but not the answer to what was asked: dropped
    connections: int = 0
    reconciliations: int = 0
    in_balance: int = 0  # currencies the host found in balance at settlement
    out_of_balance: int = 0


class AcquirerClient:
    def __init__(
        self,
        url: str,
        outbox: str,
        identity: Identity,
        store: KeyStore | None = None,
        timeout: float = 15.0,
        retry_interval: float | None = 5.0,
        observer: Observer | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._address = parse_acquirer_url(url)
        self.outbox = open_outbox(outbox)
        self.identity = identity
        self._mac: MessageAuthenticator = (store or KeyStore.load()).message_authenticator()
        self.timeout = timeout
        self._observer = observer
        self._clock = clock
        self.counters = AcquirerCounters()
        self._socket: socket.socket | None = None
        self._decoder = LengthPrefixedDecoder()
        self._lock = threading.RLock()
        self._stop = threading.Event()
        # a sender that retries the queue every ``retry_interval`` seconds while the terminal
        # is idle; None: none (a fleet's terminals flush before each request and at settlement)
        self._sender: threading.Thread | None = None
        if retry_interval is not None:
            self._sender = threading.Thread(
                target=self._send_waiting,
                args=(retry_interval,),
                name="possim-acquirer",
                daemon=True,
            )
            self._sender.start()

    def __repr__(self) -> str:
        return f"AcquirerClient(tcp://{self._address[0]}:{self._address[1]})"

    def close(self) -> None:
        self._stop.set()
        if self._sender is not None:
            self._sender.join(timeout=self.timeout + 1)
        with self._lock:
            self._drop()
            self.outbox.close()

    # --- the Authorizer interface --------------------------------------------------------

    def authorize(self, request: AuthorizationRequest) -> AuthorizationResponse:
        with self._lock:
            self.flush()  # what waits goes first: a reversal before the next request
            self.counters.requests += 1
            mti, processing_code = message_type(request.kind, request.offline_approval)
            behind = bool(self.outbox.waiting())  # the host has not had all of it: keep order
            if behind and mti != "0220":  # never ahead of what waits: not sent, declined
                self.counters.unreachable += 1
                return AuthorizationResponse(ISSUER_UNAVAILABLE)
            original = (
                self.outbox.sent(request.original_reference) if request.original_reference else None
            )
            stan, now = self.outbox.next_stan(), self._clock()
            doc = request_doc(request, self.identity, stan, now, original)
            self.outbox.about_to_send(
                Sent(
                    request.reference,
                    mti,
                    stan,
                    transmission_time(now),
                    int(request.kind),
                    processing_code,
                    request.amount,
                    request.currency,
                )
            )
            if mti == "0220":  # an advice: queued, then delivered now or later
                self.counters.advices_queued += 1
                item = self.outbox.put(request.reference, doc)
                answer = None if behind else self._deliver(item)
                if answer is None:  # approved here; the host hears of it when it is back
                    return AuthorizationResponse("00", "", b"", request.amount)
                return response_of(request, answer)
            answer, sent = self._exchange(doc)
            if answer is None:
                if sent:
                    self._queue_reversal(request.reference)
                return AuthorizationResponse(ISSUER_UNAVAILABLE)
            return response_of(request, answer)

    def reverse(self, reference: str) -> bool:
        """Queue a reversal advice of what was sent for ``reference`` (none if nothing was)
        and try to deliver it now."""
        with self._lock:
            if self.outbox.sent(reference) is None:
                return False
            self._queue_reversal(reference)
            self.flush()
            return True

    # --- reconciliation ------------------------------------------------------------------

    def reconcile(self, batch: int, lines: tuple[KindTotals, ...]) -> dict[str, str]:
        """One 0500 per currency of the batch's ``lines``; currency -> "in balance", "out of
        balance" or why it could not be told."""
        with self._lock:
            self.flush()
            totals: dict[str, list[int]] = {}
            for line in lines:
                t = totals.setdefault(line.currency, [0, 0, 0, 0])
                if line.kind == TransactionKind.REFUND:
                    t[0], t[1] = t[0] + line.count, t[1] + line.total
                elif line.kind in (TransactionKind.SALE, TransactionKind.COMPLETION):
                    t[2], t[3] = t[2] + line.count, t[3] + line.total
            results = {}
            for currency, (a, b, c, d) in sorted(totals.items()):
                if self.outbox.waiting():
                    results[currency] = "not reconciled: the host has not had every message"
                    continue
                doc = reconciliation_doc(
                    self.identity,
                    self.outbox.next_stan(),
                    self._clock(),
                    batch,
                    currency,
                    (a, b, c, d),
                )
                answer, _ = self._exchange(doc)
                self.counters.reconciliations += 1
                if answer is None:
                    results[currency] = "not reconciled: no answer"
                else:
                    results[currency] = {"00": "in balance", "95": "out of balance"}.get(
                        answer["39"], f"refused ({answer['39']})"
                    )
                    self.counters.in_balance += answer["39"] == "00"
                    self.counters.out_of_balance += answer["39"] == "95"
            return results

    # --- store and forward ---------------------------------------------------------------

    def _queue_reversal(self, reference: str) -> None:
        sent = self.outbox.sent(reference)
        if sent is None or self.outbox.queued_for(reference, "0420"):
            return
        doc = reversal_doc(sent, self.identity, self.outbox.next_stan(), self._clock())
        self.outbox.put(reference, doc)
        self.counters.reversals_queued += 1

    def flush(self) -> int:
        """Deliver what waits, oldest first, until the host fails to answer; how many went."""
        delivered = 0
        with self._lock:
            for item in self.outbox.waiting():
                if self._deliver(item) is None:
                    break
                delivered += 1
        return delivered

    def _deliver(self, item: Queued) -> dict[str, str] | None:
        doc = item.doc
        if item.attempts:  # sent before: the host may have it, and answers it again
            doc = {**doc, "t": REPEAT[doc["t"]]}
        self.outbox.attempted(item)
        answer, _ = self._exchange(doc)
        if answer is not None:
            self.outbox.done(item)
            self.counters.delivered += 1
        return answer

    def _send_waiting(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                if self.outbox.waiting():
                    self.flush()
            except Exception:  # noqa: BLE001 - the sender goes on; the queue is durable
                self._drop()

    # --- the line ------------------------------------------------------------------------

    def _exchange(self, doc: dict[str, str]) -> tuple[dict[str, str] | None, bool]:
        """(the answer, or None; whether the request may have reached the host)."""
        if self._socket is not None and self._closed_by_host(self._socket):
            self._drop()  # the host restarted since: sign on again before sending
        try:
            sock = self._socket or self._connect()
        except OSError:
            self.counters.unreachable += 1
            return None, False
        try:
            answer = self._send(sock, doc)
        except (OSError, AcquirerFormatError):
            answer = None
        if answer is None:
            self.counters.timeouts += 1
            self._drop()  # a late answer must never meet a later request
            return None, True
        self.counters.answered += 1
        return answer, True

    def _send(self, sock: socket.socket, doc: dict[str, str]) -> dict[str, str] | None:
        """Send ``doc`` sealed; its answer, or None when none came in time."""
        sealed = encode_sealed(doc, self._mac.mac)
        sock.sendall(frame(sealed))
        self._observe("out", sealed)
        return self._await_answer(sock, doc)

    def _await_answer(self, sock: socket.socket, request: dict[str, str]) -> dict[str, str] | None:
        deadline = time.monotonic() + self.timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            sock.settimeout(remaining)
            data = sock.recv(65536)
            if not data:
                return None
            for message in self._decoder.feed(data):
                self._observe("in", message)
                try:
                    answer = decode(message)
                    good = mac_matches(message, answer, self._mac.verify)
                except AcquirerFormatError:
                    good = False
                if not good:
                    self.counters.bad_answers += 1
                elif answers(request, answer):
                    return answer
                else:
                    self.counters.stale_answers += 1

    def _connect(self) -> socket.socket:
        sock = socket.create_connection(self._address, timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._socket, self._decoder = sock, LengthPrefixedDecoder()
        self.counters.connections += 1
        sign_on = sign_on_doc(self.identity, self.outbox.next_stan(), self._clock())
        try:
            if self._send(sock, sign_on) is None:
                raise OSError("no answer to the sign-on")
        except (OSError, AcquirerFormatError):
            self._drop()
            raise OSError("the host did not answer the sign-on") from None
        return sock

    @staticmethod
    def _closed_by_host(sock: socket.socket) -> bool:
        """The host has closed or reset this idle connection (a request written to it now
        might be lost, and would then be declined and reversed for nothing)."""
        try:
            if not select.select([sock], [], [], 0)[0]:
                return False
            return sock.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def _drop(self) -> None:
        if self._socket is not None:
            try:
                self._socket.close()
            except OSError:
                pass
        self._socket = None

    def _observe(self, direction: str, message: bytes) -> None:
        if self._observer is not None:
            self._observer(direction, message)
