"""The ``tls://`` pyserial URL: TCP in TLS (the standard library's ``ssl``), to a terminal
listening on ``listen+tls://``. The certificate is verified, and its name against the host.

tls://127.0.0.1:7000?ca=terminal-cert.pem           a self-signed certificate is its own CA
tls://terminal.example:7000                         the system's CAs
tls://10.0.0.5:7000?ca=ca.pem&name=terminal-17      the name in the certificate, if not the host
"""

from __future__ import annotations

import select
import socket
import ssl
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

from serial.serialutil import PortNotOpenError, SerialException

from driver.urlhandler.buffered import BufferedSerial

__all__ = ["Serial", "parse_tls_url"]


def parse_tls_url(url: str) -> tuple[str, int, dict[str, str]]:
    """(host, port, options) of a ``tls://`` URL; ValueError if it is not one.

    >>> parse_tls_url("tls://127.0.0.1:7000?ca=cert.pem")
    ('127.0.0.1', 7000, {'ca': 'cert.pem'})
    """
    parts = urlsplit(url)
    if parts.scheme != "tls" or not parts.hostname or parts.port is None:
        raise ValueError(f"{url!r} is not tls://HOST:PORT[?ca=FILE&name=NAME]")
    options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    unknown = set(options) - {"ca", "name", "cert", "key"}
    if unknown:
        raise ValueError(f"tls:// takes ca, name, cert and key, not {sorted(unknown)}")
    return parts.hostname, parts.port, options


class Serial(BufferedSerial):
    """A TLS connection behaving as a serial port."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._socket: ssl.SSLSocket | None = None
        super().__init__(*args, **kwargs)

    def open(self) -> None:
        if self._port is None:
            raise SerialException("a tls:// URL is needed")
        try:
            host, port, options = parse_tls_url(self.portstr)
            context = ssl.create_default_context(cafile=options.get("ca"))
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            if "cert" in options:  # a client certificate, should the terminal ask for one
                context.load_cert_chain(options["cert"], options.get("key"))
            raw = socket.create_connection((host, port), timeout=10)
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._socket = context.wrap_socket(raw, server_hostname=options.get("name", host))
        except ValueError as e:
            raise SerialException(str(e)) from None
        except ssl.SSLError as e:
            raise SerialException(f"TLS with {self.portstr} failed: {e.reason or e}") from None
        except OSError as e:
            raise SerialException(e.errno, f"could not open port {self.portstr}: {e}") from None
        self._socket.setblocking(False)
        self.is_open = True

    def close(self) -> None:
        if self._socket is not None:
            try:
                self._socket.close()
            except OSError:
                pass
            self._socket = None
        self.is_open = False

    def from_url(self, url: str) -> None:  # pragma: no cover - pyserial API
        parse_tls_url(url)

    def _fill(self, wait: float) -> None:
        """Decrypted bytes into the buffer, waiting up to ``wait`` for the socket (not when
        TLS already holds bytes it has decrypted)."""
        sock = self._socket
        if sock is None:
            raise PortNotOpenError()
        if not sock.pending() and not select.select([sock], [], [], wait)[0]:
            return
        try:
            data = sock.recv(65536)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return
        except OSError as e:
            raise SerialException(f"the TLS connection failed: {e}") from None
        if not data:
            raise SerialException("the terminal closed the TLS connection")
        self._buffer += data

    def write(self, data: bytes) -> int:
        sock = self._socket
        if sock is None:
            raise PortNotOpenError()
        view = memoryview(bytes(data))
        deadline = time.monotonic() + 10
        while view:
            try:
                view = view[sock.send(view) :]
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                if time.monotonic() > deadline:
                    raise SerialException(
                        "the TLS connection does not take what is written"
                    ) from None
                select.select([], [sock], [], 0.05)
            except OSError as e:
                raise SerialException(f"the TLS connection failed: {e}") from None
        return len(data)

    def reset_input_buffer(self) -> None:
        self._buffer.clear()

    def reset_output_buffer(self) -> None:
        pass
