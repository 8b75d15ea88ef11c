"""How possim uses ISO 8583:1987 between a terminal and its acquirer host, as data.

The wire layout is pyiso8583's stock ``default_ascii`` spec, unchanged (ASCII MTI, the primary
bitmap as 16 hex digits, every field in ASCII, binary fields as hex), so any tool that reads
the 1987 ASCII layout reads possim's traffic. What this module adds is the use: which
messages travel, which fields each carries and what possim puts in them, the processing codes
and entry modes, the response codes, and the subelements of the private field DE 48.
docs/acquirer.md is generated from these tables (``python -m protocols.acquirer.doc``).

>>> MESSAGES["0200"].name, MESSAGES["0200"].answer
('financial request', '0210')
>>> [use.field for use in MESSAGES["0800"].fields if use.presence == "M"]
[7, 11, 41, 70, 128]
>>> SPEC["52"]["max_len"], FIELD_USES[52].split(";")[0]
(16, 'the PIN block (ISO 9564 format 0), 8 bytes as 16 hex digits')
"""

from __future__ import annotations

from dataclasses import dataclass

from iso8583.specs import default_ascii

from ..codes import EntryMode, TransactionKind

__all__ = [
    "SPEC",
    "FieldUse",
    "MessageSpec",
    "MESSAGES",
    "FIELD_USES",
    "PRIVATE_FIELD",
    "SUBELEMENTS",
    "KIND_MESSAGES",
    "OFFLINE_ADVICE",
    "message_type",
    "ENTRY_MODE_CODES",
    "RESPONSE_CODES",
    "ARQC_DATA",
    "ARQC_DATA_CONTACTLESS",
    "NETWORK_CODES",
    "REPEAT",
]

SPEC = default_ascii  # the wire layout: pyiso8583's, as it ships

PRIVATE_FIELD = 48  # additional data, private: possim's subelements (SUBELEMENTS)


@dataclass(frozen=True)
class FieldUse:
    """One data element of a message: M mandatory, C conditional (see FIELD_USES), E echoed
    from the request when it was there."""

    field: int
    presence: str


@dataclass(frozen=True)
class MessageSpec:
    mti: str
    name: str
    answer: str  # the MTI that answers it; "" for an answer
    purpose: str
    fields: tuple[FieldUse, ...]


def _uses(mandatory: str, conditional: str = "", echoed: str = "") -> tuple[FieldUse, ...]:
    """The fields of a message; the MAC is DE 64, or DE 128 when a field past 64 makes a
    secondary bitmap (the MAC is the last field either way)."""
    numbers = {int(f) for f in (mandatory + " " + conditional + " " + echoed).split()}
    if any(f > 64 for f in numbers):
        mandatory = mandatory.replace(" 64", " 128")
    uses = [FieldUse(int(f), "M") for f in mandatory.split()]
    uses += [FieldUse(int(f), "C") for f in conditional.split()]
    uses += [FieldUse(int(f), "E") for f in echoed.split()]
    return tuple(sorted(uses, key=lambda use: use.field))


# what every request from a terminal carries, and what every answer echoes or adds
_REQUEST = "3 4 7 11 12 13 37 41 42 48 49 64"
_CARD = "2 14 22 23 35 52 55"  # present when a card was read (FIELD_USES says when)
# an answer always has DE 39 and its MAC; it echoes the request's identity when the request
# could be read (a format error's answer may have nothing else)
_ANSWER = "39 64"
_ECHO = "3 4 7 11 37 41"

