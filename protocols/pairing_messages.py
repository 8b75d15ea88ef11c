"""The pairing messages (protocol version 4): a host pairs with a terminal by the code the
terminal shows (:mod:`keys.pairing` holds the cryptography), lists its pairings and revokes
one. They are messages like the others (:mod:`protocols.messages` registers them); a
terminal that requires a paired host takes PAIR_BEGIN and PAIR_STEP from anyone.

>>> from protocols.messages import decode_payload, encode_payload
>>> step = PairStep(PairingStep.COMMIT, 0, bytes(32), request_id=3)
>>> decode_payload(step.TYPE, encode_payload(step)) == step
True
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

import construct as c

from .codes import MessageType
from .errors import ErrorCode, FieldError
from .fields import AsciiText, EnumByte
from .messages import (
    Direction,
    Message,
    _check_enum,
    _check_records,
    _check_text,
    _check_uint,
    _message,
)

__all__ = [
    "PairingStep",
    "PairingsAction",
    "PairBegin",
    "PairKey",
    "PairStep",
    "PairStepAnswer",
    "PairingsRequest",
    "PairingEntry",
    "PairingsResponse",
]

PUBLIC_KEY_SIZE = 32
PAIRING_ID_SIZE = 8


class PairingStep(IntEnum):
    """A step of a pairing round: each side commits, then opens; then both confirm."""

    COMMIT = 1  # round 0-5: a 32-byte commitment to the round's digit of the code
    OPEN = 2  # round 0-5: the 16-byte nonce that opens it
    CONFIRM = 3  # round 0: a 16-byte key confirmation


class PairingsAction(IntEnum):
    LIST = 0
    REVOKE = 1


def _check_bytes(value: object, size: int | tuple[int, ...], field_name: str) -> None:
    sizes = size if isinstance(size, tuple) else (size,)
    if not isinstance(value, bytes) or len(value) not in sizes:
        raise FieldError(field_name, ErrorCode.INVALID_FIELD, f"must be {size} bytes")


_PUBLIC_KEY = "public_key" / c.Bytes(PUBLIC_KEY_SIZE) * "32 bytes: an X25519 public key"
_PAIRING_ID = "pairing_id" / c.Bytes(PAIRING_ID_SIZE) * "8 bytes: the pairing's id"
_STEP = (
    "step" / EnumByte(PairingStep) * "u8: 1 commit, 2 open, 3 confirm",
    "round" / c.Int8ub * "u8: the digit of the code, 0-5 (0 for confirm)",
    "value" / c.Prefixed(c.Int8ub, c.GreedyBytes) * "u8 length, then the commitment, "
    "the nonce or the confirmation",
)


@_message(
    MessageType.PAIR_BEGIN,
    Direction.TO_TERMINAL,
    _PUBLIC_KEY,
    "host_name" / AsciiText * "1-32 ASCII: the host, as the terminal will list it",
)
@dataclass(frozen=True)
class PairBegin(Message):
    """Start pairing: the host's X25519 public key. The terminal shows a fresh six-digit code
    on its own display (never on the link) and answers PAIR_KEY, or ERROR PAIRING_LOCKED."""

    public_key: bytes
    host_name: str

    def __post_init__(self) -> None:
        _check_bytes(self.public_key, PUBLIC_KEY_SIZE, "public_key")
        _check_text(self.host_name, "host_name", 32, ascii_only=True)
        if not self.host_name:
            raise FieldError("host_name", ErrorCode.INVALID_FIELD, "must not be empty")


@_message(
    MessageType.PAIR_KEY,
    Direction.TO_HOST,
    _PUBLIC_KEY,
    _PAIRING_ID,
    "terminal_name" / AsciiText * "0-32 ASCII: the terminal's id",
)
@dataclass(frozen=True)
class PairKey(Message):
    """The terminal's X25519 public key and the id the pairing will have."""

    public_key: bytes
    pairing_id: bytes
    terminal_name: str

    def __post_init__(self) -> None:
        _check_bytes(self.public_key, PUBLIC_KEY_SIZE, "public_key")
        _check_bytes(self.pairing_id, PAIRING_ID_SIZE, "pairing_id")
        _check_text(self.terminal_name, "terminal_name", 32, ascii_only=True)


def _check_step(message: PairStep | PairStepAnswer) -> None:
    _check_enum(message.step, PairingStep, "step")
    _check_uint(message.round, 8, "round")
    if message.round > 5:
        raise FieldError("round", ErrorCode.INVALID_FIELD, "must be 0-5")
    _check_bytes(message.value, (16, 32), "value")


@_message(MessageType.PAIR_STEP, Direction.TO_TERMINAL, *_STEP)
@dataclass(frozen=True)
class PairStep(Message):
    """One step of the host's side of a round; answered PAIR_STEP_ANSWER, or ERROR
    WRONG_PAIRING_CODE (the attempt is over: a new one needs a new code)."""

    step: PairingStep
    round: int
    value: bytes

    def __post_init__(self) -> None:
        _check_step(self)


@_message(MessageType.PAIR_STEP_ANSWER, Direction.TO_HOST, *_STEP)
@dataclass(frozen=True)
class PairStepAnswer(Message):
    """The terminal's side of the same step."""

    step: PairingStep
    round: int
    value: bytes

    def __post_init__(self) -> None:
        _check_step(self)


@_message(
    MessageType.PAIRINGS_REQUEST,
    Direction.TO_TERMINAL,
    "action" / EnumByte(PairingsAction) * "u8: 0 list, 1 revoke",
    "pairing_id" / c.Bytes(PAIRING_ID_SIZE) * "8 bytes: the pairing to revoke (zeros to list)",
)
@dataclass(frozen=True)
class PairingsRequest(Message):
    """List the terminal's pairings, or revoke one (a merchant command: it needs the
    merchant password when one is set). Answered PAIRINGS_RESPONSE: the pairings left."""

    action: PairingsAction = PairingsAction.LIST
    pairing_id: bytes = bytes(PAIRING_ID_SIZE)

    def __post_init__(self) -> None:
        _check_enum(self.action, PairingsAction, "action")
        _check_bytes(self.pairing_id, PAIRING_ID_SIZE, "pairing_id")


@dataclass(frozen=True)
class PairingEntry:
    pairing_id: bytes
    host_name: str
    created: int  # Unix time

    def __post_init__(self) -> None:
        _check_bytes(self.pairing_id, PAIRING_ID_SIZE, "pairings")
        _check_text(self.host_name, "pairings", 32, ascii_only=True)
        _check_uint(self.created, 32, "pairings")


_ENTRY = c.Struct(
    "pairing_id" / c.Bytes(PAIRING_ID_SIZE), "host_name" / AsciiText, "created" / c.Int32ub
)


@_message(
    MessageType.PAIRINGS_RESPONSE,
    Direction.TO_HOST,
    "pairings"
    / c.PrefixedArray(c.Int8ub, _ENTRY)
    * "u8 count, then each: pairing id (8 bytes), host name (u8 length, ASCII), created u32",
)
@dataclass(frozen=True)
class PairingsResponse(Message):
    """The terminal's pairings (no keys)."""

    pairings: tuple[PairingEntry, ...]

    def __post_init__(self) -> None:
        _check_records(self)

    _RECORDS: ClassVar[dict[str, type]] = {"pairings": PairingEntry}
