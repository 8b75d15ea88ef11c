"""Line faults, pure: what a noisy line does to bytes (drop, corrupt, duplicate), chosen by a
seeded random generator so that a run can be repeated.

>>> faults = LineFaults(corrupt=1.0, seed=1)
>>> faults.apply(b"\\x00\\x00") != b"\\x00\\x00"
True
>>> LineFaults().apply(b"clean")
b'clean'
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

__all__ = ["LineFaults", "parse_faulty_url", "hostile_bursts"]


@dataclass
class LineFaults:
    """Per-byte probabilities of dropping, corrupting (one to eight bits flipped) and
    duplicating; per-write probability of a delay of ``delay_ms``; ``split`` cuts each write
    into random pieces."""

    corrupt: float = 0.0
    drop: float = 0.0
    duplicate: float = 0.0
    delay: float = 0.0
    delay_ms: float = 50.0
    split: bool = False
    seed: int | None = None
    counts: dict[str, int] = field(
        default_factory=lambda: {"corrupt": 0, "drop": 0, "duplicate": 0}
    )

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def apply(self, data: bytes) -> bytes:
        if not (self.corrupt or self.drop or self.duplicate):
            return data
        out = bytearray()
        rnd = self._random.random
        for byte in data:
            if rnd() < self.drop:
                self.counts["drop"] += 1
                continue
            if rnd() < self.corrupt:
                self.counts["corrupt"] += 1
                byte ^= self._random.randrange(1, 256)
            out.append(byte)
            if rnd() < self.duplicate:
                self.counts["duplicate"] += 1
                out.append(byte)
        return bytes(out)

    def pause(self) -> float:
        """Seconds to hold this write back (0 most of the time)."""
        return self.delay_ms / 1000 if self._random.random() < self.delay else 0.0

    def pieces(self, data: bytes) -> list[bytes]:
        if not self.split or len(data) < 2:
            return [data]
        cuts = sorted(self._random.sample(range(1, len(data)), k=min(3, len(data) - 1)))
        bounds = [0, *cuts, len(data)]
        return [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]


def parse_faulty_url(url: str) -> tuple[str, LineFaults]:
    """``faulty://INNER?corrupt=0.01&drop=0&duplicate=0&delay=0&delay_ms=50&split=1&seed=7``:
    the inner port (any pyserial URL or device) and the faults.

    >>> inner, faults = parse_faulty_url("faulty://socket://127.0.0.1:7000?corrupt=0.05&seed=3")
    >>> inner, faults.corrupt, faults.seed
    ('socket://127.0.0.1:7000', 0.05, 3)
    """
    if not url.startswith("faulty://"):
        raise ValueError("a faulty URL starts with faulty://")
    rest = url[len("faulty://") :]
    inner, _, query = rest.rpartition("?") if "=" in rest.rpartition("?")[2] else (rest, "", "")
    options: dict[str, object] = {}
    for key, value in parse_qsl(query, strict_parsing=bool(query)):
        if key in ("corrupt", "drop", "duplicate", "delay", "delay_ms"):
            options[key] = float(value)
        elif key == "split":
            options[key] = value not in ("0", "false", "no")
        elif key == "seed":
            options[key] = int(value)
        else:
            raise ValueError(f"unknown fault {key!r}")
    return inner, LineFaults(**options)  # type: ignore[arg-type]


def hostile_bursts(rng: random.Random) -> list[bytes]:
    """What a broken or hostile host may write, a burst each, in a random order: random
    bytes, a frame cut off mid-way (a host that vanished), a mangled frame, an oversized one,
    a frame of no session, hundreds of LINK_RESETs of sessions never completed, a reset of
    another protocol version, malformed ACK and NAK frames.

    >>> len(hostile_bursts(random.Random(1)))
    9
    """
    from protocols.codes import MessageType
    from protocols.frame import Frame, encode_frame
    from protocols.messages import SaleRequest, encode_payload

    def noise(size: int) -> bytes:
        return bytes(rng.getrandbits(8) for _ in range(size))

    sale = encode_frame(
        Frame(1, MessageType.SALE_REQUEST, b"TAG!" + encode_payload(SaleRequest("F1", 1, "EUR")))
    )
    resets = b"".join(
        encode_frame(Frame(i & 0xFF, MessageType.LINK_RESET, b"\x02" + noise(4) + bytes(4)))
        for i in range(200)
    )
    bursts = [
        noise(rng.randint(1, 300)),
        sale[: rng.randint(1, len(sale) - 1)],
        sale[:6] + noise(4) + sale[10:],
        b"\x02\x08\x02\xf4" + bytes(2050),  # LEN at its maximum, then zeros
        b"\x02\xff\xff\x02" + bytes(100),  # LEN over the maximum
        encode_frame(Frame(3, 0x99, b"TAG!")),
        resets,
        encode_frame(Frame(0, MessageType.LINK_RESET, b"\x09" + bytes(8))),
        encode_frame(Frame(5, MessageType.ACK, b"")) + encode_frame(Frame(5, MessageType.NAK, b"x")),
    ]
    rng.shuffle(bursts)
    return bursts
