"""The SQLite JobStore: state that survives a restart, or a ``kill -9``, of the server.

Why these choices:

* One connection (``check_same_thread=False``) behind one re-entrant lock. Requests are small
  and SQLite serialises writers anyway; a single connection keeps every call atomic with
  respect to the others in this process without a pool, and reads see every earlier write.
* ``journal_mode=WAL`` with ``synchronous=NORMAL``. Every public write runs in its own
  ``BEGIN IMMEDIATE ... COMMIT`` and returns only after the commit, when the transaction is in
  the WAL file (handed to the OS). A process killed at any instant, ``kill -9`` included, loses
  nothing it reported as written; only an OS crash or power loss can drop the last few commits,
  which is the right trade for an emulator (``synchronous=FULL`` would fsync every request).
* Records are stored as their ``to_json()`` text next to the few columns queries filter or sort
  on, each covered by an index, so a lookup's cost does not grow with stored state.
* Streamed blobs (uploads of up to 1 GB) are files under ``<database>-blobs/`` (see
  :mod:`.blobfiles`), fsynced before their row is committed; leftovers of a crash between the
  two are swept at open.
* ``PRAGMA user_version`` records the schema version; tables are created when missing, so a
  fresh file and a reopened one take the same path, and a file from a newer schema is refused.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from ..records import Delivery, Job
from .blobfiles import BlobFiles

__all__ = ["SCHEMA_VERSION", "SqliteStore"]

SCHEMA_VERSION = 2
BUSY_TIMEOUT_MS = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, provider TEXT NOT NULL,
    seq INTEGER NOT NULL, settled INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS jobs_tenant_seq ON jobs (tenant, seq, id);
CREATE INDEX IF NOT EXISTS jobs_settled ON jobs (settled);
CREATE TABLE IF NOT EXISTS results (
    job_id TEXT NOT NULL, idx INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (job_id, idx));
CREATE TABLE IF NOT EXISTS blobs (key TEXT PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS blob_files (key TEXT PRIMARY KEY, size INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, job_id TEXT, status TEXT NOT NULL,
    created_at REAL NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS deliveries_status ON deliveries (status, created_at, id);
CREATE INDEX IF NOT EXISTS deliveries_tenant ON deliveries (tenant, created_at, id);
CREATE INDEX IF NOT EXISTS deliveries_job ON deliveries (job_id, created_at, id);
CREATE TABLE IF NOT EXISTS sequences (
    tenant TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL,
    PRIMARY KEY (tenant, name));
"""

_TABLES = ("jobs", "results", "blobs", "blob_files", "deliveries", "sequences")


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _blob_range(job_id: str) -> tuple[str, str]:
    """Bounds of the keys starting with ``f"{job_id}/"``: "0" is the character after "/"."""
    return f"{job_id}/", f"{job_id}0"


def _where(clauses: dict[str, Any]) -> tuple[str, list[Any]]:
    """A ``WHERE`` clause (or "") matching each column to its value, skipping ``None``s."""
    used = {column: value for column, value in clauses.items() if value is not None}
    if not used:
        return "", []
    return " WHERE " + " AND ".join(f"{column} = ?" for column in used), list(used.values())


