"""The cash register's commands, each decoded and turned into what the terminal does: an
answer of its own (Registration, Log-Off, Status Enquiry, Diagnosis) or a request to the
terminal core, the same one possim's own protocol gives it (a SALE for an Authorization, a
REFUND, a VOID for a Reversal, a PREAUTH and its COMPLETION or RELEASE, a SETTLEMENT for an
End-of-Day). No I/O; a command that cannot be done raises ZvtFormatError with the result code
of the ``84 xx 00`` that answers it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from protocols.codes import TransactionKind
from protocols.currency import by_numeric
from protocols.messages import (
    CancelRequest,
    FollowUpRequest,
    Message,
    PreauthRequest,
    RefundRequest,
    SaleRequest,
    SettlementRequest,
)
from protocols.zvt.apdu import Apdu, ZvtFormatError, encode_apdu
from protocols.zvt.bmp import Bmp, decode_bmps, encode_bmps
from protocols.zvt.codes import ACK, NOT_SUPPORTED, PROTOCOL_ERROR, Command, registration_fields

from .answers import completion, print_lines

__all__ = ["Lookups", "Reply", "EcrSession", "NOT_REGISTERED"]

NOT_REGISTERED = 0x6B  # function deactivated (PT not registered)
WRONG_CURRENCY = 0x6F
REVERSAL_NOT_POSSIBLE = 0xB5
ECR_PRINTS_ADMIN_RECEIPTS = 0x04  # config byte of Registration


@dataclass(frozen=True)
class Lookups:
    """What the commands need of the journal: the reference of a receipt number (of the
    given kinds), an approved purchase a refund can be booked against, and the expiry date
    (YYMM) of the card a transaction read."""

    by_receipt: Callable[[int, tuple[TransactionKind, ...]], str | None]
    refundable: Callable[[int, str], str | None]
    card_expiry: Callable[[str], str] = lambda reference: ""


@dataclass
class Reply:
    """At once: ``immediate`` (80 00 00 or nothing); then ``queued`` PT messages, each
    acknowledged by the ECR; ``request`` for the core, whose answers follow."""

    immediate: bytes = ACK
    queued: list[bytes] = field(default_factory=list)
    request: Message | None = None


def _txn_id() -> str:
    return f"zvt-{secrets.token_hex(8)}"


class EcrSession:
    """The registration's state (password, config byte, currency) and the commands."""

    def __init__(self, password: int, terminal_id: int, lookups: Lookups) -> None:
        self.password = password
        self.terminal_id = terminal_id
        self.lookups = lookups
        self.registered = False
        self.config = 0
        self.currency = 978

    def handle(self, apdu: Apdu, busy: bool) -> Reply:
        try:
            command = Command(apdu.command)
        except ValueError:
            raise ZvtFormatError("a command possim does not know", NOT_SUPPORTED) from None
        handler = _HANDLERS.get(command)
        if handler is None:
            raise ZvtFormatError("a command the ECR does not send", NOT_SUPPORTED)
        starts = command in _STARTS_A_TRANSACTION
        if starts and busy:
            raise ZvtFormatError("a transaction is running", NOT_SUPPORTED)
        if starts and not self.registered:
            raise ZvtFormatError("register first", NOT_REGISTERED)
        return handler(self, apdu.data)

    # --- helpers ------------------------------------------------------------------------

    def _password(self, data: bytes) -> bytes:
        """Check the password at the start of ``data``; the rest."""
        raw = data[:3]
        if len(raw) != 3 or not raw.hex().isdigit() or int(raw.hex()) != self.password:
            raise ZvtFormatError("wrong password", NOT_SUPPORTED)
        return data[3:]

    def _optional_password(self, data: bytes) -> bytes:
        """The pre-authorization family: a password before the BMPs is taken and checked."""
        try:
            decode_bmps(data)
            return data
        except ZvtFormatError:
            return self._password(data)

    def _currency(self, bmps: dict[int, Any]) -> str:
        code = int(bmps.get(0x49, self.currency))
        try:
            return by_numeric(code).alpha
        except (KeyError, ValueError):
            raise ZvtFormatError("unknown currency", WRONG_CURRENCY) from None

    @staticmethod
    def _amount(bmps: dict[int, Any]) -> int:
        if 0x04 not in bmps:
            raise ZvtFormatError("the command needs its amount (BMP 04)", PROTOCOL_ERROR)
        return int(bmps[0x04])

    def _reference(self, bmps: dict[int, Any], kinds: tuple[TransactionKind, ...]) -> str:
        if 0x87 not in bmps:
            raise ZvtFormatError("the command needs a receipt number (BMP 87)", PROTOCOL_ERROR)
        reference = self.lookups.by_receipt(int(bmps[0x87]), kinds)
        if reference is None:
            raise ZvtFormatError("no such receipt", REVERSAL_NOT_POSSIBLE)
        return reference

    # --- commands -----------------------------------------------------------------------

    def registration(self, data: bytes) -> Reply:
        if len(data) < 4:
            raise ZvtFormatError("Registration: password, config byte, [currency], [BMPs]")
        self._password(data)
        _, config, code, rest = registration_fields(data)
        currency = None
        if code:
            if not code.hex().isdigit():
                raise ZvtFormatError("the currency code is not BCD", PROTOCOL_ERROR)
            currency = int(code.hex())
        decode_bmps(rest)
        if currency is not None:
            self._currency({0x49: currency})
            self.currency = currency
        self.config, self.registered = config, True
        answer: list[Bmp] = [(0x19, 0x00), (0x29, self.terminal_id)]
        if currency is not None:
            answer.append((0x49, currency))
        return Reply(queued=[completion(answer)])

    def log_off(self, data: bytes) -> Reply:
        self.registered = False
        return Reply()

    def status_enquiry(self, data: bytes) -> Reply:
        decode_bmps(self._password(data))
        status = encode_bmps([(0x27, 0x00), (0x29, self.terminal_id)])
        return Reply(queued=[encode_apdu(0x04, 0x0F, status), completion()])

    def diagnosis(self, data: bytes) -> Reply:
        decode_bmps(data)
        queued = []
        if self.config & ECR_PRINTS_ADMIN_RECEIPTS:
            queued += print_lines(
                ["POSSIM TEST TERMINAL", "DIAGNOSIS", f"TID {self.terminal_id}", "OK"]
            )
        return Reply(queued=[*queued, completion([(0x19, 0x00), (0x29, self.terminal_id)])])

    def authorization(self, data: bytes) -> Reply:
        bmps = dict(decode_bmps(data))
        amount = self._amount(bmps)
        return Reply(request=SaleRequest(_txn_id(), amount, self._currency(bmps)))

    def pre_authorization(self, data: bytes) -> Reply:
        bmps = dict(decode_bmps(data))
        amount = self._amount(bmps)
        return Reply(request=PreauthRequest(_txn_id(), amount, self._currency(bmps)))

    def refund(self, data: bytes) -> Reply:
        bmps = dict(decode_bmps(self._password(data)))
        amount, currency = self._amount(bmps), self._currency(bmps)
        original = self.lookups.refundable(amount, currency)
        if original is None:  # possim books a refund against a purchase (docs/zvt.md)
            raise ZvtFormatError("no purchase to refund against", NOT_SUPPORTED)
        return Reply(request=RefundRequest(_txn_id(), amount, currency, original))

    def reversal(self, data: bytes) -> Reply:
        bmps = dict(decode_bmps(self._password(data)))
        kinds = (TransactionKind.SALE, TransactionKind.REFUND, TransactionKind.COMPLETION)
        original = self._reference(bmps, kinds)
        request = FollowUpRequest(
            _txn_id(), TransactionKind.VOID, original, 0, self._currency(bmps)
        )
        return Reply(request=request)

    def book_total(self, data: bytes) -> Reply:
        """06 24, and 06 23 (partial reversal: what is not booked is given back): the
        pre-authorization's completion for the amount."""
        bmps = dict(decode_bmps(self._optional_password(data)))
        original = self._reference(bmps, (TransactionKind.PREAUTH,))
        amount = self._amount(bmps)
        request = FollowUpRequest(
            _txn_id(), TransactionKind.COMPLETION, original, amount, self._currency(bmps)
        )
        return Reply(request=request)

    def pre_authorization_reversal(self, data: bytes) -> Reply:
        bmps = dict(decode_bmps(self._optional_password(data)))
        original = self._reference(bmps, (TransactionKind.PREAUTH,))
        request = FollowUpRequest(
            _txn_id(), TransactionKind.RELEASE, original, 0, self._currency(bmps)
        )
        return Reply(request=request)

    def end_of_day(self, data: bytes) -> Reply:
        decode_bmps(self._password(data))
        return Reply(request=SettlementRequest())

    def ecr_abort(self, data: bytes) -> Reply:
        return Reply(request=CancelRequest())


