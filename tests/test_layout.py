"""The terminal's layout shows its design (issue 12): the card kernel knows cards and APDUs and
nothing of the application; the application's modules, the PIN pad and the command dispatcher
do no I/O; no module grows past about 400 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.test_architecture import IO_MODULES, imported_modules

ROOT = Path(__file__).resolve().parent.parent
FIRMWARE = ROOT / "firmware_sim"
PURE = sorted(
    [*(FIRMWARE / "kernel").glob("*.py"), *(FIRMWARE / "application").glob("*.py")]
    + [FIRMWARE / name for name in ("core.py", "commands.py", "pinpad.py", "receipts.py")]
)


def relative_imports(path: Path) -> set[str]:
    """The firmware_sim modules ``path`` imports (relative imports, resolved)."""
    package = path.parent.relative_to(ROOT).parts
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package[: len(package) - node.level + 1]
            names.add(".".join([*base, *(node.module.split(".") if node.module else [])]))
    return names


@pytest.mark.parametrize("path", PURE, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_split_modules_do_no_io(path: Path) -> None:
    assert not imported_modules(path) & IO_MODULES


@pytest.mark.parametrize("path", sorted(FIRMWARE.rglob("*.py")), ids=lambda p: p.name)
def test_no_firmware_module_passes_400_lines(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 400


@pytest.mark.parametrize("path", sorted((FIRMWARE / "kernel").glob("*.py")), ids=lambda p: p.name)
def test_the_kernel_knows_nothing_of_the_application(path: Path) -> None:
    imports = relative_imports(path)
    assert not {name for name in imports if name.startswith("firmware_sim.application")}
    assert "firmware_sim.journal" not in imports and "firmware_sim.core" not in imports
    assert "TransactionKind" not in path.read_text(encoding="utf-8")


def test_a_sale_crosses_each_module_once() -> None:
    from firmware_sim.cardholder import AutoCardholder, drain
    from firmware_sim.testing import make_core
    from protocols.messages import SaleRequest

    core = make_core()
    core.handle_message(SaleRequest("T1", 1234, "EUR"), 1.76e9)
    drain(core, AutoCardholder(), 1.76e9)
    entered = [dest for _, _, dest in list(core.history)[2:]]  # after the power-on's recovery
    modules = []
    for state in entered:
        handler = core._on_enter[type(core.state)[state]]
        module = getattr(handler, "__self__", core).__class__.__module__
        if not modules or modules[-1] != module:
            modules.append(module)
    assert modules == [
        "firmware_sim.application.card_steps",
        "firmware_sim.pinpad",
        "firmware_sim.application.authorization",
        "firmware_sim.application.endings",
        "firmware_sim.core",
    ]


def test_the_history_for_students_is_bounded() -> None:
    # a terminal that runs for months must not keep every transition it ever took
    from firmware_sim.cardholder import AutoCardholder, drain
    from firmware_sim.core import HISTORY
    from firmware_sim.testing import make_core
    from protocols.messages import SaleRequest

    core = make_core()
    for i in range(30):
        core.handle_message(SaleRequest(f"H{i}", 1234, "EUR"), 1.76e9)
        drain(core, AutoCardholder(), 1.76e9)
    assert len(core.history) == HISTORY  # 30 sales take more transitions than that
