"""Lambda architecture: a batch layer, a speed layer and a serving layer that merges them.

* **Master dataset** — raw events appended to a date-partitioned Delta table (immutable,
  reprocessable); the same events also flow through Kafka. (:mod:`.batch_layer`)
* **Batch layer** — the guide's daily aggregation (per user and event type: events,
  revenue, last event) over one date; publishing a date moves the *cutoff*. (:mod:`.batch_layer`)
* **Speed layer** — Structured Streaming from Kafka, watermark, one-minute windows,
  upserted into PostgreSQL through ``foreachBatch``. (:mod:`.speed_layer`)
* **Serving layer** — one SQL view: batch rows for dates before the cutoff plus speed rows
  for windows starting at or after it (half-open intervals: each event counted once).
  (:mod:`.tables` creates it, :mod:`.serving` reads it)
* :mod:`.simulation` replays a day of arrivals through all three and checks the serving
  view against a plain-Python recomputation (:mod:`pipeline_patterns.architectures.aggregation`)
  at every step; :mod:`.fakes` generates the events.

What breaks the speed layer, and why Lambda keeps a batch layer: an event that arrives after
the watermark has passed its window is dropped by the streaming aggregation (Spark drops
rows older than the watermark once it has moved past them). The real-time view stays short
by exactly those events until the batch layer recomputes their date from the master dataset
(which keeps every event, late or not) and the cutoff moves past it.

Revenue is kept in integer cents end to end so every comparison is exact.
"""
