"""The names of the EMV data objects possim's cards and terminal exchange (EMV 4.4 Book 3
Annex A1), for traces, the step display and the docs.

>>> tag_name(0x9F46), tag_name(0x9F4B), tag_name(0xDF01)
('ICC public key certificate', 'signed dynamic application data', '')
"""

from __future__ import annotations

__all__ = ["TAG_NAMES", "tag_name"]

TAG_NAMES: dict[int, str] = {
    0x4F: "application identifier (AID)",
    0x50: "application label",
    0x57: "track 2 equivalent data",
    0x5A: "application PAN",
    0x5F20: "cardholder name",
    0x5F24: "application expiration date",
    0x5F25: "application effective date",
    0x5F28: "issuer country code",
    0x5F2A: "transaction currency code",
    0x5F2D: "language preference",
    0x5F34: "PAN sequence number",
    0x61: "application template",
    0x6F: "file control information (FCI) template",
    0x70: "record template",
    0x71: "issuer script template 1",
    0x72: "issuer script template 2",
    0x77: "response message template format 2",
    0x80: "response message template format 1",
    0x82: "application interchange profile (AIP)",
    0x84: "dedicated file name",
    0x86: "issuer script command",
    0x87: "application priority indicator",
    0x88: "short file identifier",
    0x8A: "authorisation response code",
    0x8C: "CDOL1",
    0x8D: "CDOL2",
    0x8E: "CVM list",
    0x8F: "CA public key index",
    0x90: "issuer public key certificate",
    0x91: "issuer authentication data",
    0x92: "issuer public key remainder",
    0x93: "signed static application data",
    0x94: "application file locator (AFL)",
    0x95: "terminal verification results (TVR)",
    0x9A: "transaction date",
    0x9B: "transaction status information (TSI)",
    0x9C: "transaction type",
    0x9F02: "amount, authorised",
    0x9F03: "amount, other",
    0x9F0D: "issuer action code - default",
    0x9F0E: "issuer action code - denial",
    0x9F0F: "issuer action code - online",
    0x9F10: "issuer application data",
    0x9F13: "last online ATC register",
    0x9F14: "lower consecutive offline limit",
    0x9F17: "PIN try counter",
    0x9F18: "issuer script identifier",
    0x9F1A: "terminal country code",
    0x9F23: "upper consecutive offline limit",
    0x9F26: "application cryptogram",
    0x9F27: "cryptogram information data",
    0x9F32: "issuer public key exponent",
    0x9F36: "application transaction counter (ATC)",
    0x9F37: "unpredictable number",
    0x9F38: "PDOL",
    0x9F46: "ICC public key certificate",
    0x9F47: "ICC public key exponent",
    0x9F48: "ICC public key remainder",
    0x9F49: "DDOL",
    0x9F4A: "static data authentication tag list",
    0x9F4B: "signed dynamic application data",
    0x9F4C: "ICC dynamic number",
    0x9F5B: "issuer script results",
    0x9F66: "terminal transaction qualifiers (TTQ)",
    0xA5: "FCI proprietary template",
    0xBF0C: "FCI issuer discretionary data",
}


def tag_name(tag: int) -> str:
    return TAG_NAMES.get(tag, "")
