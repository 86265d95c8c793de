"""Many rows in one statement, for set-based work (a billing run's chunk, its outbox events).

- `insert_rows(session, table, rows, skip_conflicts_on=…, returning=…)` inserts dicts with the
  same keys, in the caller's transaction, in their order. `skip_conflicts_on` names the columns
  of a unique index: rows that would break it are skipped (`ON CONFLICT DO NOTHING`);
  `returning` names a column whose values come back for the rows really inserted.
- `update_rows(session, table, rows, key="id")` sets, in each row of `table` whose `key` is a
  given row's, that row's other values.

On PostgreSQL each is one statement, `INSERT … SELECT * FROM unnest(:c0, :c1, …)` or `UPDATE …
FROM unnest(…)`, each column's values sent as one array: psycopg2 quotes arrays in C, so a
thousand rows cost a few milliseconds of Python where SQLAlchemy's executemany
("insertmanyvalues", a bound parameter per value) spends three times more, and the planner
joins an UPDATE's rows by the key's index whatever its statistics say (an `UPDATE … WHERE id IN
(…)` joined to another table was planned as a scan of both tables). COPY would be faster still,
but psycopg2 refuses it on the green connections eventlet makes. Other dialects (SQLite, the
embedded default, in-process) get SQLAlchemy's executemany. Values go through each column's own
bind processing (`UtcDateTime`, JSON) either way.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table, bindparam, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

_SQL: dict[tuple, tuple[str, list]] = {}


def insert_rows(session: Session, table: Table, rows: Sequence[dict],
                skip_conflicts_on: Sequence[str] | None = None,
                returning: str | None = None) -> list:
    if not rows:
        return []
    dialect = session.get_bind().dialect
    columns = list(rows[0])
    if dialect.name != "postgresql":
        stmt = sqlite.insert(table) if dialect.name == "sqlite" else table.insert()
        if skip_conflicts_on:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(skip_conflicts_on))
        if returning:
            return list(session.execute(stmt.returning(table.c[returning]), rows).scalars())
        session.execute(stmt, list(rows))
        return []
    key = ("insert", table.name, tuple(columns), tuple(skip_conflicts_on or ()), returning)
    if key not in _SQL:
        arrays = ", ".join(
            f"CAST(:c{n} AS {table.c[name].type.compile(dialect=dialect)}[])"
            for n, name in enumerate(columns))
        # names from the table's metadata; every value is bound
        sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) "  # noqa: S608
               f"SELECT * FROM unnest({arrays})"
               + (f" ON CONFLICT ({', '.join(skip_conflicts_on)}) DO NOTHING"
                  if skip_conflicts_on else "")
               + (f" RETURNING {returning}" if returning else ""))
        _SQL[key] = (sql, [table.c[name].type.bind_processor(dialect) for name in columns])
    sql, processors = _SQL[key]
    result = session.execute(text(sql), _arrays(columns, processors, rows))
    return list(result.scalars()) if returning else []


def update_rows(session: Session, table: Table, rows: Sequence[dict], key: str = "id") -> None:
    if not rows:
        return
    dialect = session.get_bind().dialect
    columns = list(rows[0])
    others = [name for name in columns if name != key]
    if dialect.name != "postgresql":
        stmt = (table.update().where(table.c[key] == bindparam(f"b_{key}"))
                .values({name: bindparam(f"b_{name}") for name in others}))
        session.execute(stmt, [{f"b_{name}": row[name] for name in columns} for row in rows])
        return
    cache_key = ("update", table.name, tuple(columns), key)
    if cache_key not in _SQL:
        arrays = ", ".join(
            f"CAST(:c{n} AS {table.c[name].type.compile(dialect=dialect)}[])"
            for n, name in enumerate(columns))
        assignments = ", ".join(f"{name} = v.{name}" for name in others)
        sql = (f"UPDATE {table.name} SET {assignments} "  # noqa: S608 - as in insert_rows
               f"FROM unnest({arrays}) AS v({', '.join(columns)}) "
               f"WHERE {table.name}.{key} = v.{key}")
        _SQL[cache_key] = (sql, [table.c[name].type.bind_processor(dialect)
                                 for name in columns])
    sql, processors = _SQL[cache_key]
    session.execute(text(sql), _arrays(columns, processors, rows))


def _arrays(columns: list[str], processors: list, rows: Sequence[dict]) -> dict[str, str]:
    """Each column's values, as the database takes them, in one array literal."""
    params = {}
    for n, (name, process) in enumerate(zip(columns, processors, strict=True)):
        values = [row[name] for row in rows]
        params[f"c{n}"] = array_literal([process(v) for v in values] if process else values)
    return params


def array_literal(values: Sequence) -> str:
    """PostgreSQL's text form of an array (`{"a","b\\"c",NULL,42}`), which the server reads with
    one cheap parse: about half the client CPU and server time of psycopg2's `ARRAY[…]` of one
    literal per element. Text is always quoted (so the word NULL stays text), `\\` and `"`
    escaped; None is NULL; numbers as digits; times and dates in ISO form. A column of one type
    (the usual case) is escaped and joined in a few passes over one string."""
    if not values:
        return "{}"
    kinds = set(map(type, values))
    if kinds == {str}:  # NUL cannot be in PostgreSQL text: a separator no value holds…
        body = "\0".join(values)
        if body.count("\0") == len(values) - 1:  # …unless one does: the server will refuse it
            body = body.replace("\\", "\\\\").replace('"', '\\"')
            return '{"' + body.replace("\0", '","') + '"}'
    if kinds == {int}:
        return "{" + ",".join(map(str, values)) + "}"
    if len(kinds) == 1 and hasattr(values[0], "isoformat"):
        return '{"' + '","'.join(value.isoformat() for value in values) + '"}'
    return "{" + ",".join(map(_element, values)) + "}"


def _element(value) -> str:
    if value is None:
        return "NULL"
    if value is True or value is False:
        return "t" if value else "f"
    if isinstance(value, int | float):
        return repr(value)
    text_ = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return '"' + text_.replace("\\", "\\\\").replace('"', '\\"') + '"'
