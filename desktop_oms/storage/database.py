"""Database facade: opens (and migrates) the SQLite journal safely.

Opening refuses, with a clear DatabaseError and without touching the file: a file that is
not SQLite, an SQLite file that is not ours, a schema newer than this code, and a data
file already in use by another instance (an OS lock held for the process lifetime, freed
by the OS if the process dies).

SQL runs on the event-loop thread (a commit costs tens of microseconds); the disk work
does not. With `synchronous="FULL"` (the default) commits only reach the OS cache and the
journal's sync thread (wal_sync.py) flushes them: `await db.durable()` returns once every
commit so far is on disk, and the OMS awaits it before it acts on the broker. "EXTRA"
keeps SQLite's own flush inside each commit, on the loop; "NORMAL" flushes only at
checkpoints.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError as SADatabaseError
from sqlalchemy.exc import OperationalError

from desktop_oms.infra.files import DurabilityError, FileSyncer
from desktop_oms.storage.alerts import AlertLog
from desktop_oms.storage.candles import CandleStore
from desktop_oms.storage.connection import (
    DatabaseError,
    DatabaseLocked,
    DatabaseTooNew,
    NotAnOmsDatabase,
)
from desktop_oms.storage.journal import OrderJournal
from desktop_oms.storage.position_store import PositionStore
from desktop_oms.storage.reporting import Reporting
from desktop_oms.storage.workspace import Workspace

log = logging.getLogger(__name__)

SQLITE_MAGIC = b"SQLite format 3\x00"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# The newest migration. A journal already at it opens without importing alembic (a third
# of a second of start-up); a test checks this against the migration scripts.
HEAD_REVISION = "0008"


def _alembic_config():
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def _check_file(path: Path) -> None:
    if not path.exists():
        return
    if path.is_dir():
        raise NotAnOmsDatabase(f"{path} is a folder, not a database file")
    try:
        with path.open("rb") as fh:
            head = fh.read(16)
    except PermissionError as exc:
        raise DatabaseError(f"Cannot read {path}: permission denied") from exc
    if head and head != SQLITE_MAGIC:
        raise NotAnOmsDatabase(
            f"{path} is not an SQLite database (it may be corrupt or another program's file). "
            "It was left untouched; move it aside or choose another data directory."
        )


SQLITE_READONLY_ROLLBACK = 776  # a hot rollback journal needs a writer to roll it back


def _roll_back_hot_journal(path: Path) -> None:
    """A crash or power cut during a write in rollback-journal mode (the first start,
    before the journal is switched to WAL) leaves a hot journal that only a read-write
    connection may roll back. SQLite does exactly that on open: the file is then as it was
    before the interrupted write. (The instance lock is held: no one else writes it.)"""
    con = sqlite3.connect(path)
    try:
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
    finally:
        con.close()


def _inspect_read_only(path: Path, *, rolled_back: bool = False) -> tuple[set[str], str | None]:
    """Tables and schema revision of an existing file, read without changing a byte (but
    for SQLite's own rollback of an interrupted write, see _roll_back_hot_journal)."""
    if not path.exists() or path.stat().st_size == 0:
        return set(), None
    uri = f"{path.as_uri()}?mode=ro"
    try:
        con = sqlite3.connect(uri, uri=True)
        try:
            tables = {
                r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            # Catch damaged pages before trading on (and writing to) the file.
            problems = [r[0] for r in con.execute("PRAGMA quick_check(5)")]
            if problems != ["ok"]:
                raise NotAnOmsDatabase(
                    f"{path} is corrupt ({'; '.join(problems)}). It was left untouched: restore "
                    "a backup or move it aside to start a new journal."
                )
            version = None
            if "alembic_version" in tables:
                version = con.execute("SELECT version_num FROM alembic_version").fetchone()
                version = version[0] if version else None
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        text = str(exc)
        code = getattr(exc, "sqlite_errorcode", None)
        if code == SQLITE_READONLY_ROLLBACK and not rolled_back:
            with open(path, "rb") as f:
                is_sqlite = f.read(len(SQLITE_MAGIC)) == SQLITE_MAGIC
            if is_sqlite:
                _roll_back_hot_journal(path)
                return _inspect_read_only(path, rolled_back=True)
        if "locked" in text or "busy" in text:
            raise DatabaseLocked(f"{path} is locked by another program: {text}") from exc
        raise NotAnOmsDatabase(
            f"{path} is corrupt or not a database ({text}). It was left untouched."
        ) from exc
    return tables, version


def _create_private_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)
    if sys.platform != "win32":
        os.chmod(path, 0o600)


def _check_schema(path: Path, tables: set[str], revision: str | None) -> None:
    if revision is None and tables - {"alembic_version"}:
        raise NotAnOmsDatabase(
            f"{path} is an SQLite database of another program (tables: "
            f"{', '.join(sorted(tables)[:5])}). It was left untouched."
        )
    if revision is not None and revision != HEAD_REVISION:
        from alembic.script import ScriptDirectory

        script = ScriptDirectory.from_config(_alembic_config())
        try:
            script.get_revision(revision)
        except Exception:  # alembic raises several types for unknown revisions
            raise DatabaseTooNew(
                f"{path} was written by a newer version of Desktop OMS (schema {revision}). "
                "Update the app; the file was left untouched."
            ) from None


class Database:
    """Owns the engine, the instance lock and the repositories (`journal`, `positions`,
    `reporting`, `workspace`, `alerts`, `candles`)."""

    def __init__(
        self, engine: Engine, path: Path | None, lock: FileLock | None, synchronous: str
    ) -> None:
        self.engine = engine
        self.path = path
        self._lock = lock
        self.synchronous = synchronous
        self.positions = PositionStore(self)
        self.journal = OrderJournal(self, self.positions)
        self.reporting = Reporting(self)
        self.workspace = Workspace(self)
        self.alerts = AlertLog(self)
        self.candles = CandleStore(self)
        self.read_only = False
        self._closed = False
        self.syncer: FileSyncer | None = None  # set by open_sync for a FULL file journal

    # ------------------------------------------------------------------ opening
    @classmethod
    async def open(
        cls, url: str | os.PathLike, *, synchronous: str = "FULL", busy_timeout_ms: int = 5000
    ) -> Database:
        return cls.open_sync(url, synchronous=synchronous, busy_timeout_ms=busy_timeout_ms)

    @classmethod
    def open_sync(
        cls, url: str | os.PathLike, *, synchronous: str = "FULL", busy_timeout_ms: int = 5000
    ) -> Database:
        if synchronous.upper() not in {"FULL", "NORMAL", "EXTRA"}:
            raise ValueError("synchronous must be FULL, NORMAL or EXTRA")
        if isinstance(url, os.PathLike) or (isinstance(url, str) and "://" not in url):
            url = f"sqlite:///{Path(url)}"
        sa_url = make_url(url)
        if sa_url.get_backend_name() != "sqlite":
            raise DatabaseError("only SQLite databases are supported")
        path: Path | None = None
        lock: FileLock | None = None
        if sa_url.database and sa_url.database != ":memory:":
            path = Path(sa_url.database).expanduser().resolve()
            _check_file(path)
            lock = FileLock(str(path) + ".lock", timeout=0)
            try:
                lock.acquire()
            except Timeout:
                raise DatabaseLocked(
                    f"{path} is already in use by another Desktop OMS window. "
                    "Close it first (or start this one with another --data-dir)."
                ) from None
            except OSError as exc:
                raise DatabaseError(f"Cannot lock {path}: {exc}") from exc
        try:
            if path is not None:
                tables, revision = _inspect_read_only(path)
                _check_schema(path, tables, revision)
                try:
                    _create_private_file(path)
                except OSError as exc:
                    raise DatabaseError(
                        f"Cannot create the database {path}: {exc.strerror or exc}"
                    ) from exc
            engine = create_engine(sa_url, future=True)
            synced_by_thread = path is not None and synchronous.upper() == "FULL"
            cls._install_pragmas(
                engine, synchronous.upper(), busy_timeout_ms, synced_by_thread=synced_by_thread
            )
            db = cls(engine, path, lock, synchronous.upper())
            try:
                db._migrate()
            except BaseException:
                engine.dispose()
                raise
            if synced_by_thread:
                from desktop_oms.storage.wal_sync import journal_syncer

                db.syncer = journal_syncer(path, busy_timeout_ms)
                db.syncer.mark_written()  # whatever the migration wrote
            return db
        except BaseException:
            if lock is not None:
                lock.release()
            raise

    @classmethod
    def open_read_only(cls, path: str | os.PathLike, *, busy_timeout_ms: int = 5000) -> Database:
        """Read an existing journal without locking it or changing a byte (exports, reports).

        Works while the app has the file open (WAL readers do not block the writer).
        """
        path = Path(path).expanduser().resolve()
        if not path.exists():
            raise DatabaseError(f"There is no Desktop OMS database at {path}")
        _check_file(path)
        tables, revision = _inspect_read_only(path)
        _check_schema(path, tables, revision)
        if revision != HEAD_REVISION:
            raise DatabaseError(
                f"{path} uses an older schema ({revision}); open it once with the app to upgrade it"
            )
        engine = create_engine(f"sqlite:///{path.as_uri()}?mode=ro&uri=true")
        cls._install_pragmas(engine, "FULL", busy_timeout_ms, read_only=True)
        db = cls(engine, path, None, "FULL")
        db.read_only = True
        return db

    @staticmethod
    def _install_pragmas(
        engine: Engine,
        synchronous: str,
        busy_timeout_ms: int,
        read_only: bool = False,
        synced_by_thread: bool = False,
    ) -> None:
        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn, _record):  # pragma: no branch
            # Let SQLAlchemy's transaction control drive BEGIN (pysqlite's legacy mode is off).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            if not read_only:
                cur.execute("PRAGMA journal_mode=WAL")
                if synced_by_thread:  # FULL durability, flushed and checkpointed off the loop
                    cur.execute("PRAGMA synchronous=NORMAL")
                    cur.execute("PRAGMA wal_autocheckpoint=0")
                else:
                    cur.execute(f"PRAGMA synchronous={synchronous}")
                cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):  # pragma: no branch
            # Writers take the write lock up front (no deadlock on lock upgrade); readers don't.
            immediate = conn.get_execution_options().get("oms_write", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    def _migrate(self) -> None:
        try:
            with self.engine.connect() as conn:
                current = None
                if "alembic_version" in set(inspect(conn).get_table_names()):
                    current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
                conn.rollback()
        except (SADatabaseError, OperationalError) as exc:
            raise self._explain(exc) from exc
        if current == HEAD_REVISION:
            return
        from alembic import command

        cfg = _alembic_config()
        try:
            with self.engine.begin() as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except (SADatabaseError, OperationalError) as exc:
            raise self._explain(exc) from exc
        log.info("database %s migrated to %s", self.path, HEAD_REVISION)

    def _explain(self, exc: Exception) -> DatabaseError:
        message = str(getattr(exc, "orig", exc))
        if "locked" in message or "busy" in message:
            return DatabaseLocked(f"{self.path} is locked by another program: {message}")
        if "not a database" in message or "malformed" in message:
            return NotAnOmsDatabase(f"{self.path} is corrupt ({message}). It was left untouched.")
        if "readonly" in message or "read-only" in message:
            return DatabaseError(f"{self.path} is read-only: {message}")
        return DatabaseError(f"{self.path}: {message}")

    # ------------------------------------------------------------------ access
    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One durable transaction (BEGIN IMMEDIATE ... COMMIT)."""
        self._check_open()
        with self.engine.connect() as conn:
            conn = conn.execution_options(oms_write=True)
            with conn.begin():
                yield conn
        if self.syncer is not None:
            self.syncer.mark_written()

    async def durable(self) -> None:
        """Return once every transaction committed so far is on disk (at once when SQLite
        flushes inside its commits). Raises DatabaseError if the disk refused."""
        if self.syncer is None:
            return
        try:
            await self.syncer.durable()
        except DurabilityError as exc:
            raise DatabaseError(
                f"The order journal could not be saved: {exc.strerror or exc}"
            ) from exc

    @contextmanager
    def read(self) -> Iterator[Connection]:
        self._check_open()
        with self.engine.connect() as conn:
            try:
                yield conn
            finally:
                conn.rollback()

    def _check_open(self) -> None:
        if self._closed:
            raise DatabaseError("the database is closed")

    @property
    def closed(self) -> bool:
        return self._closed

    async def close(self) -> None:
        self.close_sync()

    def close_sync(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.syncer is not None:
            self.syncer.stop()
        self.engine.dispose()
        if self._lock is not None:
            self._lock.release()

    # ------------------------------------------------------------------ app state
    def get_state(self, key: str, default: str | None = None) -> str | None:
        from desktop_oms.storage.tables import app_state

        with self.read() as conn:
            value = conn.execute(app_state.select().where(app_state.c.key == key)).first()
        return default if value is None else value.value

    def set_state(self, key: str, value: str) -> None:
        from sqlalchemy.dialects.sqlite import insert

        from desktop_oms.infra.clock import utcnow
        from desktop_oms.storage.tables import app_state

        stmt = insert(app_state).values(key=key, value=value, updated_at=utcnow())
        stmt = stmt.on_conflict_do_update(
            index_elements=["key"], set_={"value": value, "updated_at": utcnow()}
        )
        with self.write() as conn:
            conn.execute(stmt)

    # ------------------------------------------------------------------ seed-style helpers
    async def get_active_orders(self):
        return self.journal.list_orders(active_only=True)
