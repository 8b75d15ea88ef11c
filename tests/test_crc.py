from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from reference import crc16_bitwise

from protocols.crc import CRC16_CHECK, crc16


def test_check_value_from_the_catalogue() -> None:
    # Source: Greg Cook, "Catalogue of parametrised CRC algorithms" (CRC RevEng),
    # CRC-16/IBM-3740: width=16 poly=0x1021 init=0xffff refin=false refout=false
    # xorout=0x0000 check=0x29b1.
    assert crc16(b"123456789") == CRC16_CHECK == 0x29B1
    assert crc16_bitwise(b"123456789") == 0x29B1


def test_empty_input_is_the_initial_value() -> None:
    assert crc16(b"") == 0xFFFF


@given(st.binary(max_size=600))
def test_matches_the_bitwise_definition(data: bytes) -> None:
    assert crc16(data) == crc16_bitwise(data)


@given(st.binary(min_size=1, max_size=64), st.integers(0, 7), st.data())
def test_every_single_bit_error_is_detected(data: bytes, bit: int, draw: st.DataObject) -> None:
    index = draw.draw(st.integers(0, len(data) - 1))
    damaged = bytearray(data)
    damaged[index] ^= 1 << bit
    assert crc16(bytes(damaged)) != crc16(data)
