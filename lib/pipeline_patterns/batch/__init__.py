"""Batch processing on Spark (lessons 02-03): sizing, partitions, caching and joins."""
