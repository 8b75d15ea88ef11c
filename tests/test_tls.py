"""TLS on the host link: a terminal on listen+tls:// with its certificate, the driver on
tls:// verifying it; what is not TLS, or not the terminal it claims, is refused and the
terminal goes on. Real sockets, a certificate made for the test."""

from __future__ import annotations

import datetime
import ipaddress
import socket
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from driver import Terminal
from driver.errors import LineLost
from driver.testing import pair_runner
from firmware_sim.runner import TerminalConfig, TerminalRunner


def self_signed(directory: Path, name: str = "possim terminal") -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = (
        directory / f"{name.replace(' ', '-')}.pem",
        directory / f"{name.replace(' ', '-')}.key",
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


@pytest.fixture
def tls_terminal(tmp_path: Path):  # type: ignore[no-untyped-def]
    cert, key = self_signed(tmp_path)
    runner = TerminalRunner(TerminalConfig(port="listen+tls://127.0.0.1:0", cert=cert, key=key))
    runner.start()
    pair_runner(runner)  # TLS on top of pairing: the host is paired over the TLS link
    yield runner, tmp_path
    runner.stop()


def test_a_sale_over_tls(tls_terminal) -> None:  # type: ignore[no-untyped-def]
    runner, _ = tls_terminal
    url = runner.port.name
    assert url.startswith("tls://127.0.0.1:") and "?ca=" in url  # the driver's URL, printed
    with Terminal(url) as terminal:
        assert terminal.sale(1234, "EUR").approved


def test_plain_tcp_and_noise_on_the_tls_port_are_refused_and_the_terminal_goes_on(
    tls_terminal,
) -> None:  # type: ignore[no-untyped-def]
    runner, _ = tls_terminal
    host, port = runner.port.name.removeprefix("tls://").split("?")[0].rsplit(":", 1)
    with socket.create_connection((host, int(port))) as plain:
        plain.sendall(bytes.fromhex("0200010001") + b"not a TLS client hello" * 10)
        plain.settimeout(5)
        try:
            while plain.recv(4096):
                pass
        except OSError:
            pass
    deadline = time.monotonic() + 5
    while runner.status_counters()["tls_failures"] < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert runner.status_counters()["tls_failures"] == 1
    with Terminal(runner.port.name) as terminal:  # a real client is served next
        assert terminal.sale(1234, "EUR").approved


def test_a_terminal_with_another_certificate_is_not_trusted(tls_terminal) -> None:  # type: ignore[no-untyped-def]
    runner, directory = tls_terminal
    other, _ = self_signed(directory, "somebody else")
    url = runner.port.name.split("?")[0] + f"?ca={other}"
    with pytest.raises(LineLost):
        Terminal(url)
    wrong_name = runner.port.name + "&name=terminal-17"  # the certificate names 127.0.0.1
    with pytest.raises(LineLost):
        Terminal(wrong_name)


def test_listen_tls_needs_a_certificate() -> None:
    with pytest.raises(ValueError):
        TerminalRunner(TerminalConfig(port="listen+tls://127.0.0.1:0"))