class SqliteStore:
    """A :class:`~mockserver.engine.store.base.JobStore` in one SQLite file (see the module)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        if self.path not in ("", ":memory:"):
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(
            self.path,
            check_same_thread=False,
            isolation_level=None,  # autocommit: transactions are explicit, see _write()
            timeout=BUSY_TIMEOUT_MS / 1000,
        )
        try:
            self._configure()
        except BaseException:
            self._conn.close()
            raise
        durable = self.path not in ("", ":memory:")
        self._files = BlobFiles(self.path + "-blobs" if durable else None, durable=durable)
        self._files.sweep({key for (key,) in self._rows("SELECT key FROM blob_files")})

    def _configure(self) -> None:
        conn = self._conn
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"{self.path}: store schema version {version} is newer than this "
                f"mockserver supports ({SCHEMA_VERSION})"
            )
        with self._write() as tx:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    tx.execute(statement)
            tx.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, committed before the block's caller gets control back."""
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        with self._lock:
            return self._conn.execute(sql, tuple(params)).fetchall()

    def _one(self, sql: str, params: Iterable[Any] = ()) -> Any | None:
        """The first column of the first row, or ``None`` when there is no row."""
        with self._lock:
            row = self._conn.execute(sql, tuple(params)).fetchone()
        return None if row is None else row[0]

    # --- counters ----------------------------------------------------------------------------

    def next_seq(self, tenant: str, name: str) -> int:
        with self._write() as tx:
            tx.execute(
                "INSERT INTO sequences (tenant, name, value) VALUES (?, ?, 1) "
                "ON CONFLICT (tenant, name) DO UPDATE SET value = value + 1",
                (tenant, name),
            )
            row = tx.execute(
                "SELECT value FROM sequences WHERE tenant = ? AND name = ?", (tenant, name)
            ).fetchone()
        return int(row[0])

    # --- jobs --------------------------------------------------------------------------------

    def put_job(self, job: Job, deliveries: Iterable[Delivery] = ()) -> None:
        row = (job.id, job.tenant, job.provider, job.seq, int(job.settled), _dump(job.to_json()))
        encoded = [self._delivery_row(d) for d in deliveries]  # fail before writing anything
        with self._write() as tx:
            tx.execute("INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?, ?, ?)", row)
            tx.executemany("INSERT OR REPLACE INTO deliveries VALUES (?, ?, ?, ?, ?, ?)", encoded)

    def get_job(self, job_id: str, tenant: str | None = None) -> Job | None:
        where, params = _where({"id": job_id, "tenant": tenant})
        data = self._one(f"SELECT data FROM jobs{where}", params)
        return None if data is None else Job.from_json(json.loads(data))

    def list_jobs(
        self,
        tenant: str | None = None,
        provider: str | None = None,
        *,
        after_seq: int | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[Job]:
        where, params = _where({"tenant": tenant, "provider": provider})
        if after_seq is not None:
            where += (" AND " if where else " WHERE ") + ("seq < ?" if newest_first else "seq > ?")
            params.append(after_seq)
        order = "DESC" if newest_first else "ASC"
        sql = f"SELECT data FROM jobs{where} ORDER BY tenant {order}, seq {order}, id {order}"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(max(limit, 0))
        return [Job.from_json(json.loads(data)) for (data,) in self._rows(sql, params)]

    def count_jobs(self, tenant: str | None = None, provider: str | None = None) -> int:
        where, params = _where({"tenant": tenant, "provider": provider})
        return int(self._one(f"SELECT COUNT(*) FROM jobs{where}", params) or 0)

    def unsettled_jobs(self) -> list[Job]:
        rows = self._rows("SELECT data FROM jobs WHERE settled = 0 ORDER BY tenant, seq, id")
        return [Job.from_json(json.loads(data)) for (data,) in rows]

    def delete_job(self, job_id: str) -> None:
        with self._write() as tx:
            self._delete_job_rows(tx, job_id)

    def _delete_job_rows(self, tx: sqlite3.Connection, job_id: str) -> None:
        tx.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
        tx.execute("DELETE FROM results WHERE job_id = ?", (job_id,))
        span = _blob_range(job_id)
        tx.execute("DELETE FROM blobs WHERE key >= ? AND key < ?", span)
        keys = tx.execute("SELECT key FROM blob_files WHERE key >= ? AND key < ?", span)
        for (key,) in keys.fetchall():
            self._files.delete(key)
        tx.execute("DELETE FROM blob_files WHERE key >= ? AND key < ?", span)

    def tenants(self) -> list[str]:
        sql = "SELECT tenant FROM jobs UNION SELECT tenant FROM deliveries ORDER BY tenant"
        return [tenant for (tenant,) in self._rows(sql)]

    # --- results and blobs -------------------------------------------------------------------

    def put_result(self, job_id: str, index: int, result: Any) -> bool:
        with self._write() as tx:
            cursor = tx.execute(
                "INSERT OR IGNORE INTO results (job_id, idx, data) VALUES (?, ?, ?)",
                (job_id, index, _dump(result)),
            )
            return cursor.rowcount == 1

    def get_result(self, job_id: str, index: int) -> Any | None:
        sql = "SELECT data FROM results WHERE job_id = ? AND idx = ?"
        data = self._one(sql, (job_id, index))
        return None if data is None else json.loads(data)

    def get_results(self, job_id: str) -> dict[int, Any]:
        rows = self._rows("SELECT idx, data FROM results WHERE job_id = ? ORDER BY idx", (job_id,))
        return {int(idx): json.loads(data) for idx, data in rows}

    def put_blob(self, key: str, data: bytes) -> None:
        with self._write() as tx:
            if tx.execute("DELETE FROM blob_files WHERE key = ?", (key,)).rowcount:
                self._files.delete(key)
            tx.execute("INSERT OR REPLACE INTO blobs (key, data) VALUES (?, ?)", (key, data))

    def get_blob(self, key: str) -> bytes | None:
        data = self._one("SELECT data FROM blobs WHERE key = ?", (key,))
        if data is not None:
            return bytes(data)
        handle = self.open_blob(key)
        if handle is None:
            return None
        with handle:
            return handle.read()

    def put_blob_stream(self, key: str, source: BinaryIO) -> int:
        size = self._files.write(key, source)  # fsynced before the row says it exists
        with self._write() as tx:
            tx.execute("DELETE FROM blobs WHERE key = ?", (key,))
            tx.execute("INSERT OR REPLACE INTO blob_files (key, size) VALUES (?, ?)", (key, size))
        return size

    def open_blob(self, key: str) -> BinaryIO | None:
        data = self._one("SELECT data FROM blobs WHERE key = ?", (key,))
        if data is not None:
            return io.BytesIO(bytes(data))
        if self._one("SELECT size FROM blob_files WHERE key = ?", (key,)) is None:
            return None
        return self._files.open(key)

    # --- deliveries --------------------------------------------------------------------------

    @staticmethod
    def _delivery_row(d: Delivery) -> tuple[str, str, str | None, str, float, str]:
        return (d.id, d.tenant, d.job_id, d.status, d.created_at, _dump(d.to_json()))

    def put_delivery(self, delivery: Delivery) -> None:
        row = self._delivery_row(delivery)
        with self._write() as tx:
            tx.execute("INSERT OR REPLACE INTO deliveries VALUES (?, ?, ?, ?, ?, ?)", row)

    def get_delivery(self, delivery_id: str) -> Delivery | None:
        data = self._one("SELECT data FROM deliveries WHERE id = ?", (delivery_id,))
        return None if data is None else Delivery.from_json(json.loads(data))

    def list_deliveries(
        self,
        tenant: str | None = None,
        job_id: str | None = None,
        status: str | None = None,
        limit: int | None = None,
    ) -> list[Delivery]:
        where, params = _where({"tenant": tenant, "job_id": job_id, "status": status})
        sql = f"SELECT data FROM deliveries{where} ORDER BY created_at DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(max(limit, 0))
        return [Delivery.from_json(json.loads(data)) for (data,) in self._rows(sql, params)]

    def pending_deliveries(self) -> list[Delivery]:
        sql = "SELECT data FROM deliveries WHERE status = 'pending' ORDER BY created_at, id"
        return [Delivery.from_json(json.loads(data)) for (data,) in self._rows(sql)]

    # --- housekeeping ------------------------------------------------------------------------

    def reset(self, tenant: str | None = None) -> None:
        with self._write() as tx:
            if tenant is None:
                for table in _TABLES:
                    tx.execute(f"DELETE FROM {table}")
                self._files.clear()
                return
            rows = tx.execute("SELECT id FROM jobs WHERE tenant = ?", (tenant,)).fetchall()
            for (job_id,) in rows:
                self._delete_job_rows(tx, job_id)
            tx.execute("DELETE FROM deliveries WHERE tenant = ?", (tenant,))
            tx.execute("DELETE FROM sequences WHERE tenant = ?", (tenant,))

    def close(self) -> None:
        """Close the connection (idempotent); SQLite checkpoints the WAL into the main file."""
        with self._lock:
            self._conn.close()
            self._files.close()
