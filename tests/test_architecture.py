"""The design's import rules, checked on the source: cores do no I/O, arrows run one way."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Modules whose import would let a core do I/O, start a thread or read a clock.
IO_MODULES = {
    "serial",
    "socket",
    "threading",
    "_thread",
    "time",
    "asyncio",
    "select",
    "selectors",
    "subprocess",
    "multiprocessing",
    "signal",
    "smartcard",
    "sqlite3",
    "os",
    "io",
}
CORES = ["protocols", "keys"]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", CORES)
def test_cores_import_no_io_thread_or_clock_module(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_modules(path) & IO_MODULES)
        for path in sources(package)
        if imported_modules(path) & IO_MODULES
    }
    assert offenders == {}


FIRMWARE_CORE = ["core.py", "states.py", "cards.py", "prompts.py", "cardholder.py"]


@pytest.mark.parametrize("module", FIRMWARE_CORE)
def test_the_firmware_core_does_no_io(module: str) -> None:
    path = ROOT / "firmware_sim" / module
    assert not imported_modules(path) & IO_MODULES


@pytest.mark.parametrize("package", ["protocols", "keys"])
def test_protocols_and_keys_import_neither_side(package: str) -> None:
    for path in sources(package):
        assert not imported_modules(path) & {"driver", "firmware_sim"}, path


def test_the_driver_library_never_imports_the_simulator() -> None:
    allowed = {"cli.py", "testing.py"}  # design.md: only these may start a terminal
    for path in sources("driver"):
        if path.name not in allowed:
            assert "firmware_sim" not in imported_modules(path), path


@pytest.mark.parametrize("package", ["protocols", "keys", "firmware_sim", "driver"])
def test_installed_package_imports_and_is_typed(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__file__ is not None
    assert (Path(module.__file__).parent / "py.typed").is_file()


def test_a_client_command_does_not_load_the_simulator() -> None:
    # each `possim sale` of a process-per-command checkout pays for what it imports
    import subprocess
    import sys

    probe = (
        "import sys; from driver.cli import main; main(['sale', '--port', '/dev/null-port',"
        " '--amount', '1e9']); print(sorted(m for m in sys.modules if m.startswith('firmware_sim')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.strip() in ("[]", "['firmware_sim', 'firmware_sim.layout']"), done.stdout


def absolute_imports(path: Path) -> set[str]:
    """Every module ``path`` imports, relative imports resolved to dotted names."""
    package = list(path.relative_to(ROOT).with_suffix("").parts[:-1])
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            names.add(".".join([*base, *(node.module.split(".") if node.module else [])]))
    return names


# the simulated world's subpackages and the only parts of possim each may import
WORLD = {
    "issuer": ("protocols", "keys", "firmware_sim.issuer", "firmware_sim.catalogue"),
    "host": ("protocols", "keys", "firmware_sim.issuer", "firmware_sim.host"),
}


@pytest.mark.parametrize("subpackage", sorted(WORLD))
def test_the_issuer_and_the_host_import_no_terminal_module(subpackage: str) -> None:
    # design.md: the host imports protocols and keys and none of the terminal's modules; the
    # terminal and the host share the issuer, not each other
    allowed = WORLD[subpackage]
    for path in sources(f"firmware_sim/{subpackage}"):
        ours = {
            name
            for name in absolute_imports(path)
            if name.split(".")[0] in ("protocols", "keys", "firmware_sim", "driver")
        }
        wrong = {n for n in ours if not any(n == a or n.startswith(a + ".") for a in allowed)}
        assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"
