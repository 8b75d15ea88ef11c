"""Serve a virtual card to a real pcscd through the vsmartcard vpcd driver, as vpicc does:
the card connects to vpcd's TCP port; each message is a 2-byte big-endian length and a body.
A 1-byte body is a control: 00 power off, 01 power on, 02 reset, 04 give the ATR; any longer
body is an APDU, answered by the card OS. Reconnects when pcscd (and so vpcd) restarts.
"""

from __future__ import annotations

import socket
import struct
import threading
import time

from .cards import VirtualCard

__all__ = ["VpcdCard", "DEFAULT_VPCD"]

DEFAULT_VPCD = ("127.0.0.1", 0x8C7B)  # vpcd's default channel 35963
POWER_OFF, POWER_ON, RESET, GET_ATR = 0, 1, 2, 4


class VpcdCard:
    """One virtual card in vpcd's reader; :meth:`serve` runs until :meth:`stop`."""

    def __init__(self, card: VirtualCard, address: tuple[str, int] = DEFAULT_VPCD) -> None:
        self.card = card
        self.address = address
        self._stop = threading.Event()
        self._socket: socket.socket | None = None
        self.connected = threading.Event()
        self.exchanges = 0

    def stop(self) -> None:
        self._stop.set()
        if self._socket is not None:
            try:
                self._socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def serve(self) -> None:
        while not self._stop.is_set():
            try:
                with socket.create_connection(self.address, timeout=2) as conn:
                    conn.settimeout(None)
                    self._socket = conn
                    self.connected.set()
                    self._session(conn)
            except OSError:
                pass
            self.connected.clear()
            if not self._stop.is_set():
                time.sleep(0.5)  # pcscd is (re)starting: try again

    def _session(self, conn: socket.socket) -> None:
        atr = self.card.power_on()
        while not self._stop.is_set():
            head = _read_exactly(conn, 2)
            if head is None:
                return
            (length,) = struct.unpack(">H", head)
            body = _read_exactly(conn, length)
            if body is None:
                return
            if length == 1:
                if body[0] in (POWER_ON, RESET):
                    atr = self.card.power_on()
                elif body[0] == GET_ATR:
                    conn.sendall(struct.pack(">H", len(atr)) + atr)
                continue  # POWER_OFF and unknown controls need no answer
            self.exchanges += 1
            response = self.card.execute(body)
            conn.sendall(struct.pack(">H", len(response)) + response)


def _read_exactly(conn: socket.socket, size: int) -> bytes | None:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data
