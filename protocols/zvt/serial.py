"""ZVT's serial transport, sans-IO (ZVT 13, chapter 1.1): an APDU travels as
``DLE STX <APDU, each DLE doubled> DLE ETX <CRC low> <CRC high>``; the receiver answers ACK
(06) for a block whose CRC holds and NAK (15) otherwise; the sender repeats a block that was
NAKed or not acknowledged in time, a bounded number of times. The CRC is CRC-16/KERMIT
(polynomial 1021 reflected, initial value 0) over the APDU and ETX.

Bytes in, events out, the clock passed in: :class:`SerialTransport` never reads a port or a
clock itself.

>>> frame = encode_block(bytes.fromhex("060003123456"))
>>> frame.hex().upper()
'10020600031234561003A5EF'
>>> link = SerialTransport()
>>> link.receive_data(frame, 0.0); link.events(), link.data_to_send().hex()
([ApduReceived(apdu=b'\\x06\\x00\\x03\\x124V')], '06')
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "STX",
    "ETX",
    "DLE",
    "ACK",
    "NAK",
    "crc_kermit",
    "encode_block",
    "SerialSettings",
    "SerialTransport",
    "ApduReceived",
    "BlockRefused",
    "BlockDelivered",
    "BlockFailed",
    "SerialEvent",
]

STX, ETX, ACK, DLE, NAK = 0x02, 0x03, 0x06, 0x10, 0x15
MAX_BLOCK = 0xFFFF + 5  # the longest APDU
MAX_QUEUED = 64  # blocks waiting their turn: past this, a peer that acknowledges nothing
# loses the newest (counted), not the sender's memory


def _table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _table()


def crc_kermit(data: bytes) -> int:
    """CRC-16/KERMIT (the catalogue's check value: 2189 for "123456789").

    >>> hex(crc_kermit(b"123456789"))
    '0x2189'
    """
    crc = 0
    for byte in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ byte) & 0xFF]
    return crc


def encode_block(apdu: bytes) -> bytes:
    crc = crc_kermit(apdu + bytes((ETX,)))
    body = apdu.replace(bytes((DLE,)), bytes((DLE, DLE)))
    return bytes((DLE, STX)) + body + bytes((DLE, ETX)) + crc.to_bytes(2, "little")


@dataclass(frozen=True)
class SerialSettings:
    """possim's timing (the specification leaves the values to the line; these suit 9600 baud
    and up): an ACK is waited for ``ack_timeout`` seconds; a block is sent at most
    ``max_tries`` times; a block whose bytes stop for ``interbyte_timeout`` is dropped."""

    ack_timeout: float = 1.0
    max_tries: int = 3
    interbyte_timeout: float = 0.5


@dataclass(frozen=True)
class ApduReceived:
    apdu: bytes


@dataclass(frozen=True)
class BlockRefused:
    """A block whose CRC did not hold, or that broke off: NAKed, the sender repeats it."""

    reason: str


@dataclass(frozen=True)
class BlockDelivered:
    apdu: bytes = field(repr=False)


@dataclass(frozen=True)
class BlockFailed:
    """No ACK after every try: the peer is gone or the line is broken."""

    apdu: bytes = field(repr=False)


SerialEvent = ApduReceived | BlockRefused | BlockDelivered | BlockFailed


class SerialTransport:
    """Both directions of one serial line. Blocks to send wait their turn: the next goes
    once the last is acknowledged or given up."""

    def __init__(self, settings: SerialSettings | None = None) -> None:
        self.settings = settings or SerialSettings()
        self._out = bytearray()
        self._events: list[SerialEvent] = []
        self._queue: list[bytes] = []
        self._in_flight: bytes | None = None
        self._tries = 0
        self._ack_deadline: float | None = None
        # receiving: None outside a block, else the APDU so far
        self._block: bytearray | None = None
        self._dle = False
        self._crc: bytearray | None = None
        self._last_byte = 0.0
        self._idle_dle = False
        self.counters = {
            "naks_sent": 0,
            "repeats": 0,
            "bytes_dropped": 0,
            "blocks_failed": 0,
            "blocks_dropped": 0,
        }

    # --- sending -------------------------------------------------------------------------

    def send(self, apdu: bytes, now: float) -> None:
        if len(self._queue) >= MAX_QUEUED:
            self.counters["blocks_dropped"] += 1
            return
        self._queue.append(apdu)
        self._next(now)

    def _next(self, now: float) -> None:
        if self._in_flight is None and self._queue:
            self._in_flight = self._queue.pop(0)
            self._tries = 0
            self._transmit(now)

    def _transmit(self, now: float) -> None:
        assert self._in_flight is not None
        self._tries += 1
        self._out += encode_block(self._in_flight)
        self._ack_deadline = now + self.settings.ack_timeout

    def _answered(self, ok: bool, now: float) -> None:
        if self._in_flight is None:
            return  # a stray ACK or NAK
        if ok:
            self._events.append(BlockDelivered(self._in_flight))
            self._in_flight, self._ack_deadline = None, None
            self._next(now)
        else:
            self._repeat(now)

    def _repeat(self, now: float) -> None:
        assert self._in_flight is not None
        if self._tries >= self.settings.max_tries:
            self.counters["blocks_failed"] += 1
            self._events.append(BlockFailed(self._in_flight))
            self._in_flight, self._ack_deadline = None, None
            self._next(now)
            return
        self.counters["repeats"] += 1
        self._transmit(now)

    def tick(self, now: float) -> None:
        if self._ack_deadline is not None and now >= self._ack_deadline:
            self._repeat(now)
        if self._block is not None or self._crc is not None:
            if now - self._last_byte >= self.settings.interbyte_timeout:
                self._refuse("the block broke off")

    def next_deadline(self) -> float | None:
        deadlines = [d for d in (self._ack_deadline,) if d is not None]
        if self._block is not None or self._crc is not None:
            deadlines.append(self._last_byte + self.settings.interbyte_timeout)
        return min(deadlines) if deadlines else None

    # --- receiving -----------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        if data:
            self._last_byte = now
        for byte in data:
            self._byte(byte, now)

    def _byte(self, byte: int, now: float) -> None:
        if self._crc is not None:
            self._crc.append(byte)
            if len(self._crc) == 2:
                self._finish(now)
            return
        if self._block is None:
            if self._idle_dle:
                self._idle_dle = False
                if byte == STX:
                    self._block, self._dle = bytearray(), False
                    return
                self.counters["bytes_dropped"] += 2
                return
            if byte == DLE:
                self._idle_dle = True
            elif byte == ACK:
                self._answered(True, now)
            elif byte == NAK:
                self._answered(False, now)
            else:
                self.counters["bytes_dropped"] += 1  # noise between blocks
            return
        if self._dle:
            self._dle = False
            if byte == DLE:
                self._block.append(DLE)
            elif byte == ETX:
                self._crc = bytearray()
            elif byte == STX:  # a new block began: the last one broke off
                self._refuse("a block began inside a block")
                self._block = bytearray()
            else:
                self._refuse("DLE followed by neither DLE, ETX nor STX")
            return
        if byte == DLE:
            self._dle = True
        elif len(self._block) >= MAX_BLOCK:
            self._refuse("the block is longer than any APDU")
        else:
            self._block.append(byte)

    def _finish(self, now: float) -> None:
        assert self._block is not None and self._crc is not None
        apdu, crc = bytes(self._block), int.from_bytes(self._crc, "little")
        self._block, self._crc = None, None
        if crc_kermit(apdu + bytes((ETX,))) != crc:
            self._refuse("the CRC does not hold")
            return
        self._out.append(ACK)
        self._events.append(ApduReceived(apdu))

    def _refuse(self, reason: str) -> None:
        self._block, self._crc, self._dle = None, None, False
        self.counters["naks_sent"] += 1
        self._out.append(NAK)
        self._events.append(BlockRefused(reason))

    # --- output --------------------------------------------------------------------------

    def events(self) -> list[SerialEvent]:
        out, self._events = self._events, []
        return out

    def data_to_send(self) -> bytes:
        out, self._out = bytes(self._out), bytearray()
        return out

    @property
    def idle(self) -> bool:
        """Nothing to send and nothing waiting for an ACK."""
        return self._in_flight is None and not self._queue
