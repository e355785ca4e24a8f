"""Bulk loading into PostgreSQL (lesson 14): every loader measured, the warehouse load, bad rows reported.

One module per job: :mod:`.tables` (the two tables and the SQL, composed with ``psycopg.sql``),
:mod:`.rows` (the same rows in every loader's container), :mod:`.loaders` (row-by-row
``INSERT`` to ``COPY``), :mod:`.spark_jdbc` (Spark's JDBC writer), :mod:`.measure` and
:mod:`.rates` (timing, checking and the ratio to ``COPY``), :mod:`.staging` (Parquet in the lake,
written by Spark), :mod:`.ledger` (which files a table holds), :mod:`.warehouse` (stage, validate,
publish in one transaction), :mod:`.rules` and :mod:`.rejects` (typed validation of text rows, a
rejects table), :mod:`.experiments` (indexes, ``UNLOGGED``, commits), :mod:`.checks` (a reader
during loads), :mod:`.fakes` (a CSV with bad rows) and :mod:`.pitfalls` (the guide's versions).

No credentials in SQL: connections come from the settings (:mod:`pipeline_patterns.postgres`),
Spark's from JDBC properties, and ``COPY ... FROM STDIN`` reads what the client sends, so the
database never needs a storage key.
"""
