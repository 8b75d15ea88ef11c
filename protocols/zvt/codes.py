"""ZVT's numbers, as data: the commands possim's terminal answers, the result codes (BMP 27,
and the xx of a negative acknowledgement 84 xx 00) and the intermediate status codes
(04 FF), from the ZVT 13 specification's tables.

>>> Command(0x0601).name, RESULT_CODES[0x6C]
('AUTHORIZATION', 'abort via time-out or abort-key')
"""

from __future__ import annotations

from enum import IntEnum

__all__ = [
    "Command",
    "PASSWORD_FIRST",
    "PASSWORD_OPTIONAL",
    "registration_fields",
    "RESULT_CODES",
    "INTERMEDIATE_STATUS",
    "ACK",
    "NOT_SUPPORTED",
    "PROTOCOL_ERROR",
    "result_code_of",
]


class Command(IntEnum):
    """Control fields (class << 8 | instruction)."""

    STATUS_INFORMATION = 0x040F
    INTERMEDIATE_STATUS = 0x04FF
    STATUS_ENQUIRY = 0x0501
    REGISTRATION = 0x0600
    AUTHORIZATION = 0x0601
    LOG_OFF = 0x0602
    COMPLETION = 0x060F
    ABORT = 0x061E
    PRE_AUTHORIZATION = 0x0622
    PARTIAL_REVERSAL = 0x0623
    BOOK_TOTAL = 0x0624
    PRE_AUTHORIZATION_REVERSAL = 0x0625
    REVERSAL = 0x0630
    REFUND = 0x0631
    END_OF_DAY = 0x0650
    DIAGNOSIS = 0x0670
    ECR_ABORT = 0x06B0
    PRINT_LINE = 0x06D1
    PRINT_TEXT_BLOCK = 0x06D3


# the commands whose data begins with the password (3 bytes BCD), and those where it may
PASSWORD_FIRST = frozenset(
    {
        Command.REGISTRATION,
        Command.REFUND,
        Command.REVERSAL,
        Command.END_OF_DAY,
        Command.STATUS_ENQUIRY,
    }
)
PASSWORD_OPTIONAL = frozenset(
    {Command.PARTIAL_REVERSAL, Command.BOOK_TOTAL, Command.PRE_AUTHORIZATION_REVERSAL}
)


ACK = bytes.fromhex("800000")  # positive acknowledgement (command received, or done)
NOT_SUPPORTED = 0x83  # "function not possible": 84 83 00 answers an unknown command
PROTOCOL_ERROR = 0x9A  # "ZVT protocol error": an APDU that does not decode

RESULT_CODES: dict[int, str] = {
    0x00: "no error",
    # 01 to 63 (1 to 99): the authorisation system's own response code, in binary
    0x64: "card not readable (LRC-/parity-error)",
    0x65: "card-data not present (neither track-data nor chip found)",
    0x66: "processing-error (also for problems with card-reader mechanism)",
    0x6B: "function deactivated (PT not registered)",
    0x6C: "abort via time-out or abort-key",
    0x6F: "wrong currency",
    0x78: "card expired",
    0x7A: "card unknown",
    0x83: "function not possible",
    0x9A: "ZVT protocol error",
    0x9C: "please wait",
    0xB4: "already reversed",
    0xB5: "reversal not possible",
    0xC6: "currency not applicable",
    0xFF: "system error",
}

INTERMEDIATE_STATUS: dict[int, str] = {
    0x01: "please watch PIN-pad",
    0x04: "PT is waiting for response from FEP",
    0x0A: "insert card",
    0x0B: "please remove card!",
    0x0E: "please wait...",
    0x15: "incorrect PIN",
    0x17: "please wait...",
    0x18: "PIN try limit exceeded",
    0x1D: "declined",
}


def result_code_of(response_code: str) -> int:
    """BMP 27 for an authorisation's two-character response code: a numeric one is the
    authorisation system's own code, in binary (ZVT result codes 01 to 63, decimal 1 to 99);
    an offline decline by the card or the terminal (Z1, Z3) is 05, do not honour.

    >>> result_code_of("00"), result_code_of("51"), result_code_of("Z1")
    (0, 51, 5)
    """
    if response_code.isdigit():
        return int(response_code)
    return 0x00 if response_code == "Y1" else 0x05


def registration_fields(data: bytes) -> tuple[bytes, int, bytes, bytes]:
    """Registration's data (ZVT 13, 2.1): password (3), config byte, then a currency code
    (2, BCD) unless BMPs (03 service byte, 06 TLV) follow at once; (password, config,
    currency or b"", BMPs).

    >>> [part.hex() if isinstance(part, bytes) else part
    ...  for part in registration_fields(bytes.fromhex("1234560A09780301"))]
    ['123456', 10, '0978', '0301']
    """
    password, config, rest = data[:3], data[3] if len(data) > 3 else 0, data[4:]
    if len(rest) >= 2 and rest[0] not in (0x03, 0x06):
        return password, config, rest[:2], rest[2:]
    return password, config, b"", rest
