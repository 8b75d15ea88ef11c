"""A ZVT cash register (ECR) written for the tests from the ZVT specification, apart from the
terminal's code: its own APDU and BMP encoding, its own CRC (bit by bit) and DLE framing, its
own reading of the terminal's answers. It drives ``possim terminal --protocol zvt`` over TCP
(bare APDUs) or a serial line (a pty: DLE STX blocks, ACK/NAK)."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from typing import Any

DLE, STX, ETX, ACK, NAK = 0x10, 0x02, 0x03, 0x06, 0x15


def crc16_kermit(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc


def apdu(cls: int, instr: int, data: bytes = b"") -> bytes:
    length = bytes((len(data),)) if len(data) < 255 else b"\xff" + len(data).to_bytes(2, "little")
    return bytes((cls, instr)) + length + data


def bcd(number: int, size: int) -> bytes:
    return bytes.fromhex(str(number).rjust(size * 2, "0"))


def registration(password: str = "123456", config: int = 0x0A, currency: int = 978) -> bytes:
    """06 00: password, config byte (0A: the ECR prints payment receipts, wants status)."""
    return apdu(0x06, 0x00, bytes.fromhex(password) + bytes((config,)) + bcd(currency, 2))


def authorization(amount: int, currency: int = 978) -> bytes:
    return apdu(0x06, 0x01, b"\x04" + bcd(amount, 6) + b"\x49" + bcd(currency, 2))


ACK_APDU = bytes.fromhex("800000")

# BMP -> size: fixed sizes; "LL"/"LLL": F-digit lengths; "TLV": BER-like length
_SIZES: dict[int, Any] = {
    0x04: 6,
    0x0B: 3,
    0x0C: 3,
    0x0D: 2,
    0x0E: 2,
    0x17: 2,
    0x19: 1,
    0x22: "LL",
    0x27: 1,
    0x29: 4,
    0x2A: 15,
    0x3B: 8,
    0x3C: "LLL",
    0x49: 2,
    0x60: "LLL",
    0x87: 2,
    0x88: 3,
    0x8A: 1,
    0x8B: "LL",
    0x8C: 1,
    0x06: "TLV",
}


def parse_bmps(data: bytes) -> dict[int, bytes]:
    out, i = {}, 0
    while i < len(data):
        tag, i = data[i], i + 1
        size = _SIZES[tag]
        if size == "LL" or size == "LLL":
            digits = 2 if size == "LL" else 3
            length = int("".join(str(b & 0x0F) for b in data[i : i + digits]))
            i += digits
        elif size == "TLV":
            length, i = data[i], i + 1
            if length == 0x81:
                length, i = data[i], i + 1
            elif length == 0x82:
                length, i = int.from_bytes(data[i : i + 2], "big"), i + 2
        else:
            length = size
        out[tag] = data[i : i + length]
        i += length
    return out


@dataclass
class Exchange:
    """What the terminal sent during one command, in order."""

    apdus: list[bytes] = field(default_factory=list)

    def of(self, cls: int, instr: int) -> list[bytes]:
        return [a for a in self.apdus if a[0] == cls and a[1] == instr]

    @property
    def status(self) -> dict[int, bytes]:
        (info,) = self.of(0x04, 0x0F)
        return parse_bmps(_data(info))

    @property
    def ended_with(self) -> bytes:
        return self.apdus[-1][:2]


def _data(raw: bytes) -> bytes:
    return raw[5:] if raw[2] == 0xFF else raw[3:]


class _Tcp:
    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=10)
        self.buffer = b""

    def send(self, raw: bytes) -> None:
        self.sock.sendall(raw)

    def receive(self, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buffer) >= 3:
                size = 3 + self.buffer[2] if self.buffer[2] != 0xFF else None
                if size is None and len(self.buffer) >= 5:
                    size = 5 + int.from_bytes(self.buffer[3:5], "little")
                if size is not None and len(self.buffer) >= size:
                    out, self.buffer = self.buffer[:size], self.buffer[size:]
                    return out
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no APDU from the terminal")
            self.sock.settimeout(left)
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("the terminal closed the connection")
            self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


class _Serial:
    """The DLE STX transport over a pyserial port, by hand."""

    def __init__(self, port: Any) -> None:
        self.port = port
        self.naks_sent = 0

    def _read(self, count: int, deadline: float) -> bytes:
        out = b""
        while len(out) < count:
            if time.monotonic() > deadline:
                raise TimeoutError("the line went quiet")
            out += self.port.read(count - len(out))
        return out

    def send(self, raw: bytes) -> None:
        body = raw.replace(bytes((DLE,)), bytes((DLE, DLE)))
        crc = crc16_kermit(raw + bytes((ETX,)))
        block = bytes((DLE, STX)) + body + bytes((DLE, ETX)) + crc.to_bytes(2, "little")
        for _ in range(3):
            self.port.write(block)
            answer = self._read(1, time.monotonic() + 5)
            if answer[0] == ACK:
                return
        raise ConnectionError("the terminal NAKed the block three times")

    def receive(self, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while True:
            if self._read(1, deadline)[0] != DLE or self._read(1, deadline)[0] != STX:
                continue
            body = b""
            while True:
                byte = self._read(1, deadline)[0]
                if byte == DLE:
                    following = self._read(1, deadline)[0]
                    if following == ETX:
                        break
                    body += bytes((following,))
                else:
                    body += bytes((byte,))
            crc = int.from_bytes(self._read(2, deadline), "little")
            if crc == crc16_kermit(body + bytes((ETX,))):
                self.port.write(bytes((ACK,)))
                return body
            self.naks_sent += 1
            self.port.write(bytes((NAK,)))

    def close(self) -> None:
        self.port.close()


class ZvtEcr:
    """A cash register: sends a command, acknowledges every terminal message with 80 00 00
    until the terminal hands the master rights back (06 0F completion, 06 1E abort)."""

    def __init__(self, transport: Any) -> None:
        self.transport = transport

    @classmethod
    def tcp(cls, host: str, port: int) -> ZvtEcr:
        return cls(_Tcp(host, port))

    @classmethod
    def serial(cls, port: Any) -> ZvtEcr:
        return cls(_Serial(port))

    def command(self, raw: bytes, timeout: float = 30.0) -> Exchange:
        self.transport.send(raw)
        exchange = Exchange()
        first = self.transport.receive(timeout)
        exchange.apdus.append(first)
        if first[0] == 0x84:  # refused at once
            return exchange
        assert first[:3] == ACK_APDU, first.hex()
        while True:
            message = self.transport.receive(timeout)
            exchange.apdus.append(message)
            self.transport.send(ACK_APDU)
            if message[:2] in (b"\x06\x0f", b"\x06\x1e"):
                return exchange

    def raw(self, raw: bytes, timeout: float = 10.0) -> bytes:
        """Send anything; the terminal's first answer."""
        self.transport.send(raw)
        answer: bytes = self.transport.receive(timeout)
        return answer

    def close(self) -> None:
        self.transport.close()
