"""Every application message, defined once: a frozen dataclass and its construct schema.

A message's payload is the frame's PAYLOAD; its TYPE byte is ``cls.TYPE``. Values are checked
against the input rules when a message is made, so an invalid message can be neither sent
nor received.

>>> sale = SaleRequest(client_transaction_id="T1", amount=1234, currency="EUR", request_id=7)
>>> payload = encode_payload(sale)
>>> payload.hex(" ")  # request id 7, then the sale's fields (no options, no tips)
'00 07 02 54 31 00 00 00 00 12 34 09 78 00 00'
>>> decode_payload(MessageType.SALE_REQUEST, payload) == sale
True
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any, ClassVar, TypeVar

import construct as c

from . import validation as v
from .codec import StructCodec, compile_struct
from .codes import (
    PROTOCOL_VERSION,
    CancelOutcome,
    Capability,
    EntryMode,
    MessageType,
    PinBlockFormat,
    PinEntry,
    PromptId,
    ReceiptCopy,
    SaleOption,
    TransactionKind,
    TransactionStatus,
)
from .errors import ErrorCode, FieldError, LocalProtocolError, RemoteProtocolError
from .fields import Amount, AsciiText, CurrencyNumber, EnumByte, ErrorCodeField, TextLines, Utf8Text

__all__ = [
    "MerchantLogin",
    "SetPassword",
    "MerchantAccepted",
    "SECRET_FIELDS",
    "Direction",
    "Message",
    "MESSAGE_CLASSES",
    "encode_payload",
    "decode_payload",
    "with_request_id",
    "InfoRequest",
    "SaleRequest",
    "RefundRequest",
    "PinBlockRequest",
    "CancelRequest",
    "LastResultRequest",
    "LookupRequest",
    "SettlementRequest",
    "StatusRequest",
    "PreauthRequest",
    "FollowUpRequest",
    "FOLLOW_UP_KINDS",
    "MAX_TIP_CHOICES",
    "StatusResponse",
    "Counter",
    "InfoResponse",
    "TransactionResult",
    "Receipt",
    "PinBlockResponse",
    "CancelResponse",
    "KindTotals",
    "SettlementResponse",
    "Prompt",
    "SimPresentCard",
    "SimEnterPin",
    "SimPressCancel",
    "SimRemoveCard",
    "SimPowerCycle",
    "SimChooseTip",
    "TIP_CUSTOM",
    "SimAccepted",
    "Error",
    "MAX_PAYLOAD",
]

MAX_PAYLOAD = 2048


class Direction(Enum):
    TO_TERMINAL = "host -> terminal"
    TO_HOST = "terminal -> host"


@dataclass(frozen=True)
class Message:
    """Base of every message. Subclasses are frozen dataclasses made by :func:`_message`.

    ``request_id`` is the message header: a request carries an id the host chose, and every
    answer (response, ERROR, the prompts, receipts and result of the command it started)
    carries the id of the request it answers, so a host can tell its answer from any other.
    It is keyword-only and 0 where nothing is answered."""

    request_id: int = field(default=0, kw_only=True)

    TYPE: ClassVar[MessageType]
    DIRECTION: ClassVar[Direction]
    SCHEMA: ClassVar[c.Struct]
    _CODEC: ClassVar[StructCodec]
    _FIELD_NAMES: ClassVar[tuple[str, ...]]
    # fields holding a tuple of records (a dataclass each), and the record's class
    _RECORDS: ClassVar[dict[str, type]] = {}
    # fields holding a tuple of plain values (an array in the schema, not of records)
    _ARRAYS: ClassVar[tuple[str, ...]] = ()

    def _wire_values(self) -> dict[str, Any]:
        if not self._RECORDS:
            return self.__dict__
        values = dict(self.__dict__)
        for name in self._RECORDS:
            values[name] = [record.__dict__ for record in values[name]]
        return values

    @classmethod
    def _from_wire(cls, values: dict[str, Any]) -> Message:
        fields_ = {name: values[name] for name in cls._FIELD_NAMES}
        for name, record in cls._RECORDS.items():
            fields_[name] = tuple(record(**item) for item in fields_[name])
        for name in cls._ARRAYS:
            fields_[name] = tuple(fields_[name])
        return cls(**fields_)


def _is_array(field: c.Construct) -> bool:
    """Whether a schema field is a PrefixedArray (what the codec reads as a list)."""
    while isinstance(field, c.Renamed):
        field = field.subcon
    return isinstance(field, c.FocusedSeq) and [s.name for s in field.subcons] == [
        "count",
        "items",
    ]


MESSAGE_CLASSES: dict[MessageType, type[Message]] = {}
M = TypeVar("M", bound=type[Message])
MessageT = TypeVar("MessageT", bound=Message)


def _message(
    message_type: MessageType, direction: Direction, *schema_fields: c.Construct
) -> Callable[[M], M]:
    def register(cls: M) -> M:
        names = (_REQUEST_ID.name, *(f.name for f in schema_fields))
        if names != tuple(f.name for f in fields(cls)):
            raise TypeError(f"{cls.__name__}: schema fields {names} do not match the dataclass")
        cls.TYPE = message_type
        cls.DIRECTION = direction
        cls.SCHEMA = c.Struct(_REQUEST_ID, *schema_fields, c.Terminated)
        cls._CODEC = compile_struct(cls.SCHEMA)
        cls._FIELD_NAMES = names
        cls._ARRAYS = tuple(
            f.name for f in schema_fields if _is_array(f) and f.name not in cls._RECORDS
        )
        MESSAGE_CLASSES[message_type] = cls
        return cls

    return register


_REQUEST_ID = (
    "request_id"
    / c.Int16ub
    * "u16, the header of every message: the host's id for a request; an answer repeats it"
)


def with_request_id(message: MessageT, request_id: int) -> MessageT:
    """``message`` carrying ``request_id`` (the same object if it already does).

    >>> with_request_id(InfoRequest(), 7)
    InfoRequest(request_id=7)
    """
    if message.request_id == request_id:
        return message
    _check_uint(request_id, 16, "request_id")
    # A copy with one field changed: the other fields were checked when ``message`` was made,
    # so they are not checked again (dataclasses.replace would run every check anew).
    copy = object.__new__(type(message))
    copy.__dict__.update(message.__dict__)
    object.__setattr__(copy, "request_id", request_id)
    return copy


def _check_text(value: str, field: str, max_len: int, *, ascii_only: bool = False) -> None:
    if not isinstance(value, str):
        raise FieldError(field, ErrorCode.INVALID_FIELD, "must be text")
    # UTF-8 takes at most 4 bytes a character: up to 63 characters always fit the u8 length
    too_long = len(value) > max_len or (
        len(value) > 63 and len(value.encode("utf-8", errors="replace")) > 255
    )
    if too_long or (ascii_only and not value.isascii()):
        kind = "ASCII characters" if ascii_only else "characters"
        raise FieldError(field, ErrorCode.INVALID_FIELD, f"must be at most {max_len} {kind}")


def _check_enum(value: Any, enum: type[Enum], field: str) -> None:
    if not isinstance(value, enum):
        raise FieldError(field, ErrorCode.INVALID_FIELD, f"must be a {enum.__name__}")


def _check_records(message: Message) -> None:
    """Each field of ``message._RECORDS`` is a tuple of at most 255 records of its class."""
    for name, record in message._RECORDS.items():
        value = getattr(message, name)
        if not isinstance(value, tuple) or len(value) > 255:
            raise FieldError(name, ErrorCode.INVALID_FIELD, "must be a tuple of at most 255")
        if not all(isinstance(item, record) for item in value):
            raise FieldError(name, ErrorCode.INVALID_FIELD, f"must be {record.__name__}s")


def _check_uint(value: Any, bits: int, field: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 1 << bits:
        raise FieldError(field, ErrorCode.INVALID_FIELD, f"must be an unsigned {bits}-bit integer")


_TXN_ID = "client_transaction_id" / AsciiText * "1-32 printable ASCII, chosen by the host"
_AMOUNT = "amount" / Amount * "n12 BCD, 1 to 999999999999 minor units"
_CURRENCY = "currency" / CurrencyNumber * "n3 BCD, ISO 4217 number (EUR = 0978)"

# --- host -> terminal ---------------------------------------------------------------------


@_message(MessageType.INFO_REQUEST, Direction.TO_TERMINAL)
@dataclass(frozen=True)
class InfoRequest(Message):
    """Ask the terminal who it is and what it can do."""


_OPTIONS = "options" / EnumByte(SaleOption) * "u8 flags: 0x01 partial approval allowed"
_TIP_AMOUNT = "tip_amount" / Amount * "n12 BCD, 0 to 999999999999 minor units (0: no tip)"
MAX_TIP_CHOICES = 4


def _check_options(options: Any) -> None:
    _check_enum(options, SaleOption, "options")
    if int(options) & ~int(SaleOption.ALLOW_PARTIAL):
        raise FieldError("options", ErrorCode.INVALID_FIELD, "unknown option bits")


@_message(
    MessageType.SALE_REQUEST,
    Direction.TO_TERMINAL,
    _TXN_ID,
    _AMOUNT,
    _CURRENCY,
    _OPTIONS,
    "tip_percentages"
    / c.PrefixedArray(c.Int8ub, c.Int8ub)
    * "u8 count (0-4), then each u8 1-100: the tips the cardholder may pick, in percent",
)
@dataclass(frozen=True)
class SaleRequest(Message):
    """Take a payment (optionally with a tip screen first, or allowing a partial approval).

    The same client transaction id again returns the stored outcome. With ``tip_percentages``
    the cardholder first picks a tip (one of them, a custom amount, or none); with
    ``SaleOption.ALLOW_PARTIAL`` the issuer may approve less (response code 10)."""

    client_transaction_id: str
    amount: int
    currency: str
    options: SaleOption = SaleOption.NONE
    tip_percentages: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        v.check_transaction_id(self.client_transaction_id)
        v.check_amount(self.amount)
        v.check_currency(self.currency)
        _check_options(self.options)
        tips = self.tip_percentages
        if not isinstance(tips, tuple) or len(tips) > MAX_TIP_CHOICES:
            raise FieldError(
                "tip_percentages", ErrorCode.INVALID_FIELD, f"must be at most {MAX_TIP_CHOICES}"
            )
        for tip in tips:
            if type(tip) is not int or not 1 <= tip <= 100:
                raise FieldError("tip_percentages", ErrorCode.INVALID_FIELD, "must be 1 to 100")


@_message(MessageType.PREAUTH_REQUEST, Direction.TO_TERMINAL, _TXN_ID, _AMOUNT, _CURRENCY, _OPTIONS)
@dataclass(frozen=True)
class PreauthRequest(Message):
    """Pre-authorize (hold) an amount on the card, verified as for a sale.

    A COMPLETION captures it later, an INCREMENT raises it, a RELEASE gives it up."""

    client_transaction_id: str
    amount: int
    currency: str
    options: SaleOption = SaleOption.NONE

    def __post_init__(self) -> None:
        v.check_transaction_id(self.client_transaction_id)
        v.check_amount(self.amount)
        v.check_currency(self.currency)
        _check_options(self.options)


FOLLOW_UP_KINDS: dict[TransactionKind, tuple[bool, bool]] = {
    # kind: (takes an amount, takes a tip)
    TransactionKind.INCREMENT: (True, False),
    TransactionKind.COMPLETION: (True, True),
    TransactionKind.RELEASE: (False, False),
    TransactionKind.VOID: (False, False),
    TransactionKind.TIP_ADJUST: (False, True),
}


@_message(
    MessageType.FOLLOW_UP_REQUEST,
    Direction.TO_TERMINAL,
    _TXN_ID,
    "kind" / EnumByte(TransactionKind) * "u8: 4 increment, 5 completion, 6 release, 7 void, 8 tip adjust",
    "original_reference" / AsciiText * "1-12 letters or digits: the transaction it follows",
    "amount" / Amount * "n12 BCD: increment and completion 1 to 999999999999, else 0",
    _CURRENCY,
    _TIP_AMOUNT,
)
@dataclass(frozen=True)
class FollowUpRequest(Message):
    """Increment, complete, release, void or tip-adjust an earlier transaction (no card).

    The original is named by its reference: an increment or completion of a
    pre-authorization, its release, the void of an unsettled sale, refund or completion, a
    tip adjustment of an unsettled sale or completion. The currency must be the original's."""

    client_transaction_id: str
    kind: TransactionKind
    original_reference: str
    amount: int
    currency: str
    tip_amount: int = 0

    def __post_init__(self) -> None:
        v.check_transaction_id(self.client_transaction_id)
        if self.kind not in FOLLOW_UP_KINDS:
            raise FieldError("kind", ErrorCode.INVALID_FIELD, "must be a follow-up kind (4-8)")
        v.check_reference(self.original_reference, "original_reference")
        takes_amount, takes_tip = FOLLOW_UP_KINDS[TransactionKind(self.kind)]
        if takes_amount:
            v.check_amount(self.amount)
        elif self.amount != 0:
            raise FieldError("amount", ErrorCode.INVALID_AMOUNT, f"must be 0 for {self.kind.name}")
        v.check_currency(self.currency)
        if takes_tip:
            v.check_amount(self.tip_amount, "tip_amount", allow_zero=True)
        elif self.tip_amount != 0:
            raise FieldError(
                "tip_amount", ErrorCode.INVALID_AMOUNT, f"{self.kind.name} takes no tip"
            )