MESSAGES: dict[str, MessageSpec] = {
    spec.mti: spec
    for spec in (
        MessageSpec(
            "0100",
            "authorization request",
            "0110",
            "pre-authorization (a card read) and incremental authorization (by reference)",
            _uses(_REQUEST + " 22", _CARD + " 25"),
        ),
        MessageSpec(
            "0110",
            "authorization response",
            "",
            "the issuer's answer: DE 39, an authorization code, the ARPC in DE 55",
            _uses(_ANSWER, "38 54 55", _ECHO),
        ),
        MessageSpec(
            "0200",
            "financial request",
            "0210",
            "sale and refund: the amount is to be settled",
            _uses(_REQUEST + " 22", _CARD),
        ),
        MessageSpec(
            "0210",
            "financial response",
            "",
            "the issuer's answer; on a partial approval DE 4 is the approved amount",
            _uses(_ANSWER, "38 54 55", _ECHO),
        ),
        MessageSpec(
            "0220",
            "financial advice",
            "0230",
            "completion of a pre-authorization, tip adjustment, a sale the card approved"
            " offline (TC, response code Y1): done, the host is told",
            _uses(_REQUEST, "25 54"),
        ),
        MessageSpec(
            "0230",
            "financial advice response",
            "",
            "the advice is on record",
            _uses(_ANSWER, echoed=_ECHO),
        ),
        MessageSpec(
            "0400",
            "reversal request",
            "0410",
            "void of a sale, refund or completion; release of a pre-authorization",
            _uses(_REQUEST + " 90"),
        ),
        MessageSpec(
            "0410",
            "reversal response",
            "",
            "the reversal is done (or refused)",
            _uses(_ANSWER, echoed=_ECHO),
        ),
        MessageSpec(
            "0420",
            "reversal advice",
            "0430",
            "an authorization undone by the terminal: no answer in time (EMV Book 4), the card"
            " declined after an approval, an interrupted transaction found at start",
            _uses(_REQUEST + " 90", "39"),
        ),
        MessageSpec(
            "0430",
            "reversal advice response",
            "",
            "the reversal is on record",
            _uses(_ANSWER, echoed=_ECHO),
        ),
        MessageSpec(
            "0500",
            "reconciliation request",
            "0510",
            "the terminal's batch totals, one message per currency, at settlement",
            _uses("7 11 15 41 42 48 50 64 74 76 86 88"),
        ),
        MessageSpec(
            "0510",
            "reconciliation response",
            "",
            "DE 39 00 in balance, 95 out of balance; the host's own totals in DE 74-88",
            _uses("39 64", "50 74 76 86 88", "7 11 41"),
        ),
        MessageSpec(
            "0800",
            "network management request",
            "0810",
            "sign-on (DE 70 001) and echo test (301)",
            _uses("7 11 41 70 64"),
        ),
        MessageSpec(
            "0810",
            "network management response",
            "",
            "the host is there (DE 39 00)",
            _uses("39 64", echoed="7 11 41 70"),
        ),
    )
}

# ISO 8583:1987: a request sent again after no answer has the last MTI digit 1 (0201 ...)
REPEAT = {"0100": "0101", "0200": "0201", "0220": "0221", "0400": "0401", "0420": "0421"}

FIELD_USES: dict[int, str] = {
    2: "PAN; when no track 2 was read (chip with no 57, tap, QR)",
    3: "processing code: 000000 goods and services, 200000 refund (KIND_MESSAGES)",
    4: "amount in minor units of DE 49, 12 digits; on a partial approval the approved amount",
    7: "transmission date and time, MMDDhhmmss UTC",
    11: "system trace audit number: the terminal's counter, new for each message; a message"
    " sent again (MTI ending in 1) keeps it, and the host answers it from its ledger",
    12: "local time hhmmss",
    13: "local date MMDD",
    14: "expiry date YYMM; with DE 2",
    15: "settlement date MMDD",
    22: "POS entry mode (ENTRY_MODE_CODES): PAN entry then PIN entry capability",
    23: "card sequence number (5F34); chip and tap",
    25: "POS condition code: 06 pre-authorization family (pre-authorization, increment,"
    " completion)",
    35: "track 2 as read (magnetic stripe) or its chip equivalent (57), separator D",
    37: "retrieval reference number: the terminal journal's reference of the transaction the"
    " message is about, 12 digits",
    38: "authorization code, six characters",
    39: "response code (RESPONSE_CODES)",
    41: "terminal id, 8 characters",
    42: "merchant id, 15 characters",
    48: "possim's subelements (SUBELEMENTS): kind, original reference, DUKPT KSN, a format 4 PIN"
    " block, partial approval allowed, batch number",
    49: "currency, ISO 4217 numeric",
    50: "settlement currency, ISO 4217 numeric; the reconciliation's currency",
    52: "the PIN block (ISO 9564 format 0), 8 bytes as 16 hex digits; its KSN is in DE 48 KS"
    " (DE 53 is 16 digits here, too short for a 10-byte KSN), and a format 4 block (16"
    " bytes) does not fit: it goes in DE 48 PB",
    54: "additional amounts, blocks of 20: account type 00, amount type (44 gratuity, 57"
    " original amount of a partial approval), currency, C or D, 12 digits",
    55: "ICC data, BER-TLV as hex: the ARQC (the TC in an offline approval's advice) and the"
    " data it covers (ARQC_DATA, or ARQC_DATA_CONTACTLESS when DE 22 is 07) in the request;"
    " 91 issuer authentication data (ARPC and response code), then any issuer scripts"
    " (templates 71 and 72) in the answer",
    128: "MAC, when the message has a secondary bitmap: as DE 64",
    64: "MAC: AES-CMAC under the acquirer MAC key of the message as sent up to this field,"
    " first 8 bytes as 16 hex digits",
    70: "network management code (NETWORK_CODES)",
    74: "credits, number: refunds",
    76: "debits, number: sales and completions",
    86: "credits, amount",
    88: "debits, amount",
    90: "original data elements: original MTI, STAN, DE 7, then 22 zeros (acquirer and"
    " forwarding institution ids, not used)",
}

