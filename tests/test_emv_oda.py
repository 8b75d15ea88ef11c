"""Offline data authentication, risk management and issuer scripts: the certificate
mathematics against data read from real cards (published with lumag/emv-tools), the shipped
CA key files against their checksums, possim's own test CA cross-checked with OpenSSL and
``cryptography``, and each catalogue card's TVR through a whole sale."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import keys
from firmware_sim.authorizer import BuiltInAuthorizer
from firmware_sim.cardholder import AutoCardholder, drain
from firmware_sim.cards import CATALOGUE, VirtualCard
from firmware_sim.catalogue import OdaFault
from firmware_sim.issuer import AuthorizationRequest, AuthorizationResponse
from firmware_sim.kernel import InProcessReader
from firmware_sim.kernel.settings import EmvSettings
from firmware_sim.oda_check import check_card
from firmware_sim.testing import make_core, shipped_store
from keys import KeyStore
from keys.capk import CaKeyFileError, parse_ca_keys, parse_revocations, shipped_ca_keys
from keys.oda import (
    CertificateError,
    issuer_certificate,
    parse_cda_dynamic_data,
    recover_dynamic_data,
    recover_icc_key,
    recover_issuer_key,
    recover_static_data,
    transaction_data_hash,
)
from keys.rsa import RsaPublicKey, generate_rsa_key
from keys.tr31 import Operation
from protocols.apdu import Ins
from protocols.codes import TransactionStatus
from protocols.messages import SaleRequest, TransactionResult
from protocols.tvr import TsiBit, Tvr, TvrBit
from tests.emv_client import flat, openssl_recover, sha1

# Source: lumag/emv-tools test/sda-test.c, dda-test.c, cda-test.c (commit fcd6aa0): records,
# certificates and signatures read from a Visa card (CA key A000000003 01) and a Mastercard
# (CA key A000000004 05), with the data each signature covers.
VECTORS = json.loads((Path(__file__).parent / "vectors" / "emv_tools_oda.json").read_text())


def _vector(name: str) -> dict[str, bytes]:
    return {k: bytes.fromhex(v) for k, v in VECTORS[name].items()}


def _ca(v: dict[str, bytes]) -> RsaPublicKey:
    return RsaPublicKey.from_bytes(v["ca_modulus"], v["ca_exponent"])


def _pan(v: dict[str, bytes]) -> str:
    return v["pan"].hex().upper().rstrip("F")


def test_sda_of_a_real_visa_card() -> None:
    v = _vector("sda")
    issuer = recover_issuer_key(
        _ca(v), v["issuer_cert"], v["issuer_rem"], v["issuer_exp"], pan=_pan(v), today=(2009, 12)
    )
    assert (issuer.issuer_id, issuer.expiry, issuer.key.size) == ("427655", "1209", 128)
    assert recover_static_data(issuer.key, v["ssad_cr"], v["ssd1"]) == b"12"  # DAC 3132
    with pytest.raises(CertificateError, match="expired 12/09"):
        recover_issuer_key(
            _ca(v), v["issuer_cert"], v["issuer_rem"], v["issuer_exp"], pan=_pan(v), today=(2010, 1)
        )
    with pytest.raises(CertificateError, match="hash"):  # one byte of the records changed
        recover_static_data(issuer.key, v["ssad_cr"], v["ssd1"][:-1] + b"\x01")


@pytest.mark.parametrize("name", ["dda", "cda"])
def test_dda_and_cda_of_a_real_mastercard(name: str) -> None:
    v = _vector(name)
    issuer = recover_issuer_key(
        _ca(v), v["issuer_cert"], v["issuer_rem"], v["issuer_exp"], pan=_pan(v), today=(2014, 1)
    )
    assert (issuer.issuer_id, issuer.serial.hex()) == ("528588", "006ee2")
    icc = recover_icc_key(
        issuer.key,
        v["icc_cert"],
        b"",
        v["icc_exp"],
        pan=_pan(v),
        static_data=v["ssd1"],
        today=(2014, 1),
    )
    dynamic = recover_dynamic_data(icc, v["sdad_cr"], v["dd1"])
    if name == "dda":
        assert dynamic[0] == len(dynamic) - 1  # the ICC dynamic number's length, then it
        return
    cda = parse_cda_dynamic_data(dynamic)
    assert cda.cid == 0x40  # a TC
    assert transaction_data_hash(v["crm1"], v["dd2"]) == cda.transaction_hash
    with pytest.raises(CertificateError):  # the wrong unpredictable number
        recover_dynamic_data(icc, v["sdad_cr"], bytes(4))


def test_the_shipped_scheme_keys_are_the_ones_real_cards_verify_under() -> None:
    shipped = shipped_ca_keys()
    for name in ("sda", "dda"):
        v = _vector(name)
        key = shipped[(v["ca_rid"], v["ca_index"][0])].key
        assert key.modulus_bytes == v["ca_modulus"]
    rids = {rid.hex().upper() for rid, _ in shipped}
    assert {"A000000003", "A000000004", "A000000025"} <= rids  # Visa, Mastercard, Amex


def test_a_ca_key_file_with_a_changed_digit_is_refused() -> None:
    text = (Path(keys.__file__).parent / "data" / "ca-keys.txt").read_text()
    lines = text.splitlines()
    number, line = next((i, line) for i, line in enumerate(lines, 1) if not line.startswith("#"))
    digit = "1" if line[-1] != "1" else "2"
    lines[number - 1] = line[:-1] + digit
    with pytest.raises(CaKeyFileError, match=f"line {number}: the checksum"):
        parse_ca_keys("\n".join(lines))
    with pytest.raises(CaKeyFileError, match="line 1"):
        parse_ca_keys("A000000003 01 03")
    assert parse_revocations("A000000003 E1 00000F # a comment\n\n") == {
        (bytes.fromhex("A000000003"), 0xE1, bytes.fromhex("00000F"))
    }


_CA, _ISSUER = generate_rsa_key(b"test ca", 1024), generate_rsa_key(b"test issuer", 896)


def _certificate(expiry: str = "1230", serial: bytes = b"\x00\x00\x01") -> tuple[bytes, bytes]:
    return issuer_certificate(_CA, _ISSUER.public, issuer_id="476173", expiry=expiry, serial=serial)


def test_issuer_certificate_checks() -> None:
    cert, rest = _certificate()
    e = _ISSUER.public.exponent_bytes
    good = recover_issuer_key(_CA.public, cert, rest, e, pan="4761739001010010", today=(2030, 12))
    assert good.key == _ISSUER.public
    for wrong, why in (
        ({"today": (2031, 1)}, "expired 12/30"),
        ({"pan": "5761739001010010"}, "does not match the PAN"),
        ({"revoked": {b"\x00\x00\x01"}}, "serial 000001 is revoked"),
    ):
        options = {"pan": "4761739001010010", "today": (2026, 11), **wrong}
        with pytest.raises(CertificateError, match=why):
            recover_issuer_key(_CA.public, cert, rest, e, **options)  # type: ignore[arg-type]
    with pytest.raises(CertificateError, match="hash"):  # a remainder cut short
        recover_issuer_key(_CA.public, cert, rest[:-1], e, pan="4761739001010010", today=(2026, 1))


@given(st.binary(min_size=0, max_size=200), st.integers(0, 127), st.integers(0, 255))
def test_any_damage_to_a_certificate_is_a_certificate_error(
    noise: bytes, position: int, flip: int
) -> None:
    cert, rest = _certificate()
    damaged = bytearray(cert)
    damaged[position % len(cert)] ^= flip or 1
    for candidate in (bytes(damaged), noise):
        with pytest.raises(CertificateError):
            recover_issuer_key(
                _CA.public, candidate, rest, b"\x03", pan="4761739001010010", today=(2026, 1)
            )


def test_possims_test_keys_agree_with_cryptography_and_openssl() -> None:
    """The test CA's private key (TR-31 block) loads in ``cryptography``, whose public
    numbers are the ones in ca-keys.test.txt; OpenSSL recovers a catalogue card's issuer
    certificate under that public key to a block whose SHA-1 (``cryptography``) matches."""
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    store = KeyStore.load()
    ca = shipped_ca_keys()[(bytes.fromhex("A000000003"), 0xE1)].key
    der = store["emv-ca-a000000003-e1"]._for(Operation.SIGN)
    numbers = load_der_private_key(der, None).private_numbers()  # type: ignore[union-attr]
    assert (numbers.public_numbers.n, numbers.public_numbers.e) == (ca.modulus, ca.exponent)
    card = VirtualCard(CATALOGUE["sda"], store)
    certificate = flat(card._personalised.records[(3, 1)])[0x90]
    block = openssl_recover(ca.modulus, ca.exponent, certificate)
    assert block[:2] == b"\x6a\x02" and block[-1] == 0xBC
    n = len(block)
    issuer_public = store.rsa_key("emv-issuer-rsa").public
    digits = block[15 : n - 21]
    remainder = issuer_public.modulus_bytes[len(digits) :]
    assert sha1(block[1 : n - 21], remainder, b"\x03") == block[n - 21 : n - 1]
    assert digits + remainder == issuer_public.modulus_bytes


# --- whole sales: the TVR each card's first GENERATE AC carries -----------------------------

NOW = 1_764_000_000.0  # 2025-11-24


@pytest.mark.parametrize(
    ("card", "tvr", "requested", "code"),
    [
        ("default", "8000048000", "ARQC", "00"),  # no ODA, online PIN, over the floor limit
        ("sda", "0208008000", "ARQC", "00"),  # SDA selected, a new card
        ("dda", "0008008000", "ARQC", "00"),
        ("cda", "0008008000", "ARQC", "00"),
        ("oda-bad-signature", "0808008000", "AAC", "Z1"),
        ("oda-expired-issuer", "4208008000", "AAC", "Z1"),
        ("oda-revoked", "4208008000", "AAC", "Z1"),
        ("oda-missing-data", "2808008000", "AAC", "Z1"),
    ],
)
def test_each_card_s_tvr_and_outcome(card: str, tvr: str, requested: str, code: str) -> None:
    seen: list[bytes] = []
    core = make_core(apdu_observer=lambda command, response: seen.append(command))
    core.handle_message(SaleRequest("T1", 1234, "EUR"), NOW)
    result = [m for m in drain(core, AutoCardholder(card), NOW) if isinstance(m, TransactionResult)]
    assert result[0].response_code == code
    first_ac = next(c for c in seen if c[1] == Ins.GENERATE_AC)
    assert first_ac[2] & 0xC0 == {"AAC": 0x00, "TC": 0x40, "ARQC": 0x80}[requested]
    assert first_ac[5 + 14 : 5 + 19].hex().upper() == tvr  # CDOL1: 95 after 9F02, 9F03, 9F1A
    if card == "cda":  # both GENERATE ACs asked for CDA
        assert [c[2] & 0x10 for c in seen if c[1] == Ins.GENERATE_AC] == [0x10, 0x10]


def test_a_cda_signature_that_fails_declines_and_closes_the_card_s_transaction() -> None:
    broken = replace(CATALOGUE["cda"], oda_fault=OdaFault.BAD_SIGNATURE)
    core = make_core(catalogue={**CATALOGUE, "cda": broken})
    seen: list[bytes] = []
    core.apdu_observer = lambda command, response: seen.append(command)
    core.handle_message(SaleRequest("T1", 1234, "EUR"), NOW)
    out = drain(core, AutoCardholder("cda"), NOW)
    result = next(m for m in out if isinstance(m, TransactionResult))
    assert (result.status, result.response_code) == (TransactionStatus.DECLINED, "Z1")
    acs = [c for c in seen if c[1] == Ins.GENERATE_AC]
    assert len(acs) == 2 and acs[1][2] & 0xC0 == 0x00  # the second asks for an AAC
    assert Tvr(acs[1][5 + 18 : 5 + 23]).has(TvrBit.CDA_FAILED)  # CDOL2: 95 after 8A, 91
    entry = core.journal.lookup("T1")
    assert entry is not None and any(
        "ODA" in line and "FAILED" in line for line in entry.merchant_receipt
    )


class TamperingAuthorizer(BuiltInAuthorizer):
    """The built-in authorizer whose script commands arrive with one MAC byte changed."""

    def authorize(self, request: AuthorizationRequest) -> AuthorizationResponse:
        response = super().authorize(request)
        if response.scripts:
            scripts = response.scripts[:-1] + bytes((response.scripts[-1] ^ 0xFF,))
            response = replace(response, scripts=scripts)
        return response


def test_a_script_with_a_bad_mac_is_refused_and_reported() -> None:
    core = make_core(authorizer=TamperingAuthorizer(shipped_store()))
    core.handle_message(SaleRequest("T1", 1234, "EUR"), NOW)
    drain(core, AutoCardholder("pin-blocked"), NOW)
    assert core.wallet["pin-blocked"].pin_tries == 0  # still blocked
    entry = core.journal.lookup("T1")
    assert entry is not None and entry.response_code == "75"
    # 9F5B: failed (1) at command 1, script 00000001; the TVR says so too
    assert any(line.endswith("1100000001") for line in entry.merchant_receipt)
    assert any(line.startswith("TVR") and line.endswith("10") for line in entry.merchant_receipt)


def test_the_unblock_script_reaches_the_card_through_the_iso8583_host(tmp_path: Path) -> None:
    """possim host answers with the script in DE 55; the terminal's acquirer client hands
    it to the card: PIN unblocked, and an offline approval goes back as a 0220 advice."""
    from firmware_sim.acquirer import AcquirerClient, Identity
    from tests.test_acquirer import running_host

    ledger = str(tmp_path / "ledger.sqlite")
    with running_host(ledger) as (_, url):
        client = AcquirerClient(
            url, str(tmp_path / "outbox.sqlite"), Identity("POSSIM01", "M1"), retry_interval=None
        )
        settings = EmvSettings(floor_limit=5000)
        core = make_core(authorizer=client, emv=settings)
        core.handle_message(SaleRequest("T1", 1234, "EUR"), NOW)
        drain(core, AutoCardholder("pin-blocked"), NOW)
        assert core.wallet["pin-blocked"].pin_tries == 3
        core.handle_message(SaleRequest("T2", 1234, "EUR"), NOW)
        out = drain(core, AutoCardholder("sda"), NOW)
        result = next(m for m in out if isinstance(m, TransactionResult))
        assert (result.response_code, result.auth_code) == ("Y1", "Y1")
        assert client.counters.advices_queued == 1 and not client.outbox.waiting()
        client.close()
    with sqlite3.connect(ledger) as db:
        rows = db.execute("SELECT response_code, status FROM ledger ORDER BY rowid").fetchall()
    assert rows == [("75", "declined"), ("00", "authorized")]  # the advice is recorded


def test_possim_oda_reads_a_catalogue_card() -> None:
    for card, verified in (("dda", True), ("oda-revoked", False)):
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "driver.cli",
                "oda",
                "--reader",
                "virtual",
                "--card",
                card,
                "--json",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        report = json.loads(out.stdout)
        assert report["verified"] is verified, report
    report = check_card(
        InProcessReader(VirtualCard(CATALOGUE["oda-missing-data"], shipped_store())),
        EmvSettings(),
        today=(2026, 11),
    )
    assert "9F46" in report.failure and Tvr(bytes.fromhex(report.tvr)).has(TvrBit.ICC_DATA_MISSING)


def test_a_trace_never_holds_the_icc_certificate_that_carries_the_pan() -> None:
    """The ICC certificate (9F46) holds the whole PAN, recoverable with the CA key and the
    issuer certificate beside it: the redaction zeroes it."""
    from firmware_sim.kernel import redact_response

    card = VirtualCard(CATALOGUE["dda"], shipped_store())
    record = card._personalised.records[(3, 2)]
    shown = flat(redact_response(record + b"\x90\x00")[:-2])
    assert shown[0x9F46] == bytes(len(flat(record)[0x9F46]))
    assert shown[0x9F47] == b"\x03"  # the rest stays readable for students


def test_docs_emv_names_every_bit_possim_sets() -> None:
    text = (Path(__file__).parent.parent / "docs" / "emv.md").read_text()
    unused = {
        TvrBit.VERSIONS_DIFFER,
        TvrBit.SERVICE_NOT_ALLOWED,
        TvrBit.UNRECOGNISED_CVM,
        TvrBit.PIN_PAD_MISSING,
        TvrBit.PIN_NOT_ENTERED,
        TvrBit.MERCHANT_FORCED_ONLINE,
        TvrBit.DEFAULT_TDOL_USED,
        TvrBit.ISSUER_AUTHENTICATION_FAILED,
    }
    for bit in TvrBit:
        if bit not in unused:
            byte, mask = bit.value
            assert f"| {byte} | {mask:02X} | {bit.label} |" in text, bit
    for tsi in TsiBit:
        assert f"| {tsi.value[0]} | {tsi.value[1]:02X} | {tsi.label} |" in text, tsi


def test_offline_approval_end_to_end_a_new_terminal_per_sale(tmp_path: Path) -> None:
    """possim terminal --floor-limit, driven over a pty: each sale in a new terminal process
    on the same journal; the card (and its offline counter) is new each time, so each sale is
    approved offline, and the journal keeps them all. Bad EMV options are refused."""
    from driver import Terminal, TransactionStatus
    from driver.testing import terminal_process

    journal = str(tmp_path / "journal.sqlite")
    for n in range(2):
        with terminal_process(
            "--card", "cda", "--journal", journal, "--floor-limit", "50.00"
        ) as port:
            with Terminal(port) as terminal:
                outcome = terminal.sale(1234, "EUR", client_transaction_id=f"T{n}")
                assert outcome.status is TransactionStatus.APPROVED
                assert (outcome.response_code, outcome.auth_code) == ("Y1", "Y1")
                assert any(line.startswith("TVR") for line in outcome.merchant_receipt)
                last = terminal.last()
                assert last is not None and last.client_transaction_id == f"T{n}"
    bad = tmp_path / "keys.txt"
    bad.write_text("A000000003 E1 03 301231 " + "00" * 20 + " " + "C5" * 128 + "\n")
    for args, words in (
        (["--floor-limit", "ten"], "--floor-limit"),
        (["--random-selection", "50,20"], "--random-selection"),
        (["--capk", str(bad)], "line 1: the checksum"),
        (["--capk", str(tmp_path / "none.txt")], "cannot read"),
    ):
        run = subprocess.run(
            [sys.executable, "-m", "driver.cli", "terminal", "--insecure", *args],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert run.returncode == 2 and words in run.stderr and run.stderr.count("\n") == 1, run


@pytest.mark.parametrize(
    ("amount", "drawn", "online"),
    [
        (2500, 33, True),  # 34 <= 20 + 30 * 2500 / 5000 = 35
        (2500, 35, False),  # 36 > 35
        (0, 19, True),  # 20 <= the target at the threshold
        (0, 20, False),
        (5000, 0, False),  # at the floor limit: no random selection (the floor limit decides)
    ],
)
def test_random_transaction_selection(amount: int, drawn: int, online: bool) -> None:
    """Book 3 10.6.2 with floor limit 50.00, threshold 0, target 20 %, maximum 50 %."""
    from firmware_sim.kernel.risk import random_selection

    settings = EmvSettings(floor_limit=5000, target_percentage=20, max_target_percentage=50)
    tvr = Tvr()
    random_selection(amount, settings, tvr, lambda n: bytes((drawn,)))
    assert tvr.has(TvrBit.RANDOMLY_SELECTED_ONLINE) is online


@given(st.text(max_size=300))
def test_any_ca_key_file_text_gives_keys_or_a_line_numbered_error(text: str) -> None:
    try:
        parse_ca_keys(text)
        parse_revocations(text)
    except CaKeyFileError as e:
        assert str(e).startswith("line ")


def test_scripts_before_the_final_generate_ac_and_their_results() -> None:
    """Template 71 runs before the second GENERATE AC (Book 3 10.10): a script stops at the
    first command the card refuses; 9F5B says 1n (failed at command n) or 20 (done), then the
    script's identifier; a failure before the final AC sets its own TVR bit."""
    from firmware_sim.kernel.contact import exchange_with
    from firmware_sim.kernel.generate_ac import run_scripts
    from protocols.tlv import encode_tlv
    from protocols.tvr import Tsi, TsiBit

    reader = InProcessReader(VirtualCard(CATALOGUE["default"], shipped_store()))
    reader.power_on()
    apdu = exchange_with(reader)
    ok = bytes.fromhex("80CA9F3600")  # GET DATA: the card answers 9000
    refused = bytes.fromhex("8424000008") + bytes(8)  # PIN UNBLOCK with no MAC worth the name
    scripts = encode_tlv(
        [
            (0x71, [(0x9F18, bytes.fromhex("00000007")), (0x86, ok), (0x86, refused), (0x86, ok)]),
            (0x71, [(0x9F18, bytes.fromhex("00000008")), (0x86, ok)]),
            (0x72, [(0x9F18, bytes.fromhex("00000009")), (0x86, ok)]),  # not this template's
        ]
    )
    tvr, tsi = Tvr(), Tsi()
    results = run_scripts(apdu, scripts, 0x71, tvr, tsi)
    assert results.hex().upper() == "1200000007" + "2000000008"
    assert tvr.has(TvrBit.SCRIPT_FAILED_BEFORE_FINAL_AC)
    assert not tvr.has(TvrBit.SCRIPT_FAILED_AFTER_FINAL_AC)
    assert tsi.has(TsiBit.SCRIPT_PROCESSING_PERFORMED)
