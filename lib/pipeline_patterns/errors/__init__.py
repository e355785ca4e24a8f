"""Error handling: dead letter queue, re-drive, circuit breaker (the guide's versions in pitfalls, props in fakes)."""
