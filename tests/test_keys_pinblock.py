"""ISO 9564-1 PIN blocks: published vectors, every format round trips, damage is caught."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keys.cipher import tdes_ecb_encrypt
from keys.errors import PinBlockError
from keys.pin import Pin
from keys.pinblock import decipher_iso4, decode_pin_block, encipher_iso4, encode_pin_block
from protocols.errors import FieldError

pins = st.text(st.sampled_from("0123456789"), min_size=4, max_size=12).map(Pin)
pans = st.text(st.sampled_from("0123456789"), min_size=12, max_size=19)


def fixed(data: str):  # type: ignore[no-untyped-def]
    return lambda n: bytes.fromhex(data)[:n]


def test_format0_ansi_x9_24_1_annex_a() -> None:
    # ANSI X9.24-1-2009 Annex A (A.4): PIN 1234, PAN 4012345678909, formatted PIN block
    # 041274EDCBA9876F, encrypted under the PIN key of KSN FFFF9876543210E00001.
    block = encode_pin_block(Pin("1234"), 0, "4012345678909")
    assert block.hex().upper() == "041274EDCBA9876F"
    pin_key = bytes.fromhex("042666B49184CF5C68DE9628D0397B36")
    assert tdes_ecb_encrypt(pin_key, block).hex().upper() == "1B9C1845EB993A7A"


def test_format4_ansi_x9_24_3_supplement() -> None:
    # ANSI X9.24-3-2017 test vector supplement, format 4 example: PIN 1234,
    # PAN 4111111111111111, random 2F69ADDE2E9E7ACE, PIN keys of counters 1 and 2.
    pan, random = "4111111111111111", fixed("2F69ADDE2E9E7ACE")
    for key, expected in (
        ("AF8CB133A78F8DC2D1359F18527593FB", "A912150391AB65A67E52883D81CE2D15"),
        ("D30BDC73EC9714B000BEC66BDB7B6D09", "52A00503BD34BA1383F6A7EE9FE2547F"),
    ):
        block = encipher_iso4(bytes.fromhex(key), Pin("1234"), pan, random=random)
        assert block.hex().upper() == expected
        assert decipher_iso4(bytes.fromhex(key), block, pan) == Pin("1234")


@pytest.mark.parametrize(
    ("block_format", "random", "expected"),
    [
        # Field layouts of ISO 9564-1:2017 section 9.3: control, length, PIN, fill; formats 0
        # and 3 XOR the PAN field 0000 || 12 rightmost digits without the check digit.
        (0, "", "041215FEDCBA9876"),
        (1, "FFFFFFFFFF", "141234FFFFFFFFFF"),
        (2, "", "241234FFFFFFFFFF"),
        (3, "0000000000", "341215AB89EFCD23"),
    ],
)
def test_format_layouts(block_format: int, random: str, expected: str) -> None:
    block = encode_pin_block(Pin("1234"), block_format, "5432101234567890", random=fixed(random))
    assert block.hex().upper() == expected
    assert decode_pin_block(block, block_format, "5432101234567890") == Pin("1234")


@given(pins, pans, st.sampled_from([0, 1, 2, 3]))
def test_formats_0_to_3_round_trip(pin: Pin, pan: str, block_format: int) -> None:
    block = encode_pin_block(pin, block_format, pan)
    assert decode_pin_block(block, block_format, pan) == pin


@given(pins, pans, st.binary(min_size=16, max_size=16))
def test_format4_round_trips(pin: Pin, pan: str, key: bytes) -> None:
    assert decipher_iso4(key, encipher_iso4(key, pin, pan), pan) == pin


@given(pins, st.binary(min_size=16, max_size=16), st.integers(0, 127))
def test_format4_damage_or_wrong_key_is_caught(pin: Pin, key: bytes, bit: int) -> None:
    pan = "4111111111111111"
    block = bytearray(encipher_iso4(key, pin, pan))
    block[bit // 8] ^= 1 << bit % 8
    try:
        assert decipher_iso4(key, bytes(block), pan) != pin
    except PinBlockError:
        pass


def test_format3_fill_is_random_a_to_f() -> None:
    fills = {encode_pin_block(Pin("1234"), 3, "4012345678909").hex() for _ in range(20)}
    assert len(fills) > 1


def test_wrong_pan_or_format_is_refused() -> None:
    block = encode_pin_block(Pin("1234"), 0, "4012345678909")
    with pytest.raises(PinBlockError):
        decode_pin_block(block, 0, "5432101234567890")
    with pytest.raises(PinBlockError):
        decode_pin_block(block, 1)


def test_pin_rules_and_no_digits_in_errors() -> None:
    for bad in ("123", "1234567890123", "12a4", ""):
        with pytest.raises(FieldError) as info:
            Pin(bad)
        assert bad == "" or bad not in str(info.value)
    assert "1234" not in repr(Pin("1234")) and "1234" not in str(Pin("1234"))
