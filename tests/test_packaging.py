"""The wheel carries the four packages, their py.typed markers and the possim console script,
and the code is mypy --strict clean."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_contents(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("possim-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in ("protocols", "keys", "firmware_sim", "driver"):
        assert f"{package}/__init__.py" in names
        assert f"{package}/py.typed" in names
    assert not any(n.startswith(("tests/", "scripts/", "docs/")) for n in names)
    for key_set in ("tdes-dukpt-bdk", "tdes-dukpt-ipek", "aes-dukpt-bdk", "aes-dukpt-ik"):
        assert f"keys/data/{key_set}.tr31" in names
    assert "keys/data/local-key.test.hex" in names
    for data in ("ca-keys.txt", "ca-keys.test.txt", "revoked-certificates.txt"):
        assert f"keys/data/{data}" in names  # the terminal's CA keys ship with it
    assert "keys/data/emv-ca-a000000003-e1.tr31" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    entry_text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "possim = driver.cli:main" in entry_text
    assert "possim = driver.pytest_plugin" in entry_text


def test_mypy_strict_is_clean(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout


def test_console_script_answers() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "driver.cli", "--version"], capture_output=True, text=True
    )
    assert result.stdout.strip() == "possim 0.1.0"
    unbuilt = subprocess.run(
        [sys.executable, "-m", "driver.cli", "sale", "--port", "x"], capture_output=True, text=True
    )
    assert unbuilt.returncode == 2
    assert len(unbuilt.stderr.strip().splitlines()) == 1
