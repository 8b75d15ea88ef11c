"""MACs and EMV cryptograms against published examples; verification in constant time."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keys.emv import (
    derive_icc_master_key,
    derive_icc_master_key_option_a,
    derive_session_key,
    generate_ac,
    generate_arpc_method1,
    generate_arpc_method2,
    verify_ac,
)
from keys.mac import aes_cmac, mac_iso9797_1, mac_iso9797_3, pad_iso9797, tdes_cmac, verify_mac

K = bytes.fromhex("0123456789ABCDEF")
K2 = bytes.fromhex("FEDCBA9876543210")
NOW = b"Now is the time for all "


@pytest.mark.parametrize(
    ("data", "algorithm_1", "algorithm_3"),
    [
        # ISO/IEC 9797-1 Annex B examples (the ANSI X9.9 / X9.19 data "Now is the time for all "),
        # padding method 1, K = 0123456789ABCDEF, K' = FEDCBA9876543210.
        (NOW, "70A30640CC76DD8B", "A1C72E74EA3FA9B6"),
        (NOW + bytes.fromhex("ABCD"), "36611DBB2D0AC1E6", "1C050879D95816B8"),
    ],
)
def test_iso9797_algorithms_1_and_3(data: bytes, algorithm_1: str, algorithm_3: str) -> None:
    assert mac_iso9797_1(K, data).hex().upper() == algorithm_1
    assert mac_iso9797_3(K + K2, data).hex().upper() == algorithm_3


@pytest.mark.parametrize(
    ("message", "mac"),
    [
        # RFC 4493 section 4 (NIST SP 800-38B D.1), key 2b7e1516 28aed2a6 abf71588 09cf4f3c.
        ("", "bb1d6929e95937287fa37d129b756746"),
        ("6bc1bee22e409f96e93d7e117393172a", "070a16b46b4d4144f79bdd9dd04a287c"),
        (
            "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411",
            "dfa66747de9ae63030ca32611497c827",
        ),
        (
            "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411"
            "e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
            "51f0bebf7e3b9d92fc49741779363cfe",
        ),
    ],
)
def test_aes_cmac_rfc4493(message: str, mac: str) -> None:
    key = bytes.fromhex("2b7e151628aed2a6abf7158809cf4f3c")
    assert aes_cmac(key, bytes.fromhex(message)).hex() == mac


def test_tdes_cmac_sp800_38b() -> None:
    # NIST SP 800-38B D.4 (three-key TDEA), example 1: the empty message.
    key = bytes.fromhex("8aa83bf8cbda10620bc1bf19fbb6cd58bc313d4a371ca8b5")
    assert tdes_cmac(key, b"").hex() == "b7a688e122ffaf95"


def test_padding_methods() -> None:
    assert pad_iso9797(b"", 1) == bytes(8)
    assert pad_iso9797(bytes(8), 1) == bytes(8)
    assert pad_iso9797(b"\x12\x34", 2).hex() == "1234800000000000"
    assert pad_iso9797(bytes(8), 2) == bytes(8) + b"\x80" + bytes(7)


@given(st.binary(max_size=64), st.integers(0, 63))
def test_a_flipped_bit_changes_the_mac(data: bytes, bit: int) -> None:
    if not data:
        return
    damaged = bytearray(data)
    damaged[bit // 8 % len(data)] ^= 1 << bit % 8
    assert not verify_mac(mac_iso9797_3(K + K2, data, 2), mac_iso9797_3(K + K2, bytes(damaged), 2))


IMK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
SK = bytes.fromhex("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB")
ARQC_DATA = bytes.fromhex(
    "000000002000"  # 9F02 amount, authorised
    "000000000000"  # 9F03 amount, other
    "0124"  # 9F1A terminal country code
    "0000008000"  # 95 TVR
    "0124"  # 5F2A currency
    "110309"  # 9A date
    "00"  # 9C type
    "3804823E"  # 9F37 unpredictable number
    "5800"  # 82 AIP
    "0001"  # 9F36 ATC
)

# EMV 4.4 Book 2 specifies these algorithms (A1.3, A1.4, 8.1, 8.2) without numeric examples;
# the values are the worked examples of pyemv 1.5 (knovichikhin/pyemv docstrings), an
# independent implementation.


def test_icc_master_key_options_a_and_b() -> None:
    assert derive_icc_master_key_option_a(IMK, "12345678901234567", "01").hex().upper() == (
        "73AD54688CEF2934B0979857E3C719F1"
    )
    assert derive_icc_master_key(IMK, "12345678901234567", "01").hex().upper() == (
        "AD406D7F6D7570916D75E5DCAB8CF737"
    )
    # option B equals option A up to 16 digits
    assert derive_icc_master_key(IMK, "4761739001010010", "01") == derive_icc_master_key_option_a(
        IMK, "4761739001010010", "01"
    )


def test_common_session_key() -> None:
    assert derive_session_key(IMK, bytes.fromhex("001C")).hex().upper() == (
        "E9FB384AF807B940FEDCEA613461B0C4"
    )


def test_arqc_generation_and_verification() -> None:
    arqc = generate_ac(SK, ARQC_DATA)
    assert arqc.hex().upper() == "3B76CF10FECD8789"
    assert verify_ac(SK, ARQC_DATA, arqc)
    assert not verify_ac(SK, ARQC_DATA[:-1] + b"\x02", arqc)  # another ATC
    assert not verify_ac(bytes(16), ARQC_DATA, arqc)  # another key


def test_arpc_methods_1_and_2() -> None:
    arqc = bytes.fromhex("1234567890ABCDEF")
    assert (
        generate_arpc_method1(SK, arqc, bytes.fromhex("0000")).hex().upper() == "F5E6F44147E2F1B0"
    )
    assert generate_arpc_method2(SK, arqc, bytes(4)).hex().upper() == "9308BEBC"
