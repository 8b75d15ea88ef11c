"""EMVCo merchant-presented QR (EMV QRCPS-MPM): the payload a terminal shows for a sale.

Each data object is an ID (two digits), a length (two digits) and a value; templates (26 to
51 merchant account information, 62 additional data) hold data objects of their own; the last
object, 63, is the CRC-16/CCITT-FALSE (the host link's CRC, protocols.crc) of the whole
payload up to and including "6304", as four upper-case hex digits.

>>> payload = build_mpm(amount="12.34", currency_numeric=978, reference="T1")
>>> payload[:12], payload[-8:-4]
('000201010212', '6304')
>>> parse_mpm(payload)["54"], parse_mpm(payload)["62"]["05"]
('12.34', 'T1')
"""

from __future__ import annotations

from .crc import crc16
from .errors import ErrorCode, RemoteProtocolError

__all__ = ["build_mpm", "parse_mpm"]

TEMPLATES = {str(i) for i in range(26, 52)} | {"62", "64"}


def _object(object_id: str, value: str) -> str:
    if len(value) > 99:
        raise ValueError(f"data object {object_id} is over 99 characters")
    return f"{object_id}{len(value):02d}{value}"


def build_mpm(
    *,
    amount: str,
    currency_numeric: int,
    reference: str,
    merchant_name: str = "POSSIM TEST SHOP",
    city: str = "LONDON",
    country: str = "GB",
    category_code: str = "5999",
    account_guid: str = "com.possim.test",
    merchant_id: str = "PSM00000001",
) -> str:
    """A dynamic (point of initiation 12) payload for one sale of ``amount`` (major units)."""
    body = "".join(
        (
            _object("00", "01"),  # payload format indicator
            _object("01", "12"),  # dynamic: one transaction
            _object("26", _object("00", account_guid) + _object("01", merchant_id)),
            _object("52", category_code),
            _object("53", f"{currency_numeric:03d}"),
            _object("54", amount),
            _object("58", country),
            _object("59", merchant_name),
            _object("60", city),
            _object("62", _object("05", reference)),  # reference label
        )
    )
    body += "6304"
    return body + f"{crc16(body.encode('utf-8')):04X}"


def _objects(text: str, nested: bool) -> dict[str, object]:
    out: dict[str, object] = {}
    pos = 0
    while pos < len(text):
        object_id, length_text = text[pos : pos + 2], text[pos + 2 : pos + 4]
        if not (object_id.isdigit() and length_text.isdigit()):
            raise RemoteProtocolError(
                "QR payload: malformed data object", error_code=ErrorCode.MALFORMED_MESSAGE
            )
        end = pos + 4 + int(length_text)
        if end > len(text):
            raise RemoteProtocolError(
                "QR payload: data object runs past the end", error_code=ErrorCode.MALFORMED_MESSAGE
            )
        value = text[pos + 4 : end]
        out[object_id] = _objects(value, False) if nested and object_id in TEMPLATES else value
        pos = end
    return out


def parse_mpm(payload: str) -> dict[str, object]:
    """The payload's data objects (templates as nested dicts); RemoteProtocolError if the CRC
    or the structure is wrong."""
    if len(payload) < 8 or payload[-8:-4] != "6304":
        raise RemoteProtocolError(
            "QR payload: no CRC object at the end", error_code=ErrorCode.MALFORMED_MESSAGE
        )
    expected = f"{crc16(payload[:-4].encode('utf-8')):04X}"
    if payload[-4:].upper() != expected:
        raise RemoteProtocolError("QR payload: bad CRC", error_code=ErrorCode.MALFORMED_MESSAGE)
    objects = _objects(payload, True)
    if objects.get("00") != "01":
        raise RemoteProtocolError(
            "QR payload: not format 01", error_code=ErrorCode.MALFORMED_MESSAGE
        )
    return objects
