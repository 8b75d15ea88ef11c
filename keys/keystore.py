"""The terminal's key store: every key is a TR-31 key block (version D) under a local key
protection key, read from files in ``keys/data``. Nothing is in clear on disk but the
documented test-only local key, ``keys/data/local-key.test.hex``.

The shipped key sets are the published test values of design.md:

| file | usage | the key inside |
|---|---|---|
| ``tdes-dukpt-bdk.tr31`` | B0, TDES | ANSI X9.24-1 test BDK ``0123456789ABCDEFFEDCBA9876543210`` |
| ``tdes-dukpt-ipek.tr31`` | B1, TDES, KS block | its IPEK for initial KSN ``FFFF9876543210E00000`` |
| ``aes-dukpt-bdk.tr31`` | B0, AES | ANSI X9.24-3 test BDK ``FEDCBA9876543210F1F1F1F1F1F1F1F1`` |
| ``aes-dukpt-ik.tr31`` | B1, AES, IK block | its initial key for initial key ID ``1234567890123456`` |
| ``emv-issuer-mk-ac.tr31`` | E0, TDES | test issuer master key ``0123456789ABCDEFFEDCBA9876543210`` |
| ``acquirer-mac.tr31`` | M6, AES | the ISO 8583 MAC key (DE 64): NIST SP 800-38B's CMAC example key ``2B7E151628AED2A6ABF7158809CF4F3C`` |

>>> store = KeyStore.load()
>>> store["tdes-dukpt-bdk"]
StoredKey('tdes-dukpt-bdk', usage=B0, algorithm=T, mode=X, kcv=08D7B4)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from protocols.codes import PinBlockFormat

from .cipher import tdes_ecb_decrypt, tdes_ecb_encrypt
from .cryptograms import CardKeys, IssuerKeys
from .dukpt_aes import AesDukptDevice, AesDukptHost, KeyUsage
from .dukpt_tdes import KeyVariant, TdesDukptDevice, TdesDukptHost, initial_key
from .emv import derive_icc_master_key
from .errors import KeyBlockError, PinBlockError, SecureElementError
from .mac import aes_cmac, verify_mac
from .pin import Pin
from .pinblock import decipher_iso4, decode_pin_block, encipher_iso4, encode_pin_block
from .rsa import RsaPrivateKey
from .tr31 import KeyBlockHeader, Operation, key_check_value, require_use, unwrap

__all__ = [
    "StoredKey",
    "KeyStore",
    "EncryptedPinBlock",
    "PinPad",
    "PinVerifier",
    "MessageAuthenticator",
]

LOCAL_KEY_FILE = "local-key.test.hex"


class StoredKey:
    """A key from the store with its TR-31 header. Its bytes are handed out only for an
    operation its usage and mode of use allow, and only inside keys/."""

    __slots__ = ("name", "header", "_key")

    def __init__(self, name: str, header: KeyBlockHeader, key: bytes) -> None:
        self.name = name
        self.header = header
        self._key = key

    @property
    def kcv(self) -> str:
        return key_check_value(self._key, self.header.algorithm).hex().upper()

    def __repr__(self) -> str:
        h = self.header
        return (
            f"StoredKey({self.name!r}, usage={h.key_usage}, algorithm={h.algorithm}, "
            f"mode={h.mode_of_use}, kcv={self.kcv})"
        )

    __str__ = __repr__

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a stored key is not serialised")

    def _for(self, operation: Operation) -> bytes:
        require_use(self.header, operation)
        return self._key


def _data_dir() -> Path:
    return Path(str(resources.files("keys") / "data"))


class KeyStore:
    """The keys of ``directory`` (default: the shipped test key sets)."""

    def __init__(self, keys: dict[str, StoredKey]) -> None:
        self._keys = keys
        self._rsa: dict[str, RsaPrivateKey] = {}

    @classmethod
    def load(cls, directory: Path | None = None, local_key: bytes | None = None) -> KeyStore:
        directory = directory or _data_dir()
        if local_key is None:
            local_key = bytes.fromhex((directory / LOCAL_KEY_FILE).read_text().strip())
        keys = {}
        for path in sorted(directory.glob("*.tr31")):
            try:
                header, key = unwrap(local_key, path.read_text().strip())
            except KeyBlockError as e:
                raise KeyBlockError(f"{path.name}: {e}") from None
            keys[path.stem] = StoredKey(path.stem, header, key)
        return cls(keys)

    def __getitem__(self, name: str) -> StoredKey:
        try:
            return self._keys[name]
        except KeyError:
            raise SecureElementError(f"no key named {name!r} in the store") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __repr__(self) -> str:
        return f"KeyStore({', '.join(self._keys)})"

    def pin_pad(
        self, tdes_counter: int = 1, aes_counter: int = 1, *, device: int | None = None
    ) -> PinPad:
        """The terminal's PIN pad: a TDES and an AES DUKPT originating device, moved on to
        the given next counters (those the journal kept) so that no KSN is used twice.

        ``device``: a fleet's terminal number. The published test device (the shipped IPEK
        and initial key) when None; else a device of its own, injected here from the BDKs
        as a key injection facility would: the TDES KSN's device bits and the AES initial
        key ID's derivation ID are ``device`` (19 and 32 bits), the key set IDs stay."""
        tdes = self["tdes-dukpt-ipek"]
        aes = self["aes-dukpt-ik"]
        ksn = bytes.fromhex(_block(tdes, "KS"))
        ikid = bytes.fromhex(_block(aes, "IK"))
        if device is None:
            tdes_device = TdesDukptDevice(tdes._for(Operation.DERIVE_KEYS), ksn)
            aes_device = AesDukptDevice(aes._for(Operation.DERIVE_KEYS), ikid)
        else:
            if not 0 <= device < 1 << 19:
                raise SecureElementError("a fleet's device number is 0 to 524287")
            # KSN: key set ID (24 bits, from the shipped KSN), TRSM ID 19 bits, counter 21
            left = int.from_bytes(ksn, "big") >> 40 << 40 | device << 21
            ksn = left.to_bytes(10, "big")
            ikid = ikid[:4] + device.to_bytes(4, "big")
            bdk = self["tdes-dukpt-bdk"]._for(Operation.DERIVE_KEYS)
            tdes_device = TdesDukptDevice(initial_key(bdk, ksn), ksn)
            aes_bdk = AesDukptHost(self["aes-dukpt-bdk"]._for(Operation.DERIVE_KEYS))
            aes_device = AesDukptDevice(aes_bdk.initial_key(ikid), ikid)
        pad = PinPad(tdes_device, aes_device)
        pad._advance(tdes_counter, aes_counter)
        return pad

    def card_keys(self, pan: str, pan_sequence: str) -> CardKeys:
        """Personalise a card: its ICC master key from the issuer master key (EMV A1.4)."""
        imk = self["emv-issuer-mk-ac"]._for(Operation.APPLICATION_CRYPTOGRAM)
        smi = self._smi_key()
        return CardKeys(
            derive_icc_master_key(imk, pan, pan_sequence),
            derive_icc_master_key(smi, pan, pan_sequence) if smi else b"",
        )

    def issuer(self) -> IssuerKeys:
        return IssuerKeys(
            self["emv-issuer-mk-ac"]._for(Operation.APPLICATION_CRYPTOGRAM), self._smi_key()
        )

    def _smi_key(self) -> bytes:
        key = self._keys.get("emv-issuer-mk-smi")  # key sets from before scripts have none
        return key._for(Operation.SECURE_MESSAGING) if key is not None else b""

    def rsa_key(self, name: str) -> RsaPrivateKey:
        """An RSA private key of the store (TR-31 usage S0), parsed once. It signs inside
        keys/ only: :mod:`keys.card_oda` personalises cards with it."""
        key = self._rsa.get(name)
        if key is None:
            key = self._rsa[name] = RsaPrivateKey.from_der(self[name]._for(Operation.SIGN))
        return key

    def pin_verifier(self) -> PinVerifier:
        """The host side: derives PIN keys from the BDKs to check PIN blocks."""
        return PinVerifier(
            TdesDukptHost(self["tdes-dukpt-bdk"]._for(Operation.DERIVE_KEYS)),
            AesDukptHost(self["aes-dukpt-bdk"]._for(Operation.DERIVE_KEYS)),
        )

    def message_authenticator(self, name: str = "acquirer-mac") -> MessageAuthenticator:
        """MACs of ISO 8583 messages (DE 64) under the acquirer MAC key, both directions."""
        key = self[name]
        require_use(key.header, Operation.VERIFY_MAC)
        return MessageAuthenticator(key._for(Operation.GENERATE_MAC))


