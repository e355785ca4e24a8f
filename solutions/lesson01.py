"""Reference solutions for lesson 01 (instructors): graded by `check(..., solutions=True)`."""


def spread_the_hot_key(event):
    # Salt only the hot key: its events spread over 24 keys (and give up their order); everyone else keeps one key.
    if event["user_id"] == "user_hot":
        return f"user_hot#{event['seq'] % 24}"
    return event["user_id"]
