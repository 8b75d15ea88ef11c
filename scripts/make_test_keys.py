"""Write the published test key sets into keys/data as TR-31 key blocks (version D) under
the documented test-only local key. Run once; the test suite checks what the files hold.

    python scripts/make_test_keys.py
"""

from __future__ import annotations

import secrets
from pathlib import Path

from keys.dukpt_aes import AesDukptHost
from keys.dukpt_tdes import TdesDukptHost
from keys.oda import ca_key_checksum
from keys.rsa import RsaPrivateKey, generate_rsa_key
from keys.tr31 import KeyBlockHeader, wrap

DATA = Path(__file__).resolve().parent.parent / "keys" / "data"

TDES_BDK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")  # ANSI X9.24-1 test BDK
TDES_KSN = "FFFF9876543210E00000"
AES_BDK = bytes.fromhex("FEDCBA9876543210F1F1F1F1F1F1F1F1")  # ANSI X9.24-3 test BDK
AES_IKID = "1234567890123456"
EMV_IMK_AC = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")  # a test issuer master key
EMV_IMK_SMI = bytes.fromhex("89ABCDEF0123456776543210FEDCBA98")  # test issuer key, scripts
# offline data authentication (EMV Book 2): possim's test CA for the Visa RID under index E1
# (not an index Visa uses), one issuer key and the ICC keys of the catalogue's DDA/CDA cards;
# each drawn from its name, so every machine writes the same keys
TEST_CA = ("A000000003", 0xE1, 1408)
RSA_KEYS = {
    "emv-ca-a000000003-e1": 1408,
    "emv-issuer-rsa": 1152,
    "emv-icc-dda": 1024,
    "emv-icc-cda": 1024,
    "emv-icc-oda-bad-signature": 1024,
}
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
        "emv-issuer-mk-smi": (KeyBlockHeader("D", "E2", "T", "X"), EMV_IMK_SMI),
    }
    rsa_keys = {name: rsa_key(name, bits) for name, bits in RSA_KEYS.items()}
    for name, key in rsa_keys.items():
        entries[name] = (KeyBlockHeader("D", "S0", "R", "S"), key.to_der())
    for name, (header, key) in entries.items():
        path = DATA / f"{name}.tr31"
        if not path.exists():  # a key block written once stays as it is
            path.write_text(wrap(local, header, key) + "\n")
    write_test_ca_file(rsa_keys["emv-ca-a000000003-e1"])


def rsa_key(name: str, bits: int) -> RsaPrivateKey:
    return generate_rsa_key(f"possim test key {name}".encode(), bits)


def write_test_ca_file(ca: RsaPrivateKey) -> None:
    """keys/data/ca-keys.test.txt: the test CA's public key in the CA key file format."""
    rid, index, _ = TEST_CA
    public = ca.public
    checksum = ca_key_checksum(
        bytes.fromhex(rid), index, public.modulus_bytes, public.exponent_bytes
    )
    (DATA / "ca-keys.test.txt").write_text(
        "# possim's test certification authority (scripts/make_test_keys.py): not a scheme key\n"
        f"{rid} {index:02X} {public.exponent_bytes.hex().upper()} 301231 "
        f"{checksum.hex().upper()} {public.modulus_bytes.hex().upper()}\n"
    )


if __name__ == "__main__":
    main()
