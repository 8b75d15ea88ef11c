"""Enumerations that travel on the wire as one byte (or two, for capabilities).

>>> MessageType.SALE_REQUEST, PromptId(0x0B).name
(<MessageType.SALE_REQUEST: 33>, 'INSERT_CARD')
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

__all__ = [
    "MessageType",
    "EntryMode",
    "TransactionKind",
    "TransactionStatus",
    "SaleOption",
    "Capability",
    "PinBlockFormat",
    "PromptId",
    "ReceiptCopy",
    "PinEntry",
    "CancelOutcome",
    "PROTOCOL_VERSION",
    "PAIRING_TYPES",
    "enum_name",
]

# 3: pre-authorization, follow-ups, tips, partial approval; 4: pairing, authenticated frames;
# 5: a window of data frames in flight, delivered in order (protocols/link_window.py)
PROTOCOL_VERSION = 5


class MessageType(IntEnum):
    """The frame's TYPE byte. 0x0x link control, 0x2x host requests, 0x3x terminal
    responses, 0x40 prompts, 0x5x simulation control, 0x7F error."""

    LINK_RESET = 0x01
    ACK = 0x06  # ASCII ACK
    NAK = 0x15  # ASCII NAK
    INFO_REQUEST = 0x20
    SALE_REQUEST = 0x21
    REFUND_REQUEST = 0x22
    PIN_BLOCK_REQUEST = 0x23
    CANCEL_REQUEST = 0x24
    LAST_RESULT_REQUEST = 0x25
    LOOKUP_REQUEST = 0x26
    SETTLEMENT_REQUEST = 0x27
    STATUS_REQUEST = 0x28
    PREAUTH_REQUEST = 0x29
    FOLLOW_UP_REQUEST = 0x2A
    MERCHANT_LOGIN = 0x2B
    SET_PASSWORD = 0x2C
    PAIR_BEGIN = 0x2D
    PAIR_STEP = 0x2E
    PAIRINGS_REQUEST = 0x2F
    INFO_RESPONSE = 0x30
    TRANSACTION_RESULT = 0x31
    RECEIPT = 0x32
    PIN_BLOCK_RESPONSE = 0x33
    CANCEL_RESPONSE = 0x34
    SETTLEMENT_RESPONSE = 0x35
    STATUS_RESPONSE = 0x36
    MERCHANT_ACCEPTED = 0x37
    PAIR_KEY = 0x38
    PAIR_STEP_ANSWER = 0x39
    PAIRINGS_RESPONSE = 0x3A
    PROMPT = 0x40
    SIM_PRESENT_CARD = 0x50
    SIM_ENTER_PIN = 0x51
    SIM_PRESS_CANCEL = 0x52
    SIM_REMOVE_CARD = 0x53
    SIM_POWER_CYCLE = 0x54
    SIM_CHOOSE_TIP = 0x55
    SIM_ACCEPTED = 0x5F
    ERROR = 0x7F


class EntryMode(IntEnum):
    """How the card data was read. NONE: no card was read (cancelled, PIN block)."""

    NONE = 0
    CHIP = 1
    SWIPE = 2
    TAP = 3
    QR = 4


class TransactionKind(IntEnum):
    """What a transaction is. The follow-ups (INCREMENT to TIP_ADJUST) name an earlier
    transaction by its reference and read no card."""

    SALE = 1
    REFUND = 2
    PREAUTH = 3  # pre-authorization: funds held, captured later by a COMPLETION
    INCREMENT = 4  # incremental authorization of a PREAUTH
    COMPLETION = 5  # capture of a PREAUTH, up to its authorized total, once
    RELEASE = 6  # a PREAUTH given up: the hold is released
    VOID = 7  # a SALE, REFUND or COMPLETION undone before settlement
    TIP_ADJUST = 8  # the tip of an unsettled SALE or COMPLETION changed


class SaleOption(IntFlag):
    """Options of a sale or pre-authorization request."""

    NONE = 0
    ALLOW_PARTIAL = 0x01  # the issuer may approve less than asked (response code 10)


class TransactionStatus(IntEnum):
    APPROVED = 0
    DECLINED = 1
    CANCELLED = 2
    FAILED = 3


class Capability(IntFlag):
    CHIP = 0x0001
    SWIPE = 0x0002
    TAP = 0x0004
    QR = 0x0008
    PIN_PAD = 0x0010
    PRINTER = 0x0020
    DUKPT_TDES = 0x0040
    DUKPT_AES = 0x0080
    SIMULATION_CONTROL = 0x8000


def enum_name(value: IntEnum | IntFlag) -> str:
    """A member's name; a flag combination's member names joined by ``|`` in bit order, the
    same on every Python (3.10's IntFlag names no combination; 3.11 and later do).

    >>> enum_name(Capability.CHIP | Capability.PIN_PAD), enum_name(EntryMode.TAP)
    ('CHIP|PIN_PAD', 'TAP')
    """
    if isinstance(value, IntFlag):
        members = [m for m in type(value) if m.value and m.value & (m.value - 1) == 0]
        names = [str(m.name) for m in sorted(members) if m.value & value.value]
        return "|".join(names) if names else "0"
    return str(value.name)


class PinBlockFormat(IntEnum):
    """ISO 9564-1 PIN block formats that the PIN-BLOCK command produces."""

    ISO_0 = 0
    ISO_4 = 4


class PromptId(IntEnum):
    """What the terminal shows the cardholder. 0x01-0x13: EMV Book 4 section 11.2 standard
    messages; 0x15-0x21: EMV contactless Book A user interface messages; 0x80 and up: ours."""

    AMOUNT = 0x01
    AMOUNT_OK = 0x02
    APPROVED = 0x03
    CALL_YOUR_BANK = 0x04
    CANCEL_OR_ENTER = 0x05
    CARD_ERROR = 0x06
    DECLINED = 0x07
    ENTER_AMOUNT = 0x08
    ENTER_PIN = 0x09
    INCORRECT_PIN = 0x0A
    INSERT_CARD = 0x0B
    NOT_ACCEPTED = 0x0C
    PIN_OK = 0x0D
    PLEASE_WAIT = 0x0E
    PROCESSING_ERROR = 0x0F
    REMOVE_CARD = 0x10
    USE_CHIP_READER = 0x11
    USE_MAG_STRIPE = 0x12
    TRY_AGAIN = 0x13
    PRESENT_CARD = 0x15
    PROCESSING = 0x16
    CARD_READ_OK = 0x17
    AUTHORISING = 0x1B
    SEE_PHONE = 0x20
    PRESENT_CARD_AGAIN = 0x21
    SCAN_QR_CODE = 0x80
    LAST_PIN_TRY = 0x81
    CANCELLED = 0x82
    SELECT_APPLICATION = 0x83
    PRINTING_RECEIPT = 0x84
    CHOOSE_TIP = 0x85
    PARTIAL_APPROVAL = 0x86


class ReceiptCopy(IntEnum):
    CUSTOMER = 1
    MERCHANT = 2


class PinEntry(IntEnum):
    """What the simulated cardholder keys in. The digits themselves never travel: the
    terminal's keypad takes the presented card's PIN, or one that is not it."""

    CORRECT = 0
    WRONG = 1
    BYPASS = 2


class CancelOutcome(IntEnum):
    CANCELLED = 0  # the running command ends with status cancelled
    TOO_LATE = 1  # the running command is past the point of no return; its outcome follows
    NOTHING_RUNNING = 2


PAIRING_TYPES = frozenset({MessageType.PAIR_BEGIN, MessageType.PAIR_STEP})
"""What a terminal that requires a paired host takes from one that is not: pairing itself."""