_HANDLERS: dict[Command, Callable[[EcrSession, bytes], Reply]] = {
    Command.REGISTRATION: EcrSession.registration,
    Command.LOG_OFF: EcrSession.log_off,
    Command.STATUS_ENQUIRY: EcrSession.status_enquiry,
    Command.DIAGNOSIS: EcrSession.diagnosis,
    Command.AUTHORIZATION: EcrSession.authorization,
    Command.PRE_AUTHORIZATION: EcrSession.pre_authorization,
    Command.PARTIAL_REVERSAL: EcrSession.book_total,
    Command.BOOK_TOTAL: EcrSession.book_total,
    Command.PRE_AUTHORIZATION_REVERSAL: EcrSession.pre_authorization_reversal,
    Command.REVERSAL: EcrSession.reversal,
    Command.REFUND: EcrSession.refund,
    Command.END_OF_DAY: EcrSession.end_of_day,
    Command.ECR_ABORT: EcrSession.ecr_abort,
}
_STARTS_A_TRANSACTION = frozenset(
    {
        Command.AUTHORIZATION,
        Command.PRE_AUTHORIZATION,
        Command.PARTIAL_REVERSAL,
        Command.BOOK_TOTAL,
        Command.PRE_AUTHORIZATION_REVERSAL,
        Command.REVERSAL,
        Command.REFUND,
        Command.END_OF_DAY,
    }
)
