"""Reference solutions for lesson 12 (instructors): graded by `check(..., solutions=True)`."""

# Hiccups are up to 3 timeouts in a row, so it takes 4 to open. In the 20 s outage the service then sees the
# 4 calls that open it plus one trial per reset timeout: 20 / 1.5 ≈ 13, 17 in all (at most 20 allowed).
# Once the service is back, the next trial comes within 1.5 s and one success closes the circuit (within 2 s).
survive_the_outage = {"failure_threshold": 4, "reset_timeout_s": 1.5, "success_threshold": 1}

# System errors are OSErrors: builtin timeouts and refused connections, and every requests exception
# (ReadTimeout, ConnectionError, HTTPError for a 503). A 404 (PriceNotFound, a LookupError) and the
# client's own ValueError are answers from a healthy service: they must not count.
count_only_system_errors = (OSError,)