@_message(
    MessageType.REFUND_REQUEST,
    Direction.TO_TERMINAL,
    _TXN_ID,
    _AMOUNT,
    _CURRENCY,
    "original_reference" / AsciiText * "1-12 letters or digits: the sale's reference",
)
@dataclass(frozen=True)
class RefundRequest(Message):
    """Refund (part of) an approved sale named by its reference."""

    client_transaction_id: str
    amount: int
    currency: str
    original_reference: str

    def __post_init__(self) -> None:
        v.check_transaction_id(self.client_transaction_id)
        v.check_amount(self.amount)
        v.check_currency(self.currency)
        v.check_reference(self.original_reference, "original_reference")


@_message(
    MessageType.PIN_BLOCK_REQUEST,
    Direction.TO_TERMINAL,
    "pan" / AsciiText * "12-19 ASCII digits, Luhn-valid",
    "format" / EnumByte(PinBlockFormat) * "u8: 0 (ISO 9564 format 0, TDES DUKPT) or 4 (AES DUKPT)",
)
@dataclass(frozen=True)
class PinBlockRequest(Message):
    """Have the cardholder enter a PIN on the PIN pad; answer with the encrypted PIN block."""

    pan: str
    format: PinBlockFormat

    def __post_init__(self) -> None:
        v.check_pan(self.pan)
        if not isinstance(self.format, PinBlockFormat):
            raise FieldError("format", ErrorCode.INVALID_PIN_BLOCK_FORMAT, "must be 0 or 4")


