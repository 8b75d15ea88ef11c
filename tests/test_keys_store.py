"""The key store: what it holds, what it shows, and what it refuses."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

import keys
from keys import KeyStore, Pin
from keys.errors import KeyBlockError, KeyUsageError, SecureElementError
from keys.tr31 import Operation
from protocols.codes import PinBlockFormat

DATA = Path(keys.__file__).parent / "data"
CLEAR_TEST_KEYS = {
    "0123456789ABCDEFFEDCBA9876543210",  # TDES BDK and the test issuer master key
    "6AC292FAA1315B4D858AB3A3D7D5933A",  # its IPEK
    "FEDCBA9876543210F1F1F1F1F1F1F1F1",  # AES BDK
    "1273671EA26AC29AFA4D1084127652A1",  # its initial key
    "2B7E151628AED2A6ABF7158809CF4F3C",  # the acquirer MAC key (NIST SP 800-38B D.1)
    "89ABCDEF0123456776543210FEDCBA98",  # the test issuer master key for secure messaging
}
PUBLIC_DATA = {"ca-keys.txt", "ca-keys.test.txt", "revoked-certificates.txt"}


def test_shipped_test_key_sets_are_the_published_ones() -> None:
    store = KeyStore.load()
    assert set(store) == {
        "tdes-dukpt-bdk",
        "tdes-dukpt-ipek",
        "aes-dukpt-bdk",
        "aes-dukpt-ik",
        "emv-issuer-mk-ac",
        "emv-issuer-mk-smi",
        "acquirer-mac",
        "emv-ca-a000000003-e1",
        "emv-issuer-rsa",
        "emv-icc-dda",
        "emv-icc-cda",
        "emv-icc-oda-bad-signature",
    }
    assert store["tdes-dukpt-bdk"].kcv == "08D7B4"
    assert store["tdes-dukpt-ipek"].header.block("KS") == "FFFF9876543210E00000"
    assert store["aes-dukpt-ik"].header.block("IK") == "1234567890123456"


def test_nothing_is_in_clear_on_disk_but_the_test_local_key() -> None:
    for path in DATA.iterdir():
        text = path.read_text().upper()
        assert not any(key in text for key in CLEAR_TEST_KEYS), path.name
        if path.name in PUBLIC_DATA:  # public keys and serials: no private key in them
            continue
        if path.name != "local-key.test.hex":
            assert path.suffix == ".tr31" and text.startswith("D")


def test_no_key_object_shows_key_bytes() -> None:
    store = KeyStore.load()
    shown = " ".join(
        [repr(store), repr(store.pin_pad()), repr(store.pin_verifier())]
        + [repr(store[name]) + str(store[name]) for name in store]
    ).upper()
    assert not any(key in shown for key in CLEAR_TEST_KEYS)
    for secret in (store["tdes-dukpt-bdk"], Pin("1234")):
        with pytest.raises(TypeError):
            pickle.dumps(secret)


def test_pin_pad_reproduces_the_x9_24_1_vector_and_the_verifier_checks_it() -> None:
    store = KeyStore.load()
    pad, verifier = store.pin_pad(), store.pin_verifier()
    block = pad.encrypt(Pin("1234"), "4012345678909", PinBlockFormat.ISO_0)
    assert (block.pin_block.hex().upper(), block.ksn.hex().upper()) == (
        "1B9C1845EB993A7A",
        "FFFF9876543210E00001",
    )
    assert verifier.matches(block, "4012345678909", Pin("1234"))
    assert not verifier.matches(block, "4012345678909", Pin("4321"))
    aes = pad.encrypt(Pin("987654"), "4111111111111111", PinBlockFormat.ISO_4)
    assert aes.ksn.hex().upper() == "123456789012345600000001"
    assert verifier.matches(aes, "4111111111111111", Pin("987654"))
    second = pad.encrypt(Pin("1234"), "4012345678909", PinBlockFormat.ISO_0)
    assert second.pin_block.hex().upper() == "10A01C8D02C69107"  # X9.24-1 Annex A, counter 2


def test_a_fleet_device_has_a_ksn_of_its_own_that_the_host_derives_from_the_bdk() -> None:
    # the device's IPEK is injected from the X9.24-1 test BDK; the X9.24-1 vector's device
    # (None) keeps the shipped IPEK, checked against the published blocks above
    store = KeyStore.load()
    verifier = store.pin_verifier()
    one, two = store.pin_pad(device=1), store.pin_pad(device=2)
    first = one.encrypt(Pin("1234"), "4012345678909", PinBlockFormat.ISO_0)
    other = two.encrypt(Pin("1234"), "4012345678909", PinBlockFormat.ISO_0)
    assert first.ksn.hex().upper() == "FFFF9876540000200001"  # key set FFFF987654, device 1
    assert other.ksn.hex().upper() == "FFFF9876540000400001"
    assert first.pin_block != other.pin_block
    assert verifier.matches(first, "4012345678909", Pin("1234"))
    aes = two.encrypt(Pin("987654"), "4111111111111111", PinBlockFormat.ISO_4)
    assert aes.ksn.hex().upper() == "123456780000000200000001"
    assert verifier.matches(aes, "4111111111111111", Pin("987654"))
    with pytest.raises(SecureElementError):
        store.pin_pad(device=1 << 19)


def test_a_key_serves_only_its_usage() -> None:
    store = KeyStore.load()
    with pytest.raises(KeyUsageError):
        store["emv-issuer-mk-ac"]._for(Operation.DERIVE_KEYS)
    with pytest.raises(KeyUsageError):
        store["tdes-dukpt-bdk"]._for(Operation.ENCRYPT_PIN)
    with pytest.raises(SecureElementError):
        store["no-such-key"]


def test_a_wrong_local_key_or_damaged_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyBlockError):
        KeyStore.load(DATA, local_key=bytes(32))
    (tmp_path / "local-key.test.hex").write_text((DATA / "local-key.test.hex").read_text())
    text = (DATA / "aes-dukpt-bdk.tr31").read_text().strip()
    (tmp_path / "aes-dukpt-bdk.tr31").write_text(text[:-1] + ("0" if text[-1] != "0" else "1"))
    with pytest.raises(KeyBlockError) as info:
        KeyStore.load(tmp_path)
    assert "aes-dukpt-bdk.tr31" in str(info.value)


def test_the_acquirer_mac_key_is_sp800_38b_example_key() -> None:
    # RFC 4493 section 4 example 2 (NIST SP 800-38B D.1, key 2b7e1516 28aed2a6 abf71588
    # 09cf4f3c): the MAC of 6bc1bee2... is 070a16b4 6b4d4144 f79bdd9d d04a287c; DE 64 holds
    # its first eight bytes.
    mac = KeyStore.load().message_authenticator()
    message = bytes.fromhex("6bc1bee22e409f96e93d7e117393172a")
    assert mac.mac(message).hex() == "070a16b46b4d4144"
    assert mac.verify(message, bytes.fromhex("070a16b46b4d4144"))
    assert not mac.verify(message, bytes.fromhex("070a16b46b4d4145"))
    assert "2B7E" not in repr(mac).upper()
