"""Secure-element benchmark: operations per second of keys/ side by side with psec, pyemv and
dukpt (the PyPI TDES DUKPT package) doing the same operation on the same inputs, in one run.
Each pair is checked to give the same answer before it is timed.

    python scripts/bench_keys.py [--seconds 0.5]

Needs the ``bench`` extra: pip install -e '.[bench]'.
"""

from __future__ import annotations

import argparse
import functools
import platform
import sys
from collections.abc import Callable

import cryptography
from benchlib import rate

from keys import emv, tr31
from keys.cipher import tdes_ecb_encrypt
from keys.dukpt_aes import AesDukptHost, KeyUsage
from keys.dukpt_tdes import KeyVariant, TdesDukptHost
from keys.pin import Pin
from keys.pinblock import encipher_iso4, encode_pin_block

PAN = "4012345678909"
PIN = "1234"
TDES_BDK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
KSN = bytes.fromhex("FFFF9876543210E00001")
PIN_KEY = bytes.fromhex("042666B49184CF5C68DE9628D0397B36")
AES_BDK = bytes.fromhex("FEDCBA9876543210F1F1F1F1F1F1F1F1")
AES_KSN = bytes.fromhex("123456789012345600000001")
AES_PIN_KEY = bytes.fromhex("AF8CB133A78F8DC2D1359F18527593FB")
RANDOM = bytes.fromhex("2F69ADDE2E9E7ACE")
TR31_B = (
    bytes.fromhex("DD7515F2BFC17F85CE48F3CA25CB21F6"),
    "B0080P0TE00E000094B420079CC80BA3461F86FE26EFC4A3B8E4FA4C5F5341176EED7B727B8A248E",
)
TR31_D = (
    bytes.fromhex("88E1AB2A2E3DD38C1FA039A536500CC8A87AB9D62DC92C01058FA79F44657DE6"),
    "D0112P0AE00E0000B82679114F470F540165EDFBF7E250FCEA43F810D215F8D207E2E417C07156A27E8E31DA"
    "05F7425509593D03A457DC34",
)
IMK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
ATC = bytes.fromhex("0001")
AC_DATA = bytes.fromhex("000000002000000000000000012400000080000124110309003804823E58000001")

Op = Callable[[], object]


def ours() -> dict[str, Op]:
    tdes_host, aes_host = TdesDukptHost(TDES_BDK), AesDukptHost(AES_BDK)
    pin = Pin(PIN)

    def arqc() -> bytes:
        session = emv.derive_session_key(emv.derive_icc_master_key(IMK, PAN, "00"), ATC)
        return emv.generate_ac(session, AC_DATA)

    return {
        "PIN block ISO 0 + TDES": lambda: tdes_ecb_encrypt(PIN_KEY, encode_pin_block(pin, 0, PAN)),
        "PIN block ISO 4 (AES)": lambda: encipher_iso4(
            AES_PIN_KEY, pin, PAN, random=lambda n: RANDOM
        ),
        "TDES DUKPT PIN key": lambda: tdes_host.working_key(KSN, KeyVariant.PIN),
        "AES DUKPT PIN key": lambda: aes_host.working_key(AES_KSN, KeyUsage.PIN_ENCRYPTION),
        "TR-31 unwrap B": lambda: tr31.unwrap(*TR31_B)[1],
        "TR-31 unwrap D": lambda: tr31.unwrap(*TR31_D)[1],
        "ARQC (ICC MK, SK, AC)": arqc,
    }


def theirs() -> dict[str, tuple[str, Op]]:
    import dukpt
    from bitstring import BitArray
    from psec import des, pinblock
    from psec import tr31 as psec_tr31
    from pyemv import ac, kd

    variant = int.from_bytes(KeyVariant.PIN.value, "big")
    server = dukpt.Server(bdk=TDES_BDK)

    ksn_bits = BitArray(bytes=KSN)

    def dukpt_pin_key() -> bytes:
        # Server.gen_key() fails on Python 3 (bytes has no .bytes); these are its two steps.
        current_key = server.derive_key(server.generate_ipek(ksn_bits), ksn_bits).bytes
        current = int.from_bytes(current_key, "big")
        return (current ^ variant).to_bytes(16, "big")

    def pyemv_arqc() -> bytes:
        session = kd.derive_common_sk(kd.derive_icc_mk_a(IMK, PAN, "00"), ATC + bytes(6))
        return ac.generate_ac(session, AC_DATA)

    return {
        "PIN block ISO 0 + TDES": (
            "psec",
            lambda: des.encrypt_tdes_ecb(PIN_KEY, pinblock.encode_pinblock_iso_0(PIN, PAN)),
        ),
        "PIN block ISO 4 (AES)": (
            "psec",
            lambda: _psec_iso4(pinblock),
        ),
        "TDES DUKPT PIN key": ("dukpt 1.0.1", dukpt_pin_key),
        "TR-31 unwrap B": ("psec", lambda: psec_tr31.unwrap(*TR31_B)[1]),
        "TR-31 unwrap D": ("psec", lambda: psec_tr31.unwrap(*TR31_D)[1]),
        "ARQC (ICC MK, SK, AC)": ("pyemv", pyemv_arqc),
    }


def _psec_iso4(pinblock: object) -> bytes:
    # psec draws its random PIN-field half itself; same work, different random bytes.
    return pinblock.encipher_pinblock_iso_4(AES_PIN_KEY, PIN, PAN)  # type: ignore[attr-defined,no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="time per figure")
    args = parser.parse_args()
    import dukpt  # noqa: F401 - fail early without the bench extra
    import psec
    import pyemv

    mine, other = ours(), theirs()
    print(
        f"python {platform.python_version()}, cryptography {cryptography.__version__}, "
        f"psec {psec.__version__}, pyemv {pyemv.__version__}, {platform.machine()}; "
        "operations per second, best of 5"
    )
    header = f"{'operation':<24}{'possim':>12}{'other':>12}  {'by':<12}{'possim/other':>13}"
    print(header)
    print("-" * len(header))
    for name, op in mine.items():
        ours_rate = rate(op, args.seconds)
        if name in other:
            who, their_op = other[name]
            if "ISO 4" not in name:
                assert their_op() == op(), name
            their_rate = rate(functools.partial(their_op), args.seconds)
            print(
                f"{name:<24}{ours_rate:>12,.0f}{their_rate:>12,.0f}  {who:<12}"
                f"{ours_rate / their_rate:>12.2f}x"
            )
        else:
            print(f"{name:<24}{ours_rate:>12,.0f}{'-':>12}  {'(none)':<12}{'':>13}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