@_message(MessageType.CANCEL_REQUEST, Direction.TO_TERMINAL)
@dataclass(frozen=True)
class CancelRequest(Message):
    """Stop the running command if it is still waiting (for a card, a PIN, a choice)."""


@_message(MessageType.LAST_RESULT_REQUEST, Direction.TO_TERMINAL)
@dataclass(frozen=True)
class LastResultRequest(Message):
    """The outcome (RECEIPT then TRANSACTION_RESULT) of the last transaction."""


@_message(MessageType.LOOKUP_REQUEST, Direction.TO_TERMINAL, _TXN_ID)
@dataclass(frozen=True)
class LookupRequest(Message):
    """The outcome of the transaction with this client transaction id."""

    client_transaction_id: str

    def __post_init__(self) -> None:
        v.check_transaction_id(self.client_transaction_id)


@_message(MessageType.SETTLEMENT_REQUEST, Direction.TO_TERMINAL)
@dataclass(frozen=True)
class SettlementRequest(Message):
    """Close the batch: end-of-day totals per currency."""


@_message(MessageType.STATUS_REQUEST, Direction.TO_TERMINAL)
@dataclass(frozen=True)
class StatusRequest(Message):
    """What the terminal is doing: its state, the transaction in progress, its counters."""


_PASSWORD_RULE = "6-32 printable ASCII"


