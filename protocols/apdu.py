"""ISO/IEC 7816-4 APDUs, short form: command (CLA INS P1 P2 [Lc data] [Le]) and response
(data SW1 SW2), and the EMV instructions and status words the terminal uses.

>>> select = CommandApdu(0x00, Ins.SELECT, 0x04, 0x00, b"1PAY.SYS.DDF01", le=0)
>>> select.encode().hex().upper()
'00A404000E315041592E5359532E444446303100'
>>> CommandApdu.decode(select.encode()) == select
True
>>> ResponseApdu.decode(bytes.fromhex("9000")).sw
36864
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

from .errors import ErrorCode, RemoteProtocolError

__all__ = ["Ins", "Sw", "CommandApdu", "ResponseApdu", "exchange_t0"]


class Ins(IntEnum):
    """Instruction bytes (EMV 4.4 Book 3 section 6.5; ISO 7816-4)."""

    EXTERNAL_AUTHENTICATE = 0x82
    GENERATE_AC = 0xAE
    GET_CHALLENGE = 0x84
    GET_DATA = 0xCA
    GET_PROCESSING_OPTIONS = 0xA8
    GET_RESPONSE = 0xC0
    INTERNAL_AUTHENTICATE = 0x88
    PIN_CHANGE_UNBLOCK = 0x24
    READ_RECORD = 0xB2
    SELECT = 0xA4
    VERIFY = 0x20


class Sw(IntEnum):
    """Status words (ISO 7816-4 section 5.6; EMV Book 3 Annex A)."""

    OK = 0x9000
    WARNING_SELECTED_FILE_INVALIDATED = 0x6283
    AUTHENTICATION_FAILED = 0x6300
    WRONG_LENGTH = 0x6700
    SECURITY_STATUS_NOT_SATISFIED = 0x6982
    AUTHENTICATION_METHOD_BLOCKED = 0x6983
    REFERENCED_DATA_INVALIDATED = 0x6984
    CONDITIONS_OF_USE_NOT_SATISFIED = 0x6985
    SECURE_MESSAGING_DATA_INCORRECT = 0x6988
    WRONG_DATA = 0x6A80
    FUNCTION_NOT_SUPPORTED = 0x6A81
    FILE_NOT_FOUND = 0x6A82
    RECORD_NOT_FOUND = 0x6A83
    INCORRECT_P1_P2 = 0x6A86
    REFERENCED_DATA_NOT_FOUND = 0x6A88
    INS_NOT_SUPPORTED = 0x6D00
    CLA_NOT_SUPPORTED = 0x6E00

    @staticmethod
    def pin_tries_left(sw: int) -> int | None:
        """63Cx: a wrong PIN, x tries left."""
        return sw & 0x0F if sw & 0xFFF0 == 0x63C0 else None


def _error(text: str) -> RemoteProtocolError:
    return RemoteProtocolError(f"APDU: {text}", error_code=ErrorCode.CARD_ERROR)


@dataclass(frozen=True)
class CommandApdu:
    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None  # expected length; 0 means up to 256

    def encode(self) -> bytes:
        if len(self.data) > 255:
            raise ValueError("short APDUs carry at most 255 data bytes")
        out = bytes((self.cla, self.ins, self.p1, self.p2))
        if self.data:
            out += bytes((len(self.data),)) + self.data
        if self.le is not None:
            out += bytes((self.le & 0xFF,))
        return out

    @classmethod
    def decode(cls, raw: bytes) -> CommandApdu:
        """Cases 1 to 4 of ISO 7816-3 12.1.3; RemoteProtocolError(CARD_ERROR) otherwise."""
        if len(raw) < 4:
            raise _error("a command APDU has at least 4 bytes")
        cla, ins, p1, p2 = raw[:4]
        body = raw[4:]
        if not body:
            return cls(cla, ins, p1, p2)
        if len(body) == 1:
            return cls(cla, ins, p1, p2, le=body[0])
        lc = body[0]
        if lc and len(body) == 1 + lc:
            return cls(cla, ins, p1, p2, data=body[1:])
        if lc and len(body) == 2 + lc:
            return cls(cla, ins, p1, p2, data=body[1 : 1 + lc], le=body[-1])
        raise _error("Lc does not match the data")

    def describe(self) -> str:
        try:
            name = Ins(self.ins).name
        except ValueError:
            name = f"INS {self.ins:02X}"
        return f"{name} P1={self.p1:02X} P2={self.p2:02X} data={self.data.hex().upper() or '-'}"


@dataclass(frozen=True)
class ResponseApdu:
    data: bytes
    sw: int

    def encode(self) -> bytes:
        return self.data + self.sw.to_bytes(2, "big")

    @classmethod
    def decode(cls, raw: bytes) -> ResponseApdu:
        if len(raw) < 2:
            raise _error("a response APDU has at least SW1 SW2")
        return cls(raw[:-2], int.from_bytes(raw[-2:], "big"))

    @property
    def ok(self) -> bool:
        return self.sw == Sw.OK


def exchange_t0(transmit: Callable[[bytes], bytes], command: bytes) -> bytes:
    """One command through ``transmit``, with T=0's procedure bytes handled (ISO 7816-4 5.3.4):
    6Cxx sends the command again with Le=xx; 61xx fetches the rest with GET RESPONSE.

    >>> answers = iter([bytes.fromhex("6104"), bytes.fromhex("DEADBEEF9000")])
    >>> exchange_t0(lambda apdu: next(answers), bytes.fromhex("00A4040002AAAA00")).hex()
    'deadbeef9000'
    """
    response = transmit(command)
    if len(response) == 2 and response[0] == 0x6C:
        command = (command[:-1] if len(command) > 4 else command[:4]) + response[1:2]
        response = transmit(command)
    data = b""
    while len(response) >= 2 and response[-2] == 0x61:
        data += response[:-2]
        response = transmit(bytes((command[0] & 0x03, Ins.GET_RESPONSE, 0, 0, response[-1])))
    return data + response
