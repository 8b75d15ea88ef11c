"""The driver against the simulator over real ptys and socket://: the whole API, prompts,
cancel, timeouts, a dropped line recovered, asyncio, the pytest fixture, and the CLI."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from miniclient import possim

from driver import (
    AsyncTerminal,
    CancelOutcome,
    EntryMode,
    InputRejected,
    LineLost,
    OutcomeUnknown,
    PinEntry,
    Terminal,
    TerminalTimeout,
    TransactionStatus,
)
from driver.testing import simulated_terminal, terminal_process
from protocols.codes import PROTOCOL_VERSION, TransactionKind
from protocols.errors import ErrorCode
from protocols.messages import Prompt


def test_the_whole_api_over_a_pty() -> None:
    prompts: list[str] = []
    with (
        simulated_terminal() as port,
        Terminal(port, on_prompt=lambda p: prompts.append(p.text)) as t,
    ):
        info = t.info()
        assert (info.protocol_version, info.serial_number) == (PROTOCOL_VERSION, "PSM00000001")
        sale = t.sale("12.34", "EUR")
        assert (sale.status, sale.response_code, sale.amount, sale.currency) == (
            TransactionStatus.APPROVED,
            "00",
            1234,
            "EUR",
        )
        assert "INSERT, SWIPE OR TAP CARD" in prompts and "ENTER PIN" in prompts
        assert "EUR 12.34" in sale.receipt and len(sale.auth_code) == 6
        declined = t.sale(1251, "EUR")  # minor units
        assert (declined.status, declined.response_code) == (TransactionStatus.DECLINED, "51")
        refund = t.refund("2.34", "EUR", sale.reference)
        assert refund.approved and refund.original_reference == sale.reference
        with pytest.raises(InputRejected) as info_error:
            t.refund("10.01", "EUR", sale.reference)
        assert info_error.value.code is ErrorCode.REFUND_EXCEEDS_SALE
        assert t.last() == refund
        assert t.lookup(sale.client_transaction_id) == sale
        block = t.pin_block("4012345678909", 4)
        assert (len(block.pin_block), block.ksn.hex().upper()) == (16, "123456789012345600000001")
        settlement = t.settle()
        assert settlement.total(TransactionKind.SALE, "EUR") == (1, 1234)
        assert settlement.total(TransactionKind.REFUND, "EUR") == (1, 234)
        assert t.cancel() is CancelOutcome.NOTHING_RUNNING


def test_input_is_checked_before_it_is_sent() -> None:
    with simulated_terminal() as port, Terminal(port) as t:
        for call, code in (
            (lambda: t.sale("0", "EUR"), ErrorCode.INVALID_AMOUNT),
            (lambda: t.sale("12.345", "EUR"), ErrorCode.INVALID_AMOUNT),
            (lambda: t.sale("1.5", "JPY"), ErrorCode.INVALID_AMOUNT),
            (lambda: t.sale("1", "XXX"), ErrorCode.INVALID_CURRENCY),
            (lambda: t.sale(10**12, "EUR"), ErrorCode.INVALID_AMOUNT),
            (
                lambda: t.sale("1", "EUR", client_transaction_id="x" * 33),
                ErrorCode.INVALID_TRANSACTION_ID,
            ),
            (lambda: t.pin_block("4012345678900"), ErrorCode.INVALID_PAN),
            (lambda: t.pin_block("4012345678909", 1), ErrorCode.INVALID_PIN_BLOCK_FORMAT),
            (lambda: t.refund("1", "EUR", "not-a-ref!"), ErrorCode.INVALID_REFERENCE),
            (lambda: t.lookup("nope"), ErrorCode.UNKNOWN_TRANSACTION),
            (lambda: t.last(), ErrorCode.NO_TRANSACTION),
        ):
            with pytest.raises(InputRejected) as info:
                call()
            assert info.value.code is code
        assert t.sale("1", "JPY").approved  # JPY has no decimals


def test_contactless_and_qr_through_the_terminal_process(tmp_path: Path) -> None:
    display = tmp_path / "display.txt"
    with terminal_process("--port", "pty", "--entry", "qr", "--display", str(display)) as port:
        with Terminal(port) as t:
            outcome = t.sale("12.34", "EUR", client_transaction_id="QR-1")
            assert (outcome.status, outcome.entry_mode) == (
                TransactionStatus.APPROVED,
                EntryMode.QR,
            )
    drawn = display.read_text(encoding="utf-8")
    assert "█" in drawn or "▀" in drawn  # the QR symbol, drawn in block characters
    payload = drawn.strip().splitlines()[-1]
    assert payload.startswith("000201010212") and "540512.34" in payload and "0504QR-1" in payload
    with terminal_process("--port", "pty", "--entry", "tap") as port, Terminal(port) as t:
        assert t.sale("60.00", "EUR").entry_mode is EntryMode.TAP


def test_socket_url_and_no_terminal() -> None:
    with terminal_process("--port", "listen://127.0.0.1:0") as port, Terminal(port) as t:
        assert port.startswith("socket://")
        sale = t.sale("3.00", "EUR")
        assert sale.approved and t.info().protocol_version == PROTOCOL_VERSION
        assert t.refund("1.00", "EUR", sale.reference).approved
        assert t.lookup(sale.client_transaction_id) == sale
        assert t.last().amount == 100
        assert len(t.pin_block("4012345678909").pin_block) == 8
        assert t.settle().total(TransactionKind.SALE, "EUR") == (1, 300)
    with pytest.raises(LineLost):
        Terminal("socket://127.0.0.1:9")


def test_the_integrator_plays_the_cardholder_and_cancels() -> None:
    with simulated_terminal(cardholder="manual") as port, Terminal(port) as t:
        outcome: list[object] = []
        seen = threading.Event()

        def on_prompt(prompt: Prompt) -> None:
            if prompt.text.startswith("INSERT"):
                seen.set()

        worker = threading.Thread(
            target=lambda: outcome.append(t.sale("9.99", "EUR", on_prompt=on_prompt))
        )
        worker.start()
        assert seen.wait(5)
        t.present_card("offline-pin", EntryMode.CHIP)
        t.enter_pin(PinEntry.CORRECT)
        worker.join(10)
        assert outcome[0].approved  # type: ignore[attr-defined]
        t.remove_card()
        # cancel while the terminal waits for a card
        seen.clear()
        outcome.clear()
        worker = threading.Thread(
            target=lambda: outcome.append(t.sale("5.00", "EUR", on_prompt=on_prompt))
        )
        worker.start()
        assert seen.wait(5)
        assert t.cancel() is CancelOutcome.CANCELLED
        worker.join(10)
        assert outcome[0].status is TransactionStatus.CANCELLED  # type: ignore[attr-defined]
        with pytest.raises(InputRejected) as info:
            t.present_card("no-such-card")
        assert (
            info.value.code is ErrorCode.NOT_ALLOWED_NOW
            or info.value.code is ErrorCode.UNKNOWN_CARD
        )


def test_timeout_then_cancel_returns_to_idle() -> None:
    with simulated_terminal(cardholder="manual") as port, Terminal(port) as t:
        with pytest.raises(TerminalTimeout):
            t.sale("1.00", "EUR", timeout=0.5)
        with pytest.raises(InputRejected) as busy:
            t.sale("1.00", "EUR")
        assert busy.value.code is ErrorCode.BUSY
        assert t.cancel() is CancelOutcome.CANCELLED
        assert t.info().protocol_version == PROTOCOL_VERSION


def test_a_dropped_line_mid_sale_is_recovered_by_lookup(tmp_path: Path) -> None:
    journal = str(tmp_path / "journal.sqlite")
    with terminal_process(
        "--port", "pty", "--journal", journal, "--authorizer-latency", "1"
    ) as port:
        t = Terminal(port, reconnect=True, reconnect_within=15)

        def drop_the_line(prompt: Prompt) -> None:
            if prompt.text == "AUTHORISING":
                t._line.serial.close()  # the cable is pulled while the host decides

        outcome = t.sale("12.34", "EUR", client_transaction_id="DROP1", on_prompt=drop_the_line)
        assert (outcome.client_transaction_id, outcome.status) == (
            "DROP1",
            TransactionStatus.APPROVED,
        )
        assert outcome.receipt  # learnt from the journal, receipt included
        assert t.sale("12.34", "EUR", client_transaction_id="DROP1") == outcome  # never twice
        t.close()
        without = Terminal(port)

        def drop(prompt: Prompt) -> None:
            if prompt.text == "AUTHORISING":
                without._line.serial.close()

        with pytest.raises(OutcomeUnknown) as unknown:
            without.sale("1.00", "EUR", client_transaction_id="DROP2", on_prompt=drop)
        assert unknown.value.client_transaction_id == "DROP2"


def test_the_host_shows_authorising_while_the_issuer_decides() -> None:
    """AUTHORISING reaches the host before the terminal's authorizer answers (an acquirer
    over a network can take seconds; here the built-in one with latency added), not with
    the outcome afterwards."""
    from firmware_sim.runner import TerminalConfig, TerminalRunner

    seen = threading.Event()

    class WaitsForTheHostsDisplay:
        """The terminal's authorizer, answering once the host has shown AUTHORISING (or
        after 5 s, when it never will)."""

        def __init__(self, inner: Any) -> None:
            self.inner, self.shown_first = inner, False

        def authorize(self, request: Any) -> Any:
            self.shown_first = seen.wait(5)
            return self.inner.authorize(request)

        def reverse(self, reference: str) -> bool:
            return bool(self.inner.reverse(reference))

    config = TerminalConfig(port="pty", insecure=True, authorizer_latency=0.01)
    runner = TerminalRunner(config)
    gate = WaitsForTheHostsDisplay(runner.core.authorizer)
    runner.core.authorizer = gate
    runner.start()
    try:

        def show(prompt: Prompt) -> None:
            if prompt.text == "AUTHORISING":
                seen.set()

        with Terminal(runner.port.name, on_prompt=show) as t:
            t.info()  # a host that has talked to the terminal before: the window is open
            assert t.sale("12.34", "EUR").approved
    finally:
        runner.stop()
    assert gate.shown_first


def test_async_terminal_with_prompt_iterator_and_cancel() -> None:
    async def scenario(port: str) -> None:
        async with AsyncTerminal(port) as terminal:
            sale = asyncio.create_task(terminal.sale("12.34", "EUR"))
            texts = [prompt.text async for prompt in terminal.prompts(until=sale)]
            outcome = await sale
            assert outcome.approved and "ENTER PIN" in texts
            assert (await terminal.info()).protocol_version == PROTOCOL_VERSION

    with simulated_terminal() as port:
        asyncio.run(scenario(port))

    async def cancelling(port: str) -> None:
        async with AsyncTerminal(port) as terminal:
            sale = asyncio.create_task(terminal.sale("1.00", "EUR"))
            async for prompt in terminal.prompts(until=sale):
                if prompt.text.startswith("INSERT"):
                    assert await terminal.cancel() is CancelOutcome.CANCELLED
            assert (await sale).status is TransactionStatus.CANCELLED

    with simulated_terminal(cardholder="manual") as port:
        asyncio.run(cancelling(port))


def test_the_shipped_pytest_fixture(possim_terminal: str) -> None:
    with Terminal(possim_terminal) as terminal:
        assert terminal.sale("12.34", "EUR").approved


cli = possim


def test_every_cli_command_with_json_field_by_field(tmp_path: Path) -> None:
    with terminal_process("--port", "pty", "--journal", str(tmp_path / "j.sqlite")) as port:
        sale = cli("sale", "--port", port, "--amount", "12.34", "--currency", "EUR", "--json")
        assert sale.returncode == 0, sale.stderr
        data = json.loads(sale.stdout)
        assert set(data) >= {
            "status",
            "response_code",
            "auth_code",
            "reference",
            "amount",
            "currency",
            "masked_pan",
            "entry_mode",
            "receipt",
            "merchant_receipt",
        }
        assert "CARDHOLDER COPY" in data["receipt"]
        assert "MERCHANT COPY" in data["merchant_receipt"]
        assert (data["status"], data["response_code"], data["amount"], data["currency"]) == (
            "approved",
            "00",
            "12.34",
            "EUR",
        )
        assert (data["masked_pan"], data["entry_mode"]) == ("476173******0010", "chip")
        assert len(data["auth_code"]) == 6 and data["reference"].isdigit()
        assert "APPROVED" in data["receipt"] and "[terminal] ENTER PIN" in sale.stderr
        declined = json.loads(cli("sale", "--port", port, "--amount", "20.51", "--json").stdout)
        assert (declined["status"], declined["response_code"], declined["auth_code"]) == (
            "declined",
            "51",
            "",
        )
        refund = cli(
            "refund", "--port", port, "--amount", "2.00", "--reference", data["reference"], "--json"
        )
        assert refund.returncode == 0 and json.loads(refund.stdout)["status"] == "approved"
        last = json.loads(cli("last", "--port", port, "--json").stdout)
        assert (last["amount"], last["status"]) == ("2.00", "approved")
        block = cli("pin-block", "--port", port, "--pan", "4012345678909", "--json")
        # DUKPT counters 1 and 2 went to the two sales' online PINs: ANSI X9.24-1 Annex A, 3
        assert json.loads(block.stdout) == {
            "pin_block": "18DC07B94797B466",
            "ksn": "FFFF9876543210E00003",
            "format": 0,
        }
        info = json.loads(cli("info", "--port", port, "--json").stdout)
        assert (info["protocol_version"], info["serial_number"]) == (PROTOCOL_VERSION, "PSM00000001")
        assert {"chip", "swipe", "pin_pad", "simulation_control"} <= set(info["capabilities"])
        cancel = cli("cancel", "--port", port)
        assert (cancel.returncode, cancel.stdout.strip()) == (0, "nothing_running")
        settle = json.loads(cli("settle", "--port", port, "--json").stdout)
        assert settle["totals"] == [
            {"currency": "EUR", "kind": "sale", "count": 1, "total": "12.34"},
            {"currency": "EUR", "kind": "refund", "count": 1, "total": "2.00"},
        ]
        text = cli("sale", "--port", port, "--amount", "1.00")
        assert text.returncode == 0 and text.stdout.startswith("approved 00 EUR 1.00")


def test_cli_errors_are_one_line_with_their_exit_status() -> None:
    with terminal_process("--port", "pty") as port:
        for args, status in (
            (["sale", "--port", port, "--amount", "12.345"], 2),
            (["sale", "--port", port, "--amount", "1", "--currency", "XYZ"], 2),
            (["refund", "--port", port, "--amount", "1", "--reference", "000000000099"], 2),
            (["pin-block", "--port", port, "--pan", "1234"], 2),
            (["sale", "--port", port], 2),
            (["sale", "--port", "socket://127.0.0.1:9", "--amount", "1"], 3),
            (["trace", "x"], 2),
        ):
            result = cli(*args)
            assert result.returncode == status, (args, result.stderr)
            assert len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)
            assert result.stderr.startswith("possim: ")


def test_demo_runs_end_to_end() -> None:
    result = cli("demo", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["sale"]["status"] == "approved" and data["refund"]["status"] == "approved"
    assert data["pin_block"]["ksn"] == "FFFF9876543210E00002"


def test_time_is_spent_waiting_not_spinning() -> None:
    with simulated_terminal(cardholder="manual") as port, Terminal(port) as t:
        started = time.process_time()
        with pytest.raises(TerminalTimeout):
            t.sale("1.00", "EUR", timeout=1.0)
        assert time.process_time() - started < 0.5  # the driver sleeps in read(), it does not spin
        t.cancel()