def _check_password(value: str, field_name: str, *, allow_empty: bool = False) -> None:
    if allow_empty and value == "":
        return
    if not (
        isinstance(value, str)
        and 6 <= len(value) <= 32
        and value.isascii()
        and value.isprintable()
    ):
        raise FieldError(field_name, ErrorCode.INVALID_FIELD, f"must be {_PASSWORD_RULE}")


@_message(
    MessageType.MERCHANT_LOGIN,
    Direction.TO_TERMINAL,
    "password" / AsciiText * f"{_PASSWORD_RULE}: the merchant password",
)
@dataclass(frozen=True)
class MerchantLogin(Message):
    """Unlock the merchant's commands (refund, void, tip adjustment, settlement, setting the
    password) for this link session. Answered MERCHANT_ACCEPTED or ERROR."""

    password: str = field(repr=False)

    def __post_init__(self) -> None:
        _check_password(self.password, "password")


@_message(
    MessageType.SET_PASSWORD,
    Direction.TO_TERMINAL,
    "current" / AsciiText * f"empty when none is set, else {_PASSWORD_RULE}",
    "new" / AsciiText * f"{_PASSWORD_RULE}",
)
@dataclass(frozen=True)
class SetPassword(Message):
    """Set the merchant password (the current one must be given when one is set); the
    terminal keeps a scrypt hash of it. Answered MERCHANT_ACCEPTED or ERROR."""

    current: str = field(repr=False)
    new: str = field(repr=False)

    def __post_init__(self) -> None:
        _check_password(self.current, "current", allow_empty=True)
        _check_password(self.new, "new")


