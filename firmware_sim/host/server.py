"""``possim host``: the acquirer host as an asyncio TCP server. ISO 8583 messages behind a
2-byte length header come in on any number of connections; one writer thread puts every
message waiting at that moment through :class:`HostLedger` in one SQLite commit (group
commit: one fsync for many approvals), and only then are their answers written back.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from keys import KeyStore
from protocols.acquirer.codec import AcquirerFormatError, LengthPrefixedDecoder, frame

from .ledger import HostCounters, HostLedger

__all__ = ["AcquirerHost", "parse_listen"]

MAX_BATCH = 512  # messages in one commit at most


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``tcp://HOST:PORT``) -> (host, port); ValueError if not one.

    >>> parse_listen("tcp://127.0.0.1:8583"), parse_listen(":0")
    (('127.0.0.1', 8583), ('127.0.0.1', 0))
    """
    address = text.removeprefix("tcp://")
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"{text!r} is not HOST:PORT")
    return host or "127.0.0.1", int(port)


class AcquirerHost:
    """The host on ``ledger`` (an SQLite path). :meth:`serve` runs it on the current loop."""

    def __init__(
        self,
        ledger: str = ":memory:",
        store: KeyStore | None = None,
        clock: Callable[[], float] = time.time,
        delay: float = 0.0,
    ) -> None:
        self.ledger = HostLedger(ledger, store)
        self.delay = delay  # seconds each answer is held back after its commit: a slow host
        self._clock = clock
        self._pending: list[tuple[bytes, asyncio.Future[bytes | None]]] = []
        self._wake: asyncio.Event | None = None
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="possim-host-ledger")
        self.commits = 0
        self.server: asyncio.Server | None = None

    @property
    def counters(self) -> HostCounters:
        return self.ledger.counters

    async def start(self, host: str, port: int) -> tuple[str, int]:
        """Listen; the address actually bound (port 0 picks one)."""
        self._wake = asyncio.Event()
        self.server = await asyncio.start_server(self._connection, host, port)
        asyncio.get_running_loop().create_task(self._commit_loop())
        bound = self.server.sockets[0].getsockname()
        return str(bound[0]), int(bound[1])

    async def serve(self, host: str, port: int, ready: Callable[[str, int], None]) -> None:
        address = await self.start(host, port)
        ready(*address)
        assert self.server is not None
        async with self.server:
            await self.server.serve_forever()

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        self._writer.shutdown(wait=True)
        self.ledger.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.counters.connections += 1
        decoder = LengthPrefixedDecoder()
        try:
            while data := await reader.read(65536):
                for message in decoder.feed(data):
                    answer = await self._submit(message)
                    if answer is None:
                        raise AcquirerFormatError("no MTI to answer")
                    if self.delay:
                        await asyncio.sleep(self.delay)
                    writer.write(frame(answer))
                await writer.drain()
        except AcquirerFormatError:
            self.counters.connections_closed += 1
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _submit(self, message: bytes) -> bytes | None:
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self._pending.append((message, future))
        assert self._wake is not None
        self._wake.set()
        return await future

    async def _commit_loop(self) -> None:
        """Take every message waiting, handle them in one commit on the writer thread, then
        release their answers; meanwhile the next ones gather."""
        assert self._wake is not None
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                messages = [message for message, _ in batch]
                try:
                    answers = await loop.run_in_executor(self._writer, self._commit, messages)
                except Exception as e:  # noqa: BLE001 - the ledger cannot commit: nobody is answered
                    print(f"possim host: ledger error {type(e).__name__}", file=sys.stderr)
                    answers = [None] * len(batch)
                for (_, future), answer in zip(batch, answers, strict=True):
                    if not future.done():
                        future.set_result(answer)

    def _commit(self, messages: list[bytes]) -> list[bytes | None]:
        now = self._clock()
        with self.ledger.transaction():
            answers = [self.ledger.handle(message, now) for message in messages]
        self.commits += 1
        return answers