def _block(key: StoredKey, block_id: str) -> str:
    value = key.header.block(block_id)
    if value is None:
        raise SecureElementError(f"{key.name} has no {block_id} optional block")
    return value


@dataclass(frozen=True)
class EncryptedPinBlock:
    """A PIN block encrypted under the DUKPT PIN key of ``ksn``: safe to send anywhere."""

    format: PinBlockFormat
    pin_block: bytes
    ksn: bytes


class PinPad:
    """Encrypts the PIN the cardholder typed: format 0 under TDES DUKPT, format 4 under AES
    DUKPT. The PIN goes in; only the encrypted block and its KSN come out."""

    def __init__(self, tdes: TdesDukptDevice, aes: AesDukptDevice) -> None:
        self._tdes = tdes
        self._aes = aes

    def __repr__(self) -> str:
        return f"PinPad(tdes_ksn={self._tdes.ksn.hex().upper()}, aes_ksn={self._aes.ksn.hex().upper()})"

    @property
    def counters(self) -> tuple[int, int]:
        """The next TDES and AES DUKPT counters: what to keep across a restart."""
        return self._tdes.counter, self._aes.counter

    def _advance(self, tdes_counter: int, aes_counter: int) -> None:
        # Each used key is derived and forgotten, as if the transactions had happened.
        while self._tdes.counter < tdes_counter:
            self._tdes.next_key(KeyVariant.PIN)
        while self._aes.counter < aes_counter:
            self._aes.next_key(KeyUsage.PIN_ENCRYPTION)

    def encrypt(self, pin: Pin, pan: str, block_format: PinBlockFormat) -> EncryptedPinBlock:
        if block_format is PinBlockFormat.ISO_0:
            key, ksn = self._tdes.next_key(KeyVariant.PIN)
            block = tdes_ecb_encrypt(key, encode_pin_block(pin, 0, pan))
        else:
            key, ksn = self._aes.next_key(KeyUsage.PIN_ENCRYPTION)
            block = encipher_iso4(key, pin, pan)
        return EncryptedPinBlock(block_format, block, ksn)