SECRET_FIELDS = frozenset({"password", "current", "new"})  # never shown, masked in traces


# --- terminal -> host ---------------------------------------------------------------------


@_message(
    MessageType.INFO_RESPONSE,
    Direction.TO_HOST,
    "protocol_version" / c.Int8ub * f"u8, this document: {PROTOCOL_VERSION}",
    "firmware_version" / AsciiText * "0-32 ASCII",
    "serial_number" / AsciiText * "0-32 ASCII",
    "capabilities" / EnumByte(Capability, c.Int16ub) * "u16 flags, see Capability",
)
@dataclass(frozen=True)
class InfoResponse(Message):
    """Protocol version, firmware version, serial number and capabilities."""

    protocol_version: int
    firmware_version: str
    serial_number: str
    capabilities: Capability

    def __post_init__(self) -> None:
        _check_uint(self.protocol_version, 8, "protocol_version")
        _check_text(self.firmware_version, "firmware_version", 32, ascii_only=True)
        _check_text(self.serial_number, "serial_number", 32, ascii_only=True)
        _check_enum(self.capabilities, Capability, "capabilities")
        _check_uint(int(self.capabilities), 16, "capabilities")


@_message(
    MessageType.TRANSACTION_RESULT,
    Direction.TO_HOST,
    _TXN_ID,
    "kind" / EnumByte(TransactionKind) * "u8: 1 sale, 2 refund, 3 preauth, 4-8 follow-ups",
    "status" / EnumByte(TransactionStatus) * "u8: 0 approved, 1 declined, 2 cancelled, 3 failed",
    "response_code" / c.PaddedString(2, "ascii") * "2 ASCII, ISO 8583 field 39 ('00' approved)",
    "auth_code" / AsciiText * "0-6 ASCII, empty unless approved",
    "reference" / AsciiText * "0-12 letters or digits, the terminal's reference",
    _AMOUNT,
    _CURRENCY,
    "masked_pan" / AsciiText * "0-19 ASCII, at most first 6 and last 4 digits shown",
    "entry_mode" / EnumByte(EntryMode) * "u8: 0 none, 1 chip, 2 swipe, 3 tap, 4 QR",
    "original_reference" / AsciiText * "0-12 ASCII, refunds and follow-ups: the original's reference",
    "time" / c.Int32ub * "u32, seconds since 1970-01-01 UTC",
    "approved_amount"
    / Amount
    * "n12 BCD: what was approved (less than amount on a partial approval, 0 unless approved)",
    _TIP_AMOUNT,
)
@dataclass(frozen=True)
class TransactionResult(Message):
    """The outcome of a transaction: the answer to its request, LAST_RESULT and LOOKUP."""

    client_transaction_id: str
    kind: TransactionKind
    status: TransactionStatus
    response_code: str
    auth_code: str
    reference: str
    amount: int
    currency: str
    masked_pan: str
    entry_mode: EntryMode
    original_reference: str
    time: int
    approved_amount: int = 0
    tip_amount: int = 0

    def __post_init__(self) -> None:
        v.check_transaction_id(self.client_transaction_id)
        _check_enum(self.kind, TransactionKind, "kind")
        v.check_amount(self.approved_amount, "approved_amount", allow_zero=True)
        v.check_amount(self.tip_amount, "tip_amount", allow_zero=True)
        _check_enum(self.status, TransactionStatus, "status")
        if not (isinstance(self.response_code, str) and len(self.response_code) == 2):
            raise FieldError("response_code", ErrorCode.INVALID_FIELD, "must be 2 characters")
        _check_text(self.auth_code, "auth_code", 6, ascii_only=True)
        _check_text(self.reference, "reference", 12, ascii_only=True)
        v.check_amount(self.amount)
        v.check_currency(self.currency)
        _check_text(self.masked_pan, "masked_pan", 19, ascii_only=True)
        _check_enum(self.entry_mode, EntryMode, "entry_mode")
        _check_text(self.original_reference, "original_reference", 12, ascii_only=True)
        _check_uint(self.time, 32, "time")


@_message(
    MessageType.RECEIPT,
    Direction.TO_HOST,
    _TXN_ID,
    "copy" / EnumByte(ReceiptCopy) * "u8: 1 customer, 2 merchant",
    "lines" / TextLines * "u8 count, then each line: u8 length, UTF-8",
)
@dataclass(frozen=True)
class Receipt(Message):
    """The receipt of a transaction, as printed; sent before its TRANSACTION_RESULT."""

    client_transaction_id: str
    copy: ReceiptCopy
    lines: tuple[str, ...]

    def __post_init__(self) -> None:
        v.check_transaction_id(self.client_transaction_id)
        _check_enum(self.copy, ReceiptCopy, "copy")
        if not isinstance(self.lines, tuple) or len(self.lines) > 48:
            raise FieldError("lines", ErrorCode.INVALID_FIELD, "must be a tuple of at most 48")
        for line in self.lines:
            _check_text(line, "lines", 48)


