"""``AsyncTerminal``: the driver for asyncio programs. Each command runs the synchronous
driver in a worker thread, so the event loop never blocks on the serial line; prompts arrive
on an async iterator (or a callback) while a command runs.

    async with AsyncTerminal("/dev/pts/3") as terminal:
        sale = asyncio.create_task(terminal.sale("12.34", "EUR"))
        async for prompt in terminal.prompts(until=sale):
            print(prompt.text)
        outcome = await sale
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import serial

from keys.link_keys import PairingRecord
from protocols.codes import CancelOutcome, EntryMode, PinEntry
from protocols.messages import Prompt
from protocols.pairing_messages import PairingEntry

from .results import PinBlockResult, Settlement, TerminalInfo, TransactionOutcome
from .terminal import Amount, Terminal

__all__ = ["AsyncTerminal"]

T = TypeVar("T")


class AsyncTerminal:
    """The asyncio face of :class:`Terminal`; takes the same arguments."""

    def __init__(self, port: str | serial.SerialBase, **options: Any) -> None:
        self._port = port
        self._options = options
        self._terminal: Terminal | None = None
        self._prompts: asyncio.Queue[Prompt] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._callback: Callable[[Prompt], None] | None = options.pop("on_prompt", None)

    async def __aenter__(self) -> AsyncTerminal:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._terminal = await asyncio.to_thread(
            Terminal, self._port, on_prompt=self._on_prompt, **self._options
        )

    async def close(self) -> None:
        if self._terminal is not None:
            await asyncio.to_thread(self._terminal.close)

    def _on_prompt(self, prompt: Prompt) -> None:
        # called on the worker thread: hand over to the event loop
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._deliver, prompt)

    def _deliver(self, prompt: Prompt) -> None:
        if self._callback is not None:
            self._callback(prompt)
        self._prompts.put_nowait(prompt)

    async def prompts(self, until: asyncio.Future[Any] | None = None) -> AsyncIterator[Prompt]:
        """Prompts as they arrive; ends when ``until`` (a running command's task) is done."""
        while True:
            if until is not None and until.done() and self._prompts.empty():
                return
            getter = asyncio.ensure_future(self._prompts.get())
            waiting = {getter} if until is None else {getter, until}
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if getter.done():
                yield getter.result()
            else:
                getter.cancel()

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        assert self._terminal is not None, "use 'async with AsyncTerminal(...)' or await open()"
        return await asyncio.to_thread(fn, *args, **kwargs)

    @property
    def _t(self) -> Terminal:
        assert self._terminal is not None, "use 'async with AsyncTerminal(...)' or await open()"
        return self._terminal

    async def sale(
        self, amount: Amount, currency: str = "EUR", **kwargs: Any
    ) -> TransactionOutcome:
        return await self._call(self._t.sale, amount, currency, **kwargs)

    async def refund(
        self, amount: Amount, currency: str, reference: str, **kwargs: Any
    ) -> TransactionOutcome:
        return await self._call(self._t.refund, amount, currency, reference, **kwargs)

    async def preauth(
        self, amount: Amount, currency: str = "EUR", **kwargs: Any
    ) -> TransactionOutcome:
        return await self._call(self._t.preauth, amount, currency, **kwargs)

    async def increment(
        self, reference: str, amount: Amount, currency: str = "EUR", **kwargs: Any
    ) -> TransactionOutcome:
        return await self._call(self._t.increment, reference, amount, currency, **kwargs)

    async def complete(
        self, reference: str, amount: Amount, currency: str = "EUR", **kwargs: Any
    ) -> TransactionOutcome:
        return await self._call(self._t.complete, reference, amount, currency, **kwargs)

    async def release(
        self, reference: str, currency: str = "EUR", **kwargs: Any
    ) -> TransactionOutcome:
        return await self._call(self._t.release, reference, currency, **kwargs)

    async def void(self, reference: str, currency: str = "EUR", **kwargs: Any) -> TransactionOutcome:
        return await self._call(self._t.void, reference, currency, **kwargs)

    async def adjust_tip(
        self, reference: str, tip: Amount, currency: str = "EUR", **kwargs: Any
    ) -> TransactionOutcome:
        return await self._call(self._t.adjust_tip, reference, tip, currency, **kwargs)

    async def choose_tip(self, choice: int, tip: Amount = 0, currency: str = "EUR") -> None:
        await self._call(self._t.choose_tip, choice, tip, currency)

    async def pin_block(self, pan: str, format: int = 0) -> PinBlockResult:
        return await self._call(self._t.pin_block, pan, format)

    async def cancel(self) -> CancelOutcome:
        return await self._call(self._t.cancel)

    async def last(self) -> TransactionOutcome:
        return await self._call(self._t.last)

    async def lookup(self, client_transaction_id: str) -> TransactionOutcome:
        return await self._call(self._t.lookup, client_transaction_id)

    async def info(self) -> TerminalInfo:
        return await self._call(self._t.info)

    async def settle(self) -> Settlement:
        return await self._call(self._t.settle)

    async def login(self, password: str | None = None) -> None:
        await self._call(self._t.login, password)

    async def set_password(self, new: str, current: str = "") -> None:
        await self._call(self._t.set_password, new, current)

    async def pair(
        self, code: Callable[[], str], host_name: str | None = None
    ) -> PairingRecord:
        """Pair with the terminal; ``code()`` runs in a worker thread once the terminal shows
        its code (see Terminal.pair)."""
        return await self._call(self._t.pair, code, host_name)

    async def pairings(self) -> tuple[PairingEntry, ...]:
        return await self._call(self._t.pairings)

    async def revoke_pairing(self, pairing_id: str) -> tuple[PairingEntry, ...]:
        return await self._call(self._t.revoke_pairing, pairing_id)

    async def present_card(
        self, card: str = "default", entry_mode: EntryMode = EntryMode.CHIP
    ) -> None:
        await self._call(self._t.present_card, card, entry_mode)

    async def enter_pin(self, entry: PinEntry = PinEntry.CORRECT) -> None:
        await self._call(self._t.enter_pin, entry)

    async def remove_card(self) -> None:
        await self._call(self._t.remove_card)
