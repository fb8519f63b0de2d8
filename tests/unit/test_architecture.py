"""The package layout is enforced, not hoped for: the import-linter contracts of
pyproject.toml ([tool.importlinter]; docs/architecture.md explains them) run with the
default suite. `uv run lint-imports` prints the same report by hand."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import desktop_oms

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGE = pathlib.Path(desktop_oms.__file__).parent


def test_the_import_contracts_are_kept():
    lint_imports = pathlib.Path(sys.executable).parent / "lint-imports"
    run = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = run.stdout + run.stderr
    assert run.returncode == 0, report
    assert "BROKEN" not in report and report.count("KEPT") >= 6, report


def test_no_module_imports_its_own_parent_package():
    """Inside a package, code imports the module that defines a name, never the package
    front (which exists for code outside it)."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if module.endswith(".__init__"):
            continue
        parents = module.split(".")[:-1]
        own = {".".join(parents[:i]) for i in range(2, len(parents) + 1)}
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.ImportFrom) and node.module in own):
                continue
            folder = PACKAGE.parent.joinpath(*node.module.split("."))
            names = [a.name for a in node.names]
            submodules = all((folder / f"{n}.py").exists() or (folder / n).is_dir() for n in names)
            if not submodules:  # a name re-exported by the package front
                offenders.append(f"{module} imports {', '.join(names)} from {node.module}")
    assert offenders == []


def test_no_mixin_splits_a_class_over_files():
    """Composition, or one class in banner sections (the Kite adapter and its stream
    included)."""
    mixins = [
        f"{path.relative_to(PACKAGE)}: {node.name}"
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef) and node.name.endswith("Mixin")
    ]
    assert mixins == []


def test_every_contract_import_path_of_the_architecture_keeps_working():
    """The names acceptance checks import (../shared/ARCHITECTURE.md, "Public API")."""
    from desktop_oms.app import Application
    from desktop_oms.brokers import Broker
    from desktop_oms.brokers.kite import KiteBroker, KiteLogin
    from desktop_oms.brokers.paper import PaperBroker
    from desktop_oms.config import Settings
    from desktop_oms.domain import (
        OrderRequest,
        OrderSide,
        OrderStatus,
        OrderType,
        Product,
        Validity,
    )
    from desktop_oms.oms import (
        OrderManager,
        OrderNotCancellable,
        OrderNotFound,
        OrderNotModifiable,
        OrderRejected,
        OrderSubmissionFailed,
        PositionManager,
    )
    from desktop_oms.risk import KillSwitch, PreTradeValidator, RiskLimits
    from desktop_oms.storage import Database

    names = [Application, Broker, KiteBroker, KiteLogin, PaperBroker, Settings, OrderRequest,
             OrderSide, OrderStatus, OrderType, Product, Validity, OrderManager,
             OrderNotCancellable, OrderNotFound, OrderNotModifiable, OrderRejected,
             OrderSubmissionFailed, PositionManager, KillSwitch, PreTradeValidator, RiskLimits,
             Database]  # fmt: skip
    assert all(names)
    statuses = {s.name for s in OrderStatus}
    assert {"PENDING", "SUBMITTED", "OPEN", "TRIGGER_PENDING", "PARTIALLY_FILLED", "FILLED",
            "CANCELLED", "REJECTED"} <= statuses  # fmt: skip
