"""Bulk writing of the generated rows: COPY on PostgreSQL, executemany elsewhere."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

import sqlalchemy as sa

from .data import CHUNK


class Writer:
    """Bulk inserts: COPY on PostgreSQL, executemany in chunks elsewhere; explicit ids."""

    def __init__(self, connection: sa.Connection) -> None:
        self.connection = connection
        self.postgres = connection.dialect.name == "postgresql"
        self.tables: set[str] = set()

    def next_id(self, table: sa.Table) -> int:
        self.tables.add(table.name)
        return (self.connection.scalar(sa.select(sa.func.max(table.c.id))) or 0) + 1

    def insert(self, table: sa.Table, rows: Iterable[dict]) -> int:
        count = 0
        for chunk in _chunks(rows, CHUNK):
            count += len(chunk)
            if self.postgres:
                self._copy(table, chunk)
            else:
                self.connection.execute(table.insert(), chunk)
        return count

    def _copy(self, table: sa.Table, rows: list[dict]) -> None:
        columns = list(rows[0])
        names = ", ".join(self.connection.dialect.identifier_preparer.quote(c) for c in columns)
        quoted = self.connection.dialect.identifier_preparer.format_table(table)
        cursor = self.connection.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {quoted} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([_copyable(row[c]) for c in columns])

    def finish(self) -> None:
        """Move PostgreSQL's id sequences past the ids written explicitly."""
        if not self.postgres:
            return
        for name in sorted(self.tables):
            table = sa.table(name, sa.column("id"))
            highest = sa.select(sa.func.max(table.c.id)).scalar_subquery()
            quoted = self.connection.dialect.identifier_preparer.quote(name)
            sequence = sa.func.pg_get_serial_sequence(quoted, "id")
            self.connection.execute(sa.select(sa.func.setval(sequence, highest)))


def _chunks(rows: Iterable[dict], size: int) -> Iterator[list[dict]]:
    chunk: list[dict] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _copyable(value):
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value
