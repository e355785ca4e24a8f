"""Ingestion patterns: change data capture (lesson 13) and bulk loading (lesson 14)."""
