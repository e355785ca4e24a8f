"""Medallion architecture on Delta Lake: bronze -> silver -> gold, incremental and idempotent.

One module per layer, each stating its guarantee: :mod:`.bronze` (raw files, append-only),
:mod:`.silver` (validated, quarantined, deduped, MERGEd), :mod:`.gold` (aggregates, only the
partitions silver touched replaced); :mod:`.stages` runs the three in order. Beside them:
:mod:`.datasets` (what differs between the events and flights datasets), :mod:`.lake`
(where a deployment keeps its tables, Delta versions and change feed), :mod:`.rules`
(silver's contract and its plain-Python reference), :mod:`.state` (the processed-version
file), :mod:`.checks` (independent queries over the tables), :mod:`.fakes` (the raw files)
and :mod:`.pitfalls` (the guide's versions the lesson runs).

Assumes one writer per table. Breaks if an *older* file is re-delivered after a newer
one: its copies become the latest ingestion and win (prefer a source-side version
column where the source has one).
"""
