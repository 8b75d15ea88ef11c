"""The application's kinds through the driver (sync and asyncio) and the CLI, over real ptys:
a hotel stay, void, tips on the terminal and after, partial approval; each refusal a typed
error in the driver, a one-line message and exit status 2 from the CLI, and nothing changed."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest
from miniclient import possim

from driver import (
    AsyncTerminal,
    EntryMode,
    InputRejected,
    InvalidAmount,
    Terminal,
    TransactionStatus,
)
from driver.testing import simulated_terminal, terminal_process
from protocols.codes import TransactionKind
from protocols.errors import ErrorCode
from protocols.messages import TIP_CUSTOM

K = TransactionKind


def test_a_hotel_stay_through_the_driver() -> None:
    with simulated_terminal() as port, Terminal(port) as t:
        hold = t.preauth("50.00")
        assert (hold.kind, hold.approved, hold.approved_amount) == (K.PREAUTH, True, 5000)
        more = t.increment(hold.reference, "10.00")
        assert more.approved and more.original_reference == hold.reference
        stay = t.complete(hold.reference, "42.00", tip="5.00", client_transaction_id="stay-1")
        assert (stay.kind, stay.amount, stay.tip_amount, stay.masked_pan) == (
            K.COMPLETION,
            4200,
            500,
            hold.masked_pan,
        )
        assert stay.to_json() | {"receipt": [], "merchant_receipt": []} == {
            "kind": "completion",
            "status": "approved",
            "response_code": "00",
            "auth_code": stay.auth_code,
            "reference": stay.reference,
            "amount": "42.00",
            "requested_amount": "42.00",
            "approved_amount": "42.00",
            "tip_amount": "5.00",
            "original_reference": hold.reference,
            "currency": "EUR",
            "masked_pan": hold.masked_pan,
            "entry_mode": "none",
            "client_transaction_id": "stay-1",
            "receipt": [],
            "merchant_receipt": [],
        }
        # the same capture again is the stored one; another is refused
        assert t.complete(hold.reference, "42.00", tip="5.00", client_transaction_id="stay-1") == stay
        with pytest.raises(InputRejected) as refused:
            t.complete(hold.reference, "1.00")
        assert refused.value.code is ErrorCode.ORIGINAL_CLOSED
        settlement = t.settle()
        assert settlement.total(K.COMPLETION, "EUR") == (1, 4700)
        assert settlement.total(K.PREAUTH, "EUR") == (1, 5000)


def test_void_tip_partial_and_their_refusals_through_the_driver() -> None:
    with simulated_terminal() as port, Terminal(port) as t:
        sale = t.sale("10.00")
        tipped = t.adjust_tip(sale.reference, "1.50")
        assert (tipped.kind, tipped.tip_amount) == (K.TIP_ADJUST, 150)
        other = t.sale("7.00")
        void = t.void(other.reference)
        assert (void.kind, void.amount, void.approved) == (K.VOID, 700, True)
        for call, code in (
            (lambda: t.void(other.reference), ErrorCode.ORIGINAL_CLOSED),
            (lambda: t.increment(sale.reference, "1.00"), ErrorCode.ORIGINAL_WRONG_KIND),
            (lambda: t.release("000000000999"), ErrorCode.ORIGINAL_NOT_FOUND),
            (lambda: t.void(sale.reference, "JPY"), ErrorCode.CURRENCY_MISMATCH),
        ):
            with pytest.raises(InputRejected) as refused:
                call()
            assert refused.value.code is code
        with pytest.raises(InvalidAmount):
            t.adjust_tip(sale.reference, "-1")
        with pytest.raises(InvalidAmount):
            t.complete(sale.reference, "1.00", tip="1.234")
        partial = t.sale("20.10", allow_partial=True)
        assert (partial.response_code, partial.partial, partial.to_json()["approved_amount"]) == (
            "10",
            True,
            "10.05",
        )
        assert t.sale("20.10").status is TransactionStatus.DECLINED
        settlement = t.settle()
        assert settlement.total(K.SALE, "EUR") == (2, 1000 + 150 + 1005)
        with pytest.raises(InputRejected) as refused:
            t.adjust_tip(sale.reference, "2.00")
        assert refused.value.code is ErrorCode.ALREADY_SETTLED


def test_the_tip_screen_scripted_by_the_host() -> None:
    with simulated_terminal(cardholder="manual") as port, Terminal(port) as t:
        result: list[object] = []
        sale = threading.Thread(
            target=lambda: result.append(t.sale("12.00", tip_percentages=(10, 15, 20)))
        )
        sale.start()
        deadline = 50
        while t.status().state != "TIP_SELECTION" and deadline:
            deadline -= 1
            threading.Event().wait(0.05)
        with pytest.raises(InputRejected):
            t.choose_tip(4)  # only three were offered
        t.choose_tip(TIP_CUSTOM, "2.50")
        t.present_card("magstripe-only", EntryMode.SWIPE)
        t.enter_pin()
        sale.join(10)
        (outcome,) = result
        assert outcome.tip_amount == 250 and outcome.approved  # type: ignore[attr-defined]
        assert any(line.startswith("TOTAL") and "14.50" in line for line in outcome.receipt)  # type: ignore[attr-defined]


def test_the_async_api_has_every_kind() -> None:
    async def stay(port: str) -> tuple[int, int]:
        async with AsyncTerminal(port) as t:
            hold = await t.preauth("80.00")
            await t.increment(hold.reference, "20.00")
            done = await t.complete(hold.reference, "99.00", tip="1.00")
            sale = await t.sale("5.00", tip_percentages=(10,))
            await t.adjust_tip(sale.reference, "0.75")
            released = await t.preauth("10.00")
            await t.release(released.reference)
            voided = await t.void((await t.sale("3.00")).reference)
            return done.amount + done.tip_amount, voided.amount

    with simulated_terminal() as port:
        assert asyncio.run(stay(port)) == (10000, 300)


def test_every_new_cli_command_with_json(tmp_path: Path) -> None:
    with terminal_process("--port", "pty", "--journal", str(tmp_path / "j.sqlite")) as port:

        def run(*args: str) -> dict[str, object]:
            done = possim(*args, "--port", port, "--json")
            assert done.returncode == 0, done.stderr
            return json.loads(done.stdout)  # type: ignore[no-any-return]

        hold = run("preauth", "--amount", "50.00")
        assert (hold["kind"], hold["status"], hold["approved_amount"]) == ("preauth", "approved", "50.00")
        reference = str(hold["reference"])
        more = run("increment", "--reference", reference, "--amount", "10.00")
        assert (more["kind"], more["original_reference"]) == ("increment", reference)
        done = run("complete", "--reference", reference, "--amount", "42.00", "--tip", "5.00")
        assert (done["kind"], done["requested_amount"], done["tip_amount"]) == ("completion", "42.00", "5.00")
        assert any("TOTAL" in line and "47.00" in line for line in done["receipt"])  # type: ignore[attr-defined]
        # the issuer sees the total: 11.00 and the first offered tip, 10 %, make 12.10
        sale = run("sale", "--amount", "11.00", "--allow-partial", "--tip-prompt", "10,20")
        assert (sale["response_code"], sale["requested_amount"], sale["tip_amount"]) == ("10", "11.00", "1.10")
        assert sale["approved_amount"] == "4.95"  # half of 12.10, less the whole tip
        tip = run("tip", "--reference", str(sale["reference"]), "--tip", "3.00")
        assert (tip["kind"], tip["tip_amount"]) == ("tip", "3.00")
        other = run("preauth", "--amount", "9.00")
        assert run("release", "--reference", str(other["reference"]))["kind"] == "release"
        void = run("void", "--reference", str(done["reference"]))
        assert (void["kind"], void["amount"]) == ("void", "47.00")
        settle = run("settle")
        assert {"currency": "EUR", "kind": "sale", "count": 1, "total": "7.95"} in settle["totals"]  # type: ignore[operator]
        assert not [line for line in settle["totals"] if line["kind"] == "completion"]  # type: ignore[index, union-attr]
        # refusals: one line on stderr, exit status 2, nothing changed
        for args, name in (
            (("complete", "--reference", reference, "--amount", "1.00"), "ORIGINAL_CLOSED"),
            (("void", "--reference", str(sale["reference"])), "ALREADY_SETTLED"),
            (("increment", "--reference", "000000000777", "--amount", "1.00"), "ORIGINAL_NOT_FOUND"),
            (("tip", "--reference", str(void["reference"]), "--tip", "1.00"), "ORIGINAL_WRONG_KIND"),
            (("tip", "--reference", reference, "--tip", "1e3"), "INVALID_AMOUNT"),
            (("sale", "--amount", "1.00", "--tip-prompt", "10,200"), "INVALID_FIELD"),
        ):
            refused = possim(*args, "--port", port)
            assert refused.returncode == 2, (args, refused.stderr)
            lines = refused.stderr.strip().splitlines()
            assert len(lines) == 1 and name in lines[0], refused.stderr
        last = run("last")
        assert last["kind"] == "void"
