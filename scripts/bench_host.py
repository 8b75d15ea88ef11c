"""Acquirer host benchmark: durable authorizations per second and their latency, against
``possim host`` pinned to one core with its ledger on disk (WAL, synchronous=FULL), from
100 concurrent connections (100 terminal ids); beside pyiso8583's own encode+decode of the
same request and answer, measured in the same run (the floor of any host on that library).

    python scripts/bench_host.py [--connections 100] [--per-connection 120] [--rate 1000]

Two runs: as fast as the host answers (each connection sends its next request when the last
is answered: the throughput), then paced at ``--rate`` requests a second in all (the latency
a fleet of that size sees).

Each request is a chip sale with online PIN (format 0 under TDES DUKPT, an ARQC over the EMV
Book 2 data): the host decodes it, checks the MAC, decrypts and checks the PIN, verifies the
ARQC, computes the ARPC, writes the ledger and the answer, commits, then answers. The load
comes from one process on the other core; requests are built before the clock starts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import iso8583  # noqa: E402

from driver.testing import spawn_host  # noqa: E402
from firmware_sim.acquirer.messages import Identity, request_doc  # noqa: E402
from firmware_sim.issuer import AuthorizationRequest, ChipData  # noqa: E402
from keys import KeyStore, Pin, PinPad  # noqa: E402
from protocols.acquirer.codec import (  # noqa: E402
    LengthPrefixedDecoder,
    decode,
    encode_sealed,
    frame,
)
from protocols.acquirer.spec import SPEC  # noqa: E402
from protocols.codes import EntryMode, PinBlockFormat, TransactionKind  # noqa: E402

PAN, PSN = "4761739001010010", "01"


def build_requests(
    count: int, connection: int, kind: str, store: KeyStore, pad: PinPad
) -> list[bytes]:
    """``count`` sealed, framed sale requests of terminal ``connection``."""
    mac = store.message_authenticator()
    card = store.card_keys(PAN, PSN)
    identity = Identity(f"BENCH{connection:03d}", "POSSIM000000001")
    out = []
    for i in range(count):
        amount, atc = 1000 + i % 50, (i + 1).to_bytes(2, "big")
        chip = pin = None
        if kind == "chip":
            # EMV Book 2 8.1.1's data in order: amount, other amount, country, TVR,
            # currency, date, type, unpredictable number, AIP, ATC
            data = (
                bytes.fromhex(f"{amount:012d}")
                + bytes(6)
                + bytes.fromhex("0826")
                + bytes(5)
                + bytes.fromhex("0978")
                + bytes.fromhex("261126")
                + b"\x00"
                + os.urandom(4)
                + bytes.fromhex("1800")
                + atc
            )
            chip = ChipData(atc, data, card.cryptogram(atc, data))
            pin = pad.encrypt(Pin("1234"), PAN, PinBlockFormat.ISO_0)
        request = AuthorizationRequest(
            TransactionKind.SALE,
            f"{i + 1:012d}",
            PAN,
            PSN,
            "2712",
            amount,
            "EUR",
            EntryMode.CHIP if kind == "chip" else EntryMode.SWIPE,
            "202611",
            pin_block=pin,
            chip=chip,
            track2="" if kind == "chip" else f"{PAN}D27122010000000000000",
        )
        doc = request_doc(request, identity, f"{i + 1:06d}", time.time())
        out.append(frame(encode_sealed(doc, mac.mac)))
    return out


async def drive(
    url: str, streams: list[list[bytes]], rate: float = 0.0
) -> tuple[list[float], float, bytes]:
    """Each stream on its own connection, one request at a time: as fast as answers come, or
    with ``rate`` requests a second in all (each connection at its share, evenly spread);
    latencies, elapsed, and one answer to check."""
    host, port = url.removeprefix("tcp://").rsplit(":", 1)
    latencies: list[float] = []
    sample: list[bytes] = []

    interval = len(streams) / rate if rate else 0.0

    async def one(index: int, stream: list[bytes]) -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        decoder = LengthPrefixedDecoder()
        due = time.perf_counter() + interval * index / len(streams)
        for message in stream:
            if interval:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                due += interval
            started = time.perf_counter()
            writer.write(message)
            answers: list[bytes] = []
            while not answers:
                answers = decoder.feed(await reader.read(65536))
            latencies.append(time.perf_counter() - started)
            if not sample:
                sample.append(answers[0])
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(one(i, s) for i, s in enumerate(streams)))
    return latencies, time.perf_counter() - started, sample[0]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def library_floor(request: bytes, answer: bytes) -> float:
    """pyiso8583 decode of the request plus encode of the answer, per second, best of 5."""
    from benchlib import rate

    answer_doc, _ = iso8583.decode(answer, SPEC)

    def both() -> None:
        iso8583.decode(request, SPEC)
        iso8583.encode(dict(answer_doc), SPEC)

    return rate(both, 3.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--per-connection", type=int, default=120)
    parser.add_argument("--kind", choices=("chip", "swipe"), default="chip")
    parser.add_argument(
        "--rate", type=float, default=1000.0, help="requests/s offered in the paced run"
    )
    args = parser.parse_args()
    store = KeyStore.load()
    print(
        f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cores; "
        f"{args.connections} connections x {args.per_connection} {args.kind} sales"
    )
    pad = store.pin_pad()
    streams = [
        build_requests(args.per_connection, c, args.kind, store, pad)
        for c in range(args.connections)
    ]
    with tempfile.TemporaryDirectory() as directory:
        ledger = str(Path(directory) / "ledger.sqlite")
        process, url = spawn_host("--ledger", ledger, stderr=subprocess.PIPE)
        try:
            os.sched_setaffinity(process.pid, {0})  # the host on one core
            os.sched_setaffinity(0, {1} if (os.cpu_count() or 1) > 1 else {0})
            warm = [build_requests(20, 900 + c, args.kind, store, pad) for c in range(4)]
            asyncio.run(drive(url, warm))
            cpu_before = cpu_seconds(process.pid)
            latencies, elapsed, sample = asyncio.run(drive(url, streams))
            cpu = cpu_seconds(process.pid) - cpu_before
            paced_streams = [
                build_requests(args.per_connection, 200 + c, args.kind, store, pad)
                for c in range(args.connections)
            ]
            paced, paced_elapsed, _ = asyncio.run(drive(url, paced_streams, args.rate))
        finally:
            process.terminate()
            _, stderr = process.communicate(timeout=10)
    count = len(latencies)
    assert decode(sample)["39"] == "00", decode(sample)
    ordered = sorted(latencies)
    p50, p99 = ordered[count // 2], ordered[int(count * 0.99)]
    print("\nhost (one core, ledger on disk), as fast as it answers:")
    print(f"  {count / elapsed:,.0f} durable authorizations/s")
    print(
        f"  latency: p50 {p50 * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms, max {ordered[-1] * 1000:.2f} ms"
    )
    steady = sorted(paced)
    print(f"at {args.rate:,.0f} requests/s offered ({len(paced) / paced_elapsed:,.0f}/s answered):")
    print(
        f"  latency: p50 {steady[len(steady) // 2] * 1000:.2f} ms,"
        f" p99 {steady[int(len(steady) * 0.99)] * 1000:.2f} ms, max {steady[-1] * 1000:.2f} ms"
    )
    print(f"host CPU: {cpu:.2f} s for {count} ({cpu / count * 1e6:.0f} us each)")
    print(f"host's own count: {stderr.strip().splitlines()[-1] if stderr.strip() else '-'}")
    request = streams[0][0][2:]
    floor = library_floor(request, sample)
    print(
        f"\npyiso8583 floor, decode request + encode answer: {floor:,.0f}/s ({1e6 / floor:.0f} us)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
