"""Stream processing: Kafka topic design and partition keys, watermarks, sessions."""