_PIN_BLOCK_SIZES = {PinBlockFormat.ISO_0: (8, 10), PinBlockFormat.ISO_4: (16, 12)}


@_message(
    MessageType.PIN_BLOCK_RESPONSE,
    Direction.TO_HOST,
    "format" / EnumByte(PinBlockFormat) * "u8: 0 or 4",
    "pin_block" / c.Prefixed(c.Int8ub, c.GreedyBytes) * "u8 length, 8 (format 0) or 16 bytes",
    "ksn" / c.Prefixed(c.Int8ub, c.GreedyBytes) * "u8 length, 10 (TDES) or 12 bytes (AES)",
)
@dataclass(frozen=True)
class PinBlockResponse(Message):
    """The PIN block encrypted under the DUKPT PIN key of ``ksn``; the PIN is never in clear."""

    format: PinBlockFormat
    pin_block: bytes
    ksn: bytes

    def __post_init__(self) -> None:
        _check_enum(self.format, PinBlockFormat, "format")
        block_size, ksn_size = _PIN_BLOCK_SIZES[self.format]
        if not isinstance(self.pin_block, bytes) or len(self.pin_block) != block_size:
            raise FieldError("pin_block", ErrorCode.INVALID_FIELD, f"must be {block_size} bytes")
        if not isinstance(self.ksn, bytes) or len(self.ksn) != ksn_size:
            raise FieldError("ksn", ErrorCode.INVALID_FIELD, f"must be {ksn_size} bytes")


@_message(
    MessageType.CANCEL_RESPONSE,
    Direction.TO_HOST,
    "outcome" / EnumByte(CancelOutcome) * "u8: 0 cancelled, 1 too late, 2 nothing running",
)
@dataclass(frozen=True)
class CancelResponse(Message):
    """Whether the running command was cancelled, was past cancelling, or none was running."""

    outcome: CancelOutcome

    def __post_init__(self) -> None:
        _check_enum(self.outcome, CancelOutcome, "outcome")


@dataclass(frozen=True)
class KindTotals:
    """One line of a batch: how many approved transactions of one kind and currency, and
    their total with tips (voided ones and the voids themselves count in neither)."""

    currency: str
    kind: TransactionKind
    count: int
    total: int

    def __post_init__(self) -> None:
        v.check_currency(self.currency)
        _check_enum(self.kind, TransactionKind, "totals")
        _check_uint(self.count, 32, "count")
        _check_uint(self.total, 63, "total")


_TOTALS = c.Struct(
    _CURRENCY,
    "kind" / EnumByte(TransactionKind),
    "count" / c.Int32ub,
    "total" / c.Int64ub,
)


@_message(
    MessageType.SETTLEMENT_RESPONSE,
    Direction.TO_HOST,
    "batch_number" / c.Int32ub * "u32, the batch just closed",
    "totals"
    / c.PrefixedArray(c.Int8ub, _TOTALS)
    * "u8 count, then each: currency n3 BCD, kind u8, count u32, total u64 (minor units, "
    "tips included)",
)
@dataclass(frozen=True)
class SettlementResponse(Message):
    """End-of-day totals per currency and kind from the journal; the batch is closed."""

    batch_number: int
    totals: tuple[KindTotals, ...]

    def __post_init__(self) -> None:
        _check_uint(self.batch_number, 32, "batch_number")
        _check_records(self)

    _RECORDS: ClassVar[dict[str, type]] = {"totals": KindTotals}


@dataclass(frozen=True)
class Counter:
    name: str
    value: int

    def __post_init__(self) -> None:
        _check_text(self.name, "counters", 32, ascii_only=True)
        _check_uint(self.value, 32, "counters")


_COUNTER = c.Struct("name" / AsciiText, "value" / c.Int32ub)


