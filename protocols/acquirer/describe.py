"""ISO 8583 messages for people: a one-line summary and every field named, PAN masked (the
message goes through :func:`~protocols.acquirer.codec.redact` first, whatever its source).

>>> from protocols.acquirer.codec import encode
>>> raw = encode({"t": "0200", "2": "4761739001010010", "3": "000000", "4": "000000001234",
...     "11": "000007", "37": "000000000001", "49": "978"})
>>> summary(raw)
'0200 financial request STAN 000007 ref 000000000001 978 1234'
>>> field_lines(raw)[2]
'DE 2    Primary Account Number (PAN)          476173******0010'
"""

from __future__ import annotations

import iso8583

from .codec import redact
from .spec import MESSAGES, SPEC

__all__ = ["summary", "field_lines"]


def _fields(raw: bytes) -> dict[str, str] | None:
    try:
        doc, _ = iso8583.decode(redact(raw), SPEC)
    except Exception:  # noqa: BLE001 - a message that does not parse is shown as such
        return None
    return {str(k): str(v) for k, v in doc.items()}


def summary(raw: bytes) -> str:
    """MTI, its name, STAN, reference, currency and amount, response code when there is one."""
    doc = _fields(raw)
    if doc is None:
        return f"unparsable ISO 8583 message of {len(raw)} bytes"
    mti = doc.get("t", "")
    spec = MESSAGES.get(mti[:3] + "0" if mti.endswith("1") else mti)
    parts = [mti, spec.name if spec else "(not used by possim)"]
    if mti.endswith("1"):
        parts.append("(repeat)")
    for field, label in (("11", "STAN"), ("37", "ref"), ("70", "code"), ("39", "response")):
        if field in doc:
            parts.append(f"{label} {doc[field]}")
    if "4" in doc:
        parts.append(f"{doc.get('49', '')} {int(doc['4'])}".strip())
    return " ".join(parts)


def field_lines(raw: bytes) -> list[str]:
    """One line per field: number, its name in the spec, its value (masked)."""
    doc = _fields(raw)
    if doc is None:
        return [f"unparsable ISO 8583 message of {len(raw)} bytes"]
    order = ["t", "p", "1"] + sorted((k for k in doc if k.isdigit() and k != "1"), key=int)
    lines = []
    for key in order:
        if key in doc:
            label = "MTI" if key == "t" else "bitmap" if key in ("p", "1") else f"DE {key}"
            name = str(SPEC[key]["desc"])
            lines.append(f"{label:<8}{name[:36]:<38}{doc[key]}")
    return lines
