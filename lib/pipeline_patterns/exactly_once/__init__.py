"""Exactly-once: Kafka transactions, the idempotent producer, fencing, the Spark -> PostgreSQL sink, audits."""
