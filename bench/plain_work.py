"""The plain-RQ baseline's job in a worker started by `rq worker`: nothing of Signoff's is imported, so a
work horse does not import it for every job (the worker never imported it)."""


def add(a: int, b: int) -> int:
    return a + b