@_message(
    MessageType.STATUS_RESPONSE,
    Direction.TO_HOST,
    "state" / AsciiText * "0-32 ASCII: the terminal's state, as in docs/state-machine.md",
    "kind" / c.Int8ub * "u8: the transaction in progress (see TransactionKind), 0 for none",
    "client_transaction_id" / AsciiText * "0-32 ASCII: its client transaction id",
    "amount" / c.Int64ub * "u64: its amount in minor units, 0 for none",
    "currency" / AsciiText * "0-3 ASCII: its currency, ISO 4217 alphabetic",
    "reference" / AsciiText * "0-12 ASCII: its reference, once the journal gave one",
    "counters"
    / c.PrefixedArray(c.Int8ub, _COUNTER)
    * "u8 count, then each: name (u8 length, ASCII), value u32: the journal's counts, the "
    "link's and the runner's counters",
)
@dataclass(frozen=True)
class StatusResponse(Message):
    """The terminal's state, the transaction in progress (if any), and its counters."""

    state: str
    kind: int
    client_transaction_id: str
    amount: int
    currency: str
    reference: str
    counters: tuple[Counter, ...]

    def __post_init__(self) -> None:
        _check_text(self.state, "state", 32, ascii_only=True)
        _check_uint(self.kind, 8, "kind")
        _check_text(self.client_transaction_id, "client_transaction_id", 32, ascii_only=True)
        _check_uint(self.amount, 63, "amount")
        _check_text(self.currency, "currency", 3, ascii_only=True)
        _check_text(self.reference, "reference", 12, ascii_only=True)
        _check_records(self)

    _RECORDS: ClassVar[dict[str, type]] = {"counters": Counter}


@_message(
    MessageType.PROMPT,
    Direction.TO_HOST,
    "prompt_id" / EnumByte(PromptId) * "u8, EMV Book 4 11.2 message identifier (see PromptId)",
    "language" / c.PaddedString(2, "ascii") * "2 ASCII, ISO 639-1 ('en', 'zh')",
    "text" / Utf8Text * "u8 length, UTF-8: what the display shows",
)
@dataclass(frozen=True)
class Prompt(Message):
    """What the terminal shows the cardholder, sent while a command runs."""

    prompt_id: PromptId
    language: str
    text: str

    def __post_init__(self) -> None:
        _check_enum(self.prompt_id, PromptId, "prompt_id")
        if not (isinstance(self.language, str) and len(self.language) == 2):
            raise FieldError("language", ErrorCode.INVALID_FIELD, "must be 2 letters")
        _check_text(self.text, "text", 64)


@_message(
    MessageType.ERROR,
    Direction.TO_HOST,
    "code" / ErrorCodeField * "u16, see Error codes",
    "field" / AsciiText * "0-32 ASCII: the offending field, or empty",
    "text" / Utf8Text * "u8 length, UTF-8: what went wrong, for people",
)
@dataclass(frozen=True)
class Error(Message):
    """The command was refused or failed; the terminal is back to idle."""

    code: ErrorCode | int
    field: str
    text: str

    def __post_init__(self) -> None:
        _check_uint(self.code, 16, "code")
        _check_text(self.field, "field", 32, ascii_only=True)
        _check_text(self.text, "text", 255)


# --- simulation control (host -> simulated terminal) --------------------------------------


@_message(
    MessageType.SIM_PRESENT_CARD,
    Direction.TO_TERMINAL,
    "card" / AsciiText * "1-32 ASCII: a name from the test card catalogue",
    "entry_mode" / EnumByte(EntryMode) * "u8: 1 chip, 2 swipe, 3 tap, 4 QR",
)
@dataclass(frozen=True)
class SimPresentCard(Message):
    """The simulated cardholder inserts, swipes or taps a catalogue card, or pays by QR."""

    card: str
    entry_mode: EntryMode

    def __post_init__(self) -> None:
        v.check_card_name(self.card)
        _check_enum(self.entry_mode, EntryMode, "entry_mode")
        if self.entry_mode is EntryMode.NONE:
            raise FieldError("entry_mode", ErrorCode.INVALID_FIELD, "a card is presented somehow")


@_message(
    MessageType.SIM_ENTER_PIN,
    Direction.TO_TERMINAL,
    "entry" / EnumByte(PinEntry) * "u8: 0 the card's PIN, 1 a wrong PIN, 2 bypass",
)
@dataclass(frozen=True)
class SimEnterPin(Message):
    """The simulated cardholder keys in the card's PIN, a wrong one, or bypasses."""

    entry: PinEntry

    def __post_init__(self) -> None:
        _check_enum(self.entry, PinEntry, "entry")


@_message(MessageType.SIM_PRESS_CANCEL, Direction.TO_TERMINAL)
@dataclass(frozen=True)
class SimPressCancel(Message):
    """The cardholder presses the red key."""


