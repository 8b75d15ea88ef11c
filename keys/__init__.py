"""The terminal's secure element: ISO 9564 PIN blocks, DUKPT (TDES and AES), TR-31 key
blocks, MACs, key check values, EMV application cryptograms, and the key store.
Clear PINs and clear keys never leave this package: what comes out is encrypted, a MAC, a
check value, or a yes/no.

- :mod:`keys.pinblock`, :mod:`keys.pin`: ISO 9564-1 formats 0-4; the redacting ``Pin``
- :mod:`keys.dukpt_tdes`, :mod:`keys.dukpt_aes`: ANSI X9.24-1-2009 and X9.24-3-2017
- :mod:`keys.tr31`: key blocks B and D, usage and mode enforcement, KCVs
- :mod:`keys.mac`: ISO 9797-1 algorithms 1 and 3, AES-CMAC, constant-time verification
- :mod:`keys.emv`: ICC master keys, session keys, ARQC/TC/AAC, ARPC methods 1 and 2
- :mod:`keys.keystore`: the store, the PIN pad and the PIN verifier
"""

from __future__ import annotations

from .cryptograms import CardKeys, IssuerKeys
from .errors import (
    DukptExhaustedError,
    KeyBlockError,
    KeyUsageError,
    PinBlockError,
    SecureElementError,
)
from .keystore import (
    EncryptedPinBlock,
    KeyStore,
    MessageAuthenticator,
    PinPad,
    PinVerifier,
    StoredKey,
)
from .pin import Pin

__all__ = [
    "CardKeys",
    "DukptExhaustedError",
    "IssuerKeys",
    "EncryptedPinBlock",
    "KeyBlockError",
    "KeyStore",
    "KeyUsageError",
    "MessageAuthenticator",
    "Pin",
    "PinBlockError",
    "PinPad",
    "PinVerifier",
    "SecureElementError",
    "StoredKey",
]
