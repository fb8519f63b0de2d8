"""Entry point of the frozen (PyInstaller) Desktop OMS: the same as `desktop-oms` from a venv.

One extra, for the packaging tests only: with DESKTOP_OMS_PACKAGING_CHECK=1 in the
environment the binary does not start the app but imports everything that is loaded
lazily at run time (every desktop_oms module, kiteconnect with Twisted/autobahn, the
websockets client, the keyring backends, the Alembic migration scripts, the bundled
resources and the package metadata), prints one line per item and exits 0 when all of
them are there. That catches a missing hidden import or data file in the build instead
of on a trader's machine the first time they log in to Kite.
"""

from __future__ import annotations

import multiprocessing
import os
import sys


def _packaging_check() -> int:
    import importlib
    import pkgutil
    import traceback

    failures: list[str] = []

    def check(label: str, func) -> None:
        try:
            detail = func()
        except BaseException as exc:  # noqa: BLE001 - report everything, keep going
            failures.append(label)
            print(f"FAIL {label}: {type(exc).__name__}: {exc}")
            traceback.print_exc(limit=3)
        else:
            print(f"ok   {label}" + (f": {detail}" if detail else ""))

    def version() -> str:
        from importlib.metadata import version as dist_version

        import desktop_oms

        installed = dist_version("desktop-oms")  # from the bundled dist-info, not a fallback
        if installed != desktop_oms.version():
            raise RuntimeError(
                f"metadata {installed} != desktop_oms.version() {desktop_oms.version()}"
            )
        return installed

    def app_modules() -> str:
        import desktop_oms

        names = [
            m.name
            for m in pkgutil.walk_packages(desktop_oms.__path__, "desktop_oms.")
            # __main__ would run the app; migration scripts run only inside Alembic.
            if m.name != "desktop_oms.__main__"
            and not m.name.startswith("desktop_oms.storage.migrations.")
        ]
        if len(names) < 20:
            raise RuntimeError(f"only {len(names)} modules found in the bundle: {names}")
        for name in names:
            importlib.import_module(name)
        return f"{len(names)} modules"

    def kite() -> str:
        from kiteconnect import KiteConnect, KiteTicker  # noqa: F401 - KiteTicker pulls Twisted
        from kiteconnect.__version__ import __version__ as kite_version

        from desktop_oms.brokers.kite import KiteBroker  # noqa: F401

        KiteConnect(api_key="packaging-check")
        return f"kiteconnect {kite_version}"

    def twisted_autobahn() -> str:
        import autobahn.twisted.websocket  # noqa: F401
        import twisted
        from twisted.internet import reactor

        return f"twisted {twisted.__version__}, reactor {type(reactor).__name__}"

    def tls() -> str:
        import ssl

        import certifi

        if not os.path.isfile(certifi.where()):
            raise FileNotFoundError(certifi.where())
        ssl.create_default_context(cafile=certifi.where())
        return ssl.OPENSSL_VERSION

    def ws_client() -> str:
        import websockets
        from websockets.asyncio.client import connect  # noqa: F401

        return f"websockets {websockets.__version__}"

    def keyring_backends() -> str:
        from keyring.backend import get_all_keyring

        names = sorted({type(k).__module__.rsplit(".", 1)[-1] for k in get_all_keyring()})
        wanted = "Windows" if sys.platform == "win32" else "SecretService"
        # get_all_keyring() lists only backends viable here (SecretService needs a D-Bus
        # session); the entry points must list the platform's backend either way.
        from importlib.metadata import entry_points

        declared = {ep.name for ep in entry_points(group="keyring.backends")}
        if wanted not in declared:
            raise RuntimeError(f"keyring entry points lack {wanted}: {sorted(declared)}")
        importlib.import_module(f"keyring.backends.{wanted}")
        return f"declared {sorted(declared)}, viable here {names}"

    def migrations() -> str:
        from alembic.script import ScriptDirectory

        from desktop_oms.storage import database

        script = ScriptDirectory.from_config(database._alembic_config())
        heads = script.get_heads()
        revisions = [r.revision for r in script.walk_revisions()]
        if not heads:
            raise RuntimeError("no Alembic head revision found in the bundle")
        return f"dir {database.MIGRATIONS_DIR.name}, revisions {revisions}, head {heads}"

    def resources() -> str:
        from desktop_oms.infra.resources import resource_path

        for name in ("instruments_paper.csv", "icons/desktop-oms.svg", "icons/desktop-oms-256.png"):
            resource_path(name)
        return str(resource_path("icons").parent)

    def qt() -> str:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        import pyqtgraph
        import PySide6
        from PySide6.QtGui import QIcon, QImage
        from PySide6.QtWidgets import QApplication

        from desktop_oms.infra.resources import resource_path

        app = QApplication.instance() or QApplication([])
        svg = QImage(str(resource_path("icons/desktop-oms.svg")))
        if svg.isNull():
            raise RuntimeError("the SVG image format plugin is missing")
        if QIcon(str(resource_path("icons/desktop-oms-256.png"))).isNull():
            raise RuntimeError("PNG icon could not be loaded")
        return f"PySide6 {PySide6.__version__}, pyqtgraph {pyqtgraph.__version__}, platform {app.platformName()}"

    check("version", version)
    check("desktop_oms modules", app_modules)
    check("kiteconnect", kite)
    check("twisted/autobahn", twisted_autobahn)
    check("TLS/certifi", tls)
    check("websockets client", ws_client)
    check("keyring backends", keyring_backends)
    check("alembic migrations", migrations)
    check("resources", resources)
    check("Qt", qt)
    print(f"packaging check {'FAILED: ' + ', '.join(failures) if failures else 'ok'}")
    return 1 if failures else 0


def main() -> int:
    multiprocessing.freeze_support()
    if os.environ.get("DESKTOP_OMS_PACKAGING_CHECK") == "1":
        return _packaging_check()
    from desktop_oms.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