@_message(MessageType.SIM_REMOVE_CARD, Direction.TO_TERMINAL)
@dataclass(frozen=True)
class SimRemoveCard(Message):
    """The simulated cardholder takes the card out."""


@_message(MessageType.SIM_POWER_CYCLE, Direction.TO_TERMINAL)
@dataclass(frozen=True)
class SimPowerCycle(Message):
    """Cut the power: the terminal restarts from its journal."""


TIP_CUSTOM = 0xFF


@_message(
    MessageType.SIM_CHOOSE_TIP,
    Direction.TO_TERMINAL,
    "choice" / c.Int8ub * "u8: 0 no tip, 1-4 the n-th offered percentage, 255 a custom tip",
    _TIP_AMOUNT,
)
@dataclass(frozen=True)
class SimChooseTip(Message):
    """The simulated cardholder picks a tip on the terminal's tip screen."""

    choice: int
    tip_amount: int = 0

    def __post_init__(self) -> None:
        if type(self.choice) is not int or not (
            0 <= self.choice <= MAX_TIP_CHOICES or self.choice == TIP_CUSTOM
        ):
            raise FieldError("choice", ErrorCode.INVALID_FIELD, "must be 0-4 or 255 (custom)")
        v.check_amount(self.tip_amount, "tip_amount", allow_zero=True)
        if (self.choice == TIP_CUSTOM) != (self.tip_amount > 0):
            raise FieldError(
                "tip_amount", ErrorCode.INVALID_AMOUNT, "a custom tip, and only it, has an amount"
            )


@_message(MessageType.MERCHANT_ACCEPTED, Direction.TO_HOST)
@dataclass(frozen=True)
class MerchantAccepted(Message):
    """The merchant password was accepted (a login) or set: the merchant's commands are
    unlocked for this link session."""


@_message(MessageType.SIM_ACCEPTED, Direction.TO_HOST)
@dataclass(frozen=True)
class SimAccepted(Message):
    """A simulation-control message was carried out."""


AnyMessage = (
    InfoRequest
    | MerchantLogin
    | SetPassword
    | MerchantAccepted
    | SaleRequest
    | RefundRequest
    | PinBlockRequest
    | CancelRequest
    | LastResultRequest
    | LookupRequest
    | SettlementRequest
    | StatusRequest
    | InfoResponse
    | TransactionResult
    | Receipt
    | PinBlockResponse
    | CancelResponse
    | SettlementResponse
    | StatusResponse
    | Prompt
    | Error
    | SimPresentCard
    | SimEnterPin
    | SimPressCancel
    | SimRemoveCard
    | SimPowerCycle
    | SimAccepted
)

_DECODE_ERRORS = (
    c.ConstructError,
    struct.error,
    UnicodeError,
    ValueError,
    OverflowError,
    TypeError,
)


def encode_payload(message: Message) -> bytes:
    """The message's payload bytes; LocalProtocolError if it cannot be sent."""
    try:
        payload = message._CODEC.encode(message._wire_values())
    except FieldError as e:
        raise LocalProtocolError(str(e), error_code=e.error_code, field=e.field) from None
    except _DECODE_ERRORS as e:
        raise LocalProtocolError(
            f"{type(message).__name__} does not encode: {e}", error_code=ErrorCode.INVALID_FIELD
        ) from None
    if len(payload) > MAX_PAYLOAD:
        raise LocalProtocolError(
            f"{type(message).__name__} payload is {len(payload)} bytes, over {MAX_PAYLOAD}",
            error_code=ErrorCode.MESSAGE_TOO_LONG,
        )
    return payload


def decode_payload(message_type: int, payload: bytes) -> Message:
    """The message in an intact frame; RemoteProtocolError with the code to answer with."""
    cls = MESSAGE_CLASSES.get(message_type)  # type: ignore[call-overload]
    if cls is None:
        raise RemoteProtocolError(
            f"unknown message type {message_type:#04x}", error_code=ErrorCode.UNKNOWN_MESSAGE_TYPE
        )
    try:
        message: Message = cls._from_wire(cls._CODEC.decode(payload))
        return message
    except FieldError as e:
        raise RemoteProtocolError(
            f"{cls.__name__}: {e}", error_code=e.error_code, field=e.field
        ) from None
    except _DECODE_ERRORS as e:
        raise RemoteProtocolError(
            f"{cls.__name__} payload does not parse: {type(e).__name__}",
            error_code=ErrorCode.MALFORMED_MESSAGE,
        ) from None


# The pairing messages live in their own module; importing it registers them.
from . import pairing_messages as _pairing_messages  # noqa: E402, F401