SUBELEMENTS: dict[str, str] = {
    "TK": "transaction kind, possim's number (1 sale ... 8 tip adjustment)",
    "OR": "reference (DE 37) of the original transaction of a follow-up",
    "KS": "DUKPT key serial number of the PIN block, hex (20 digits TDES, 24 AES)",
    "PB": "ISO 9564 format 4 PIN block (AES), 32 hex digits",
    "PF": "PIN block format, 0 or 4",
    "PA": "1: the terminal accepts a partial approval",
    "BN": "batch number of a reconciliation",
}

# kind -> (request MTI, processing code)
KIND_MESSAGES: dict[TransactionKind, tuple[str, str]] = {
    TransactionKind.SALE: ("0200", "000000"),
    TransactionKind.REFUND: ("0200", "200000"),
    TransactionKind.PREAUTH: ("0100", "000000"),
    TransactionKind.INCREMENT: ("0100", "000000"),
    TransactionKind.COMPLETION: ("0220", "000000"),
    TransactionKind.RELEASE: ("0400", "000000"),
    TransactionKind.VOID: ("0400", "000000"),
    TransactionKind.TIP_ADJUST: ("0220", "000000"),
}

# a sale the card approved offline (TC): a financial advice, sent now or later
OFFLINE_ADVICE = ("0220", "000000")


def message_type(kind: TransactionKind, offline_approval: bool = False) -> tuple[str, str]:
    """(MTI, processing code) of a request of ``kind``.

    >>> message_type(TransactionKind.SALE), message_type(TransactionKind.SALE, True)
    (('0200', '000000'), ('0220', '000000'))
    """
    if offline_approval and kind is TransactionKind.SALE:
        return OFFLINE_ADVICE
    return KIND_MESSAGES[kind]


# DE 22: PAN entry mode (2 digits) then PIN entry capability (1: can accept PINs)
ENTRY_MODE_CODES: dict[EntryMode, str] = {
    EntryMode.CHIP: "051",
    EntryMode.SWIPE: "901",
    EntryMode.TAP: "071",
    EntryMode.QR: "031",
    EntryMode.NONE: "001",
}

RESPONSE_CODES: dict[str, str] = {
    "00": "approved",
    "05": "do not honour",
    "10": "partially approved: DE 4 is the approved amount, DE 54 the requested one",
    "12": "invalid transaction: the original is not held (any more)",
    "14": "invalid card number",
    "30": "format error: the message does not parse, misses a mandatory field, or its MAC is wrong",
    "51": "insufficient funds",
    "54": "expired card",
    "55": "incorrect PIN",
    "88": "cryptographic failure: the ARQC does not verify",
    "91": "issuer unavailable",
    "94": "duplicate transmission: the same STAN for another transaction",
    "95": "reconcile error: the host's totals differ",
    "96": "system malfunction",
}

NETWORK_CODES = {"001": "sign-on", "301": "echo test"}

# EMV Book 2 8.1.1, the recommended minimum data of an ARQC, in order, with lengths: the
# terminal sends each in DE 55 and the host rebuilds the cryptogram's input from them
ARQC_DATA: tuple[tuple[int, int], ...] = (
    (0x9F02, 6),  # amount, authorised
    (0x9F03, 6),  # amount, other
    (0x9F1A, 2),  # terminal country code
    (0x95, 5),  # terminal verification results
    (0x5F2A, 2),  # transaction currency code
    (0x9A, 3),  # transaction date
    (0x9C, 1),  # transaction type
    (0x9F37, 4),  # unpredictable number
    (0x82, 2),  # application interchange profile
    (0x9F36, 2),  # application transaction counter
)

# A contactless card (DE 22 07) computes its cryptogram at GET PROCESSING OPTIONS over its
# PDOL data (possim's cards: TTQ, amount, currency, unpredictable number), the AIP and the
# ATC. Real issuers tell the layouts apart by the cryptogram version in 9F10; possim's host by
# the entry mode.
ARQC_DATA_CONTACTLESS: tuple[tuple[int, int], ...] = (
    (0x9F66, 4),  # terminal transaction qualifiers
    (0x9F02, 6),  # amount, authorised
    (0x5F2A, 2),  # transaction currency code
    (0x9F37, 4),  # unpredictable number
    (0x82, 2),  # application interchange profile
    (0x9F36, 2),  # application transaction counter
)
