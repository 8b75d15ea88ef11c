"""DUKPT, TDES (ANSI X9.24-1-2009) and AES (ANSI X9.24-3-2017): published vectors, and the
originating device agrees with the host transaction by transaction."""

from __future__ import annotations

import pytest

from keys.cipher import tdes_cbc_encrypt, tdes_ecb_encrypt
from keys.dukpt_aes import AesDukptDevice, AesDukptHost, KeyType, KeyUsage
from keys.dukpt_tdes import KeyVariant, TdesDukptDevice, TdesDukptHost, current_key
from keys.errors import DukptExhaustedError, SecureElementError
from keys.mac import mac_iso9797_3
from keys.pin import Pin
from keys.pinblock import encode_pin_block

TDES_BDK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
KSN0 = bytes.fromhex("FFFF9876543210E00000")
TDES = TdesDukptHost(TDES_BDK)


def ksn(counter_hex: str) -> bytes:
    return bytes.fromhex("FFFF9876543210" + counter_hex)


def test_tdes_initial_key() -> None:
    # ANSI X9.24-1-2009 Annex A: IPEK of BDK 0123...3210 and KSN FFFF9876543210E0000x.
    assert TDES.initial_key(ksn("E00001")).hex().upper() == "6AC292FAA1315B4D858AB3A3D7D5933A"


@pytest.mark.parametrize(
    ("counter", "key", "pin_block"),
    [
        # ANSI X9.24-1-2009 Annex A.4 (initial sequence): current key and the format 0 PIN
        # block of PIN 1234, PAN 4012345678909, encrypted under the PIN variant.
        ("E00001", "042666B49184CFA368DE9628D0397BC9", "1B9C1845EB993A7A"),
        ("E00002", "C46551CEF9FD24B0AA9AD834130D3BC7", "10A01C8D02C69107"),
        ("E00003", "0DF3D9422ACA56E547676D07AD6BADFA", "18DC07B94797B466"),
        ("E00004", "279C0F6AEED0BE652B2C733E1383AE91", "0BC79509D5645DF7"),
        ("E00005", "5F8DC6D2C845C125508DDC048093B83F", "5BC0AF22AD87B327"),
        ("EFF800", "F9CDFEBF4F5B1D9EB3EC12454527E176", "33365F5CC6F23C35"),
    ],
)
def test_tdes_current_keys_and_pin_blocks(counter: str, key: str, pin_block: str) -> None:
    k = ksn(counter)
    assert current_key(TDES.initial_key(k), k).hex().upper() == key
    clear = encode_pin_block(Pin("1234"), 0, "4012345678909")
    assert tdes_ecb_encrypt(TDES.working_key(k, KeyVariant.PIN), clear).hex().upper() == pin_block


def test_tdes_variants_mac_and_data() -> None:
    # ANSI X9.24-1-2009 Annex A, KSN FFFF9876543210E00001: the working keys of each variant,
    # the X9.19 request and response MACs and the TDES-CBC data of "4012345678909D987"
    # (values as reproduced by moov-io/dukpt's Annex A tests).
    k = ksn("E00001")
    expected = {
        KeyVariant.PIN: "042666B49184CF5C68DE9628D0397B36",
        KeyVariant.MAC_REQUEST: "042666B4918430A368DE9628D03984C9",
        KeyVariant.MAC_RESPONSE: "042666B46E84CFA368DE96282F397BC9",
        KeyVariant.DATA_REQUEST: "448D3F076D8304036A55A3D7E0055A78",
    }
    for variant, key in expected.items():
        assert TDES.working_key(k, variant).hex().upper() == key
    data = b"4012345678909D987"
    assert mac_iso9797_3(TDES.working_key(k, KeyVariant.MAC_REQUEST), data).hex().upper() == (
        "9CCC78173FC4FB64"
    )
    assert mac_iso9797_3(TDES.working_key(k, KeyVariant.MAC_RESPONSE), data).hex().upper() == (
        "20364223C1FF00FA"
    )
    encrypted = tdes_cbc_encrypt(TDES.working_key(k, KeyVariant.DATA_REQUEST), data + bytes(7))
    assert encrypted.hex().upper() == "FC0D53B7EA1FDA9EE68AAF2E70D9B9506229BE2AA993F04F"


def test_tdes_device_matches_host_for_3000_transactions() -> None:
    device = TdesDukptDevice(TDES.initial_key(KSN0), KSN0)
    for _ in range(3000):
        key, k = device.next_key(KeyVariant.PIN)
        counter = int.from_bytes(k[7:], "big") & 0x1FFFFF
        assert bin(counter).count("1") <= 10
        assert key == TDES.working_key(k, KeyVariant.PIN)
    assert device._keys.held() <= 21


