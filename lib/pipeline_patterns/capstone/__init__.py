"""Lesson 17, the capstone: one pipeline from a database's WAL to a serving table, built from the sections.

Composition only: the shop and its capture are lesson 13's (:mod:`~pipeline_patterns.ingestion`), the silver
replica's MERGE with the source-position rule is :class:`~pipeline_patterns.ingestion.cdc_replica.Replica`,
poison is classified as in lesson 11 (:mod:`~pipeline_patterns.errors.orders`, ``errors.dlq_headers``), and
serving follows lesson 10's rule (one PostgreSQL transaction with the batch ledger). The modules here hold only
what the composition adds: the payments stream (:mod:`.payments`), the serving table (:mod:`.serving`), the
micro-batch that ties them with bronze, silver and gold (:mod:`.pipeline`), the independent reference
(:mod:`.reference`), and the daily side Airflow runs beside the stream: a barrier on the stream's progress
(:mod:`.barrier`), the day's close and the lake's upkeep (:mod:`.maintenance`), driven and killed from outside by
:mod:`.daily`.
"""
