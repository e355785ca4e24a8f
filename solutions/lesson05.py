"""Reference solutions for lesson 05 (instructors): graded by `check(..., solutions=True)`."""


def emit_only_final_sessions(session, watermark, next_click):
    # Final once the watermark has reached the session's end (last click + gap): every click still to come is
    # at or after the watermark, so it can neither extend the session nor bridge it with the next one. A next
    # click proves nothing (an earlier one may still be on its way: user_bridge).
    return session.end <= watermark


# Uploads are up to 20 minutes late: the watermark waits that long (no click dropped), and 20 <= 30 keeps
# the dashboard within its freshness budget.
delay_for_late_uploads = 20
