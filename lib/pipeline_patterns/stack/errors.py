"""One exception type whose message a newcomer can act on."""


class StackError(RuntimeError):
    """A stack problem, stated as: what was expected, what was found, how to fix it."""
