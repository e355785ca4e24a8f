"""Reference solutions for lesson 04 (instructors): graded by `check(..., solutions=True)`."""

from datetime import timedelta

# ev0013 (09:42) arrives after step 0's maximum event time of 10:00; its earliest window ends at 09:43, so the
# watermark (10:00 - delay) must stay before 09:43: more than 17 minutes, and 18 is the first whole minute.
keep_the_late_event = timedelta(minutes=18)

# Completeness grows and state grows with the delay: 37 minutes is the first to count 95% fully (96.2%),
# and the state peaks at 116 rows; from 39 minutes on it passes 120.
delay_within_a_state_budget = timedelta(minutes=37)
