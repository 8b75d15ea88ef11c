"""An EMV card reader written for the tests from EMV Book 3 and Book 2, apart from possim's
code: pyscard for the card, tests.reference's BER-TLV decoder, OpenSSL's ``pkeyutl`` for the
raw RSA recovery (rsa_padding_mode:none) and ``cryptography`` for SHA-1 and the public
keys. It reads what a terminal reads and checks the certificates the way Book 2 says, so a
card that passes here passes for someone else's terminal too."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.reference import ber_tlv_items


def sha1(*parts: bytes) -> bytes:
    digest = hashes.Hash(hashes.SHA1())
    for part in parts:
        digest.update(part)
    return digest.finalize()


def openssl_recover(modulus: int, exponent: int, signature: bytes) -> bytes:
    """signature ^ e mod n, computed by OpenSSL from a PEM that ``cryptography`` wrote."""
    key = rsa.RSAPublicNumbers(exponent, modulus).public_key()
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "key.pem").write_bytes(pem)
        (Path(tmp) / "sig").write_bytes(signature)
        out = subprocess.run(
            [
                "openssl",
                "pkeyutl",
                "-verifyrecover",
                "-pubin",
                "-inkey",
                "key.pem",
                "-pkeyopt",
                "rsa_padding_mode:none",
                "-in",
                "sig",
            ],
            cwd=tmp,
            capture_output=True,
            check=True,
        )
    return out.stdout


def flat(data: bytes) -> dict[int, bytes]:
    items = ber_tlv_items(data)
    assert items is not None, data.hex()
    out: dict[int, bytes] = {}

    def walk(entries: list[tuple[int, object]]) -> None:
        for tag, value in entries:
            if isinstance(value, list):
                walk(value)
            else:
                assert isinstance(value, bytes)
                out.setdefault(tag, value)

    walk(items)
    return out


@dataclass
class CardRead:
    tags: dict[int, bytes] = field(default_factory=dict)
    static_data: bytes = b""  # the records the AFL marks, as Book 3 10.3 concatenates them


class EmvClient:
    """The card in ``reader_name`` (pyscard), read as a contact terminal does."""

    def __init__(self, reader_name: str) -> None:
        from smartcard.System import readers

        reader = next(r for r in readers() if str(r).startswith(reader_name))
        self.connection = reader.createConnection()
        self.connection.connect()

    def close(self) -> None:
        self.connection.disconnect()

    def send(self, apdu: bytes) -> tuple[bytes, int]:
        data, sw1, sw2 = self.connection.transmit(list(apdu))
        if sw1 == 0x61:  # T=0: the answer waits
            data, sw1, sw2 = self.connection.transmit([0x00, 0xC0, 0x00, 0x00, sw2])
        return bytes(data), sw1 << 8 | sw2

    def read(self) -> CardRead:
        pse = b"1PAY.SYS.DDF01"
        _, sw = self.send(bytes([0x00, 0xA4, 0x04, 0x00, len(pse)]) + pse + b"\x00")
        assert sw == 0x9000
        directory, sw = self.send(bytes.fromhex("00B2010C00"))
        aid = flat(directory)[0x4F]
        fci, sw = self.send(bytes([0x00, 0xA4, 0x04, 0x00, len(aid)]) + aid + b"\x00")
        assert sw == 0x9000
        card = CardRead(dict(flat(fci)))
        pdol = card.tags.get(0x9F38, b"")
        size, i = 0, 0
        while i < len(pdol):  # a DOL: tags and lengths; the terminal sends zeros for each
            i += 2 if pdol[i] & 0x1F == 0x1F else 1
            size += pdol[i]
            i += 1
        gpo, sw = self.send(
            bytes([0x80, 0xA8, 0x00, 0x00, size + 2, 0x83, size]) + bytes(size) + b"\x00"
        )
        assert sw == 0x9000
        template = flat(gpo)[0x80]
        card.tags[0x82], afl = template[:2], template[2:]
        for entry in range(0, len(afl), 4):
            sfi, first, last, signed = (
                afl[entry] >> 3,
                afl[entry + 1],
                afl[entry + 2],
                afl[entry + 3],
            )
            for number in range(first, last + 1):
                record, sw = self.send(bytes([0x00, 0xB2, number, sfi << 3 | 4, 0x00]))
                assert sw == 0x9000
                for tag, value in flat(record).items():
                    card.tags.setdefault(tag, value)
                if number < first + signed:
                    assert record[0] == 0x70
                    body = record[2:] if record[1] < 0x80 else record[2 + (record[1] & 0x7F) :]
                    card.static_data += body if sfi <= 10 else record
        if card.tags.get(0x9F4A) == b"\x82":
            card.static_data += card.tags[0x82]
        return card


def recover_issuer_modulus(ca_modulus: int, card: CardRead) -> bytes:
    """Book 2 5.3, written out: the issuer's modulus from tags 90, 92, 9F32."""
    t = card.tags
    block = openssl_recover(ca_modulus, 3, t[0x90])
    n = len(block)
    assert block[0] == 0x6A and block[1] == 0x02 and block[-1] == 0xBC
    length = block[13]
    digits = block[15 : n - 21]
    remainder = t.get(0x92, b"")
    assert sha1(block[1 : n - 21], remainder, t[0x9F32]) == block[n - 21 : n - 1]
    return (digits + remainder)[:length]


def recover_icc_modulus(issuer_modulus: bytes, card: CardRead) -> bytes:
    """Book 2 6.4: the card's modulus from 9F46, 9F48, 9F47 and the static data."""
    t = card.tags
    block = openssl_recover(int.from_bytes(issuer_modulus, "big"), 3, t[0x9F46])
    n = len(block)
    assert block[0] == 0x6A and block[1] == 0x04 and block[-1] == 0xBC
    assert block[2:12].hex().upper().rstrip("F") == t[0x5A].hex().upper().rstrip("F")
    remainder = t.get(0x9F48, b"")
    assert sha1(block[1 : n - 21], remainder, t[0x9F47], card.static_data) == block[n - 21 : n - 1]
    return (block[21 : n - 21] + remainder)[: block[19]]
