"""Write the published test key sets into keys/data as TR-31 key blocks (version D) under
the documented test-only local key. Run once; the test suite checks what the files hold.

    python scripts/make_test_keys.py
"""

from __future__ import annotations

import secrets
from pathlib import Path

from keys.dukpt_aes import AesDukptHost
from keys.dukpt_tdes import TdesDukptHost
from keys.tr31 import KeyBlockHeader, wrap

DATA = Path(__file__).resolve().parent.parent / "keys" / "data"

TDES_BDK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")  # ANSI X9.24-1 test BDK
TDES_KSN = "FFFF9876543210E00000"
AES_BDK = bytes.fromhex("FEDCBA9876543210F1F1F1F1F1F1F1F1")  # ANSI X9.24-3 test BDK
AES_IKID = "1234567890123456"
EMV_IMK_AC = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")  # a test issuer master key
# the AES-128 key of NIST SP 800-38B's CMAC examples (appendix D.1): the acquirer MAC key
ACQUIRER_MAC = bytes.fromhex("2B7E151628AED2A6ABF7158809CF4F3C")


def main() -> None:
    DATA.mkdir(exist_ok=True)
    local_file = DATA / "local-key.test.hex"
    if not local_file.exists():
        local_file.write_text(secrets.token_bytes(32).hex().upper() + "\n")
    local = bytes.fromhex(local_file.read_text().strip())
    ipek = TdesDukptHost(TDES_BDK).initial_key(bytes.fromhex(TDES_KSN))
    ik = AesDukptHost(AES_BDK).initial_key(bytes.fromhex(AES_IKID))
    entries = {
        "tdes-dukpt-bdk": (KeyBlockHeader("D", "B0", "T", "X"), TDES_BDK),
        "tdes-dukpt-ipek": (
            KeyBlockHeader("D", "B1", "T", "X", optional_blocks=(("KS", TDES_KSN),)),
            ipek,
        ),
        "aes-dukpt-bdk": (KeyBlockHeader("D", "B0", "A", "X"), AES_BDK),
        "aes-dukpt-ik": (
            KeyBlockHeader("D", "B1", "A", "X", optional_blocks=(("IK", AES_IKID),)),
            ik,
        ),
        "emv-issuer-mk-ac": (KeyBlockHeader("D", "E0", "T", "X"), EMV_IMK_AC),
        "acquirer-mac": (KeyBlockHeader("D", "M6", "A", "C"), ACQUIRER_MAC),
    }
    for name, (header, key) in entries.items():
        path = DATA / f"{name}.tr31"
        if not path.exists():  # a key block written once stays as it is
            path.write_text(wrap(local, header, key) + "\n")


if __name__ == "__main__":
    main()
