"""A private pcscd for the PC/SC tests (one per test session: libpcsclite keeps the socket it
first found for the life of the process)."""

from __future__ import annotations

import random
import subprocess
import time
from pathlib import Path

from firmware_sim.pcsc import list_readers

VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")


class PrivatePcscd:
    """A pcscd of our own: its own reader configuration (vpcd on a private port) and its own
    socket. pcsc-lite 1.9.9's daemon always listens on /run/pcscd/pcscd.comm, so it runs in a
    private mount namespace where that directory is ours; clients find it through
    PCSCLITE_CSOCK_NAME, which libpcsclite honours."""

    def __init__(self, root: Path) -> None:
        self.port = random.randint(36000, 36999)
        self.config = root / "reader.conf.d"
        self.config.mkdir()
        (self.config / "vpcd").write_text(
            f'FRIENDLYNAME "Virtual PCD"\nDEVICENAME /dev/null:0x{self.port:X}\n'
            f"LIBPATH {VPCD_DRIVER}\nCHANNELID 0x{self.port:X}\n"
        )
        self.socket_dir = root / "run"
        self.socket_dir.mkdir()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        Path("/run/pcscd").mkdir(parents=True, exist_ok=True)
        script = (
            f"mount --bind {self.socket_dir} /run/pcscd && exec pcscd --foreground -c {self.config}"
        )
        self.process = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if any(name.startswith("Virtual PCD") for name in list_readers()):
                    return
            except Exception:  # noqa: BLE001 - not up yet
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError("the private pcscd did not show the Virtual PCD reader")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


