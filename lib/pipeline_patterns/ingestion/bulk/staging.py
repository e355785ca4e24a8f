"""The lake side of the warehouse load: Spark writes the rows as Parquet files, the loader reads them back.

Guarantee: :func:`staged_files` returns a folder's Parquet files only when Spark's ``_SUCCESS``
marker says the write finished (a half-written stage is refused, never half-loaded), and
:func:`fingerprint` names each file by the SHA-256 of its bytes and its row count from the
Parquet footer, which the load later checks against the rows it staged in PostgreSQL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline_patterns.ingestion.bulk.ledger import StagedFile
from pipeline_patterns.ingestion.bulk.rows import arrow_schema
from pipeline_patterns.ingestion.bulk.tables import TableSpec


class StagingIncomplete(RuntimeError):
    """A staging folder without a finished write."""


def stage(frame: Any, folder: Path, files: int = 2) -> list[Path]:
    """Write the Spark DataFrame ``frame`` as ``files`` Parquet files into the new ``folder``; return them."""
    if files < 1:
        raise ValueError(f"stage at least one file, got files={files}")
    frame.repartition(files).write.mode("errorifexists").parquet(str(folder))
    return staged_files(folder)


def staged_files(folder: Path) -> list[Path]:
    """The Parquet files of a finished Spark write, in name order."""
    folder = Path(folder)
    if not (folder / "_SUCCESS").exists():
        raise StagingIncomplete(f"{folder} has no _SUCCESS marker: the write that staged it did not finish (or "
                                "the folder is not a Spark output). Stage the data again into a new folder.")
    found = sorted(p for p in folder.glob("part-*.parquet") if p.stat().st_size)
    if not found:
        raise StagingIncomplete(f"{folder} finished but holds no part-*.parquet file: nothing to load")
    return found


def fingerprint(path: Path) -> StagedFile:
    """The file's SHA-256 and its rows (from the Parquet footer)."""
    import pyarrow.parquet as pq

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return StagedFile(Path(path).name, digest.hexdigest(), pq.ParquetFile(path).metadata.num_rows)


def read_typed(path: Path, spec: TableSpec) -> Any:
    """A staged file as an Arrow table with the spec's columns and types (a lossy cast raises)."""
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    missing = [n for n in spec.names if n not in table.column_names]
    if missing:
        raise ValueError(f"{path} lacks the columns {missing}: expected {spec.names}, found {table.column_names}. "
                         "Stage the data with the target's columns.")
    import pyarrow as pa

    # Nullable on purpose: a null in a NOT NULL column is the load's validation to report, with its count.
    schema = pa.schema([f.with_nullable(True) for f in arrow_schema(spec)])
    return table.select(spec.names).cast(schema)


def write_parquet(table: Any, folder: Path, files: Sequence[tuple[int, int]]) -> list[Path]:
    """Stage an Arrow table without Spark (tests): one file per ``(start, stop)`` row range, then ``_SUCCESS``."""
    import pyarrow.parquet as pq

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=False)
    for i, (start, stop) in enumerate(files):
        pq.write_table(table.slice(start, stop - start), folder / f"part-{i:05d}.parquet")
    (folder / "_SUCCESS").touch()
    return staged_files(folder)