def _tdes_device_at(counter: int) -> TdesDukptDevice:
    """A device whose next transaction is ``counter`` (its register filled as the host would)."""
    device = TdesDukptDevice(TDES.initial_key(KSN0), KSN0)
    k = ksn(f"{0xE00000 | counter:06X}")
    device._keys._set(counter, current_key(TDES.initial_key(k), k))
    return device


def test_tdes_counter_with_ten_one_bits_skips_ahead() -> None:
    device = _tdes_device_at(0x3FF)  # ten one-bits: the next counter is 0x400, not 0x400|1
    device.next_key(KeyVariant.PIN)
    assert device.counter == 0x400
    key, k = device.next_key(KeyVariant.PIN)
    assert key == TDES.working_key(k, KeyVariant.PIN)


def test_tdes_device_is_exhausted_after_the_last_counter() -> None:
    device = _tdes_device_at(0x1FF800)  # the last counter with at most ten one-bits
    key, k = device.next_key(KeyVariant.PIN)
    assert key == TDES.working_key(k, KeyVariant.PIN)
    with pytest.raises(DukptExhaustedError):
        device.next_key(KeyVariant.PIN)


def test_tdes_host_refuses_counters_no_device_uses() -> None:
    with pytest.raises(SecureElementError):
        TDES.working_key(ksn("E00000"), KeyVariant.PIN)
    with pytest.raises(SecureElementError):
        TDES.working_key(ksn("E007FF"), KeyVariant.PIN)  # eleven one-bits


AES_BDK = bytes.fromhex("FEDCBA9876543210F1F1F1F1F1F1F1F1")
IKID = bytes.fromhex("1234567890123456")
AES = AesDukptHost(AES_BDK)


def test_aes_initial_keys() -> None:
    # ANSI X9.24-3-2017 Annex B / test vector supplement: initial keys of the AES-128 and the
    # AES-256 test BDK for initial key ID 1234567890123456.
    assert AES.initial_key(IKID).hex().upper() == "1273671EA26AC29AFA4D1084127652A1"
    aes256 = AesDukptHost(AES_BDK * 2)
    assert aes256.initial_key(IKID).hex().upper() == (
        "CE9CE0C101D1138F97FB6CAD4DF045A7083D4EAE2D35A31789D01CCF0949550F"
    )


@pytest.mark.parametrize(
    ("counter", "usage", "key"),
    [
        # ANSI X9.24-3-2017 test vector supplement, AES-128 BDK, AES-128 working keys.
        (1, KeyUsage.PIN_ENCRYPTION, "AF8CB133A78F8DC2D1359F18527593FB"),
        (1, KeyUsage.MAC_GENERATION, "A2DC23DE6FDE0824A2BC321E08E4B8B7"),
        (1, KeyUsage.DATA_ENCRYPTION_ENCRYPT, "A35C412EFD41FDB98B69797C02DCD08F"),
        (2, KeyUsage.PIN_ENCRYPTION, "D30BDC73EC9714B000BEC66BDB7B6D09"),
        (8, KeyUsage.PIN_ENCRYPTION, "4D9DF3FBEE3448FC3E676D04320A90F5"),
        (0x20000, KeyUsage.PIN_ENCRYPTION, "AB828BE7B58C7EC5D5ED0D5D320A0C9D"),
        (0x845FED, KeyUsage.PIN_ENCRYPTION, "D1DDA386AA4A556AF0119FDCB5D132C6"),
    ],
)
def test_aes_working_keys(counter: int, usage: KeyUsage, key: str) -> None:
    assert AES.working_key(IKID + counter.to_bytes(4, "big"), usage).hex().upper() == key


def test_aes_device_matches_host_for_3000_transactions() -> None:
    device = AesDukptDevice(AES.initial_key(IKID), IKID)
    for _ in range(3000):
        key, k = device.next_key(KeyUsage.PIN_ENCRYPTION)
        assert bin(int.from_bytes(k[8:], "big")).count("1") <= 16
        assert key == AES.working_key(k, KeyUsage.PIN_ENCRYPTION)


def test_aes_device_is_exhausted_after_the_last_counter() -> None:
    device = AesDukptDevice(AES.initial_key(IKID), IKID)
    last = 0xFFFF0000  # sixteen one-bits, the last counter
    device._keys._set(last, AES.derivation_key(IKID + last.to_bytes(4, "big")))
    key, k = device.next_key(KeyUsage.PIN_ENCRYPTION)
    assert key == AES.working_key(k, KeyUsage.PIN_ENCRYPTION)
    with pytest.raises(DukptExhaustedError):
        device.next_key(KeyUsage.PIN_ENCRYPTION)


def test_aes_working_key_no_stronger_than_its_derivation_key() -> None:
    with pytest.raises(SecureElementError):
        AES.working_key(IKID + bytes(3) + b"\x01", KeyUsage.PIN_ENCRYPTION, KeyType.AES256)
