"""Shared test settings.

Hypothesis runs derandomized by default so that CI is repeatable; set
HYPOTHESIS_PROFILE=explore to search with fresh random examples.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from tests.pcscd import VPCD_DRIVER, PrivatePcscd

settings.register_profile(
    "ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("explore", deadline=None, max_examples=2000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def paired_hosts(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Our suites run paired: each terminal the helpers start is paired with this host (a
    pairing file of the test's own), unless a test sets POSSIM_TEST_PAIRED=0."""
    monkeypatch.setenv("POSSIM_TEST_PAIRED", "1")
    pairings = tmp_path_factory.mktemp("pairings") / "pairings.json"
    monkeypatch.setenv("POSSIM_PAIRINGS", str(pairings))


@pytest.fixture(scope="session")
def pcscd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivatePcscd]:
    usable = shutil.which("pcscd") and shutil.which("unshare") and VPCD_DRIVER.exists()
    if not usable or os.geteuid() != 0:
        if os.environ.get("CI"):
            pytest.fail("CI must install pcscd and vsmartcard-vpcd and run as root")
        pytest.skip("pcscd, vsmartcard-vpcd, unshare or root is missing")
    daemon = PrivatePcscd(tmp_path_factory.mktemp("pcscd"))
    os.environ["PCSCLITE_CSOCK_NAME"] = str(daemon.socket_dir / "pcscd.comm")
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.stop()