class PinVerifier:
    """The issuer's side: decrypts a PIN block with the host DUKPT and compares in constant
    time. It answers yes or no; the PIN itself never leaves."""

    def __init__(self, tdes: TdesDukptHost, aes: AesDukptHost) -> None:
        self._tdes = tdes
        self._aes = aes

    def __repr__(self) -> str:
        return "PinVerifier(<BDKs>)"

    def matches(self, encrypted: EncryptedPinBlock, pan: str, expected: Pin) -> bool:
        try:
            if encrypted.format is PinBlockFormat.ISO_0:
                key = self._tdes.working_key(encrypted.ksn, KeyVariant.PIN)
                pin = decode_pin_block(tdes_ecb_decrypt(key, encrypted.pin_block), 0, pan)
            else:
                key = self._aes.working_key(encrypted.ksn, KeyUsage.PIN_ENCRYPTION)
                pin = decipher_iso4(key, encrypted.pin_block, pan)
        except PinBlockError:
            return False
        return pin.matches(expected)


class MessageAuthenticator:
    """AES-CMAC over a message, truncated to the 8 bytes ISO 8583 DE 64 holds. The key stays
    inside; what comes out is a MAC or a yes/no (compared in constant time).

    >>> mac = KeyStore.load().message_authenticator()
    >>> tag = mac.mac(b"0800...")
    >>> len(tag), mac.verify(b"0800...", tag), mac.verify(b"0800..!", tag)
    (8, True, False)
    """

    LENGTH = 8

    def __init__(self, key: bytes) -> None:
        self._key = key

    def __repr__(self) -> str:
        return "MessageAuthenticator(<AES key>)"

    def mac(self, data: bytes) -> bytes:
        return aes_cmac(self._key, data, self.LENGTH)

    def verify(self, data: bytes, received: bytes) -> bool:
        return verify_mac(aes_cmac(self._key, data, self.LENGTH), received)
