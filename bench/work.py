"""The trivial work both paths run: the same function, plain and as a Signoff action."""

from __future__ import annotations

from signoff import Signoff

signoff = Signoff()


def add(a: int, b: int) -> int:
    return a + b


@signoff.action("bench_add", category="internal")
def bench_add(a: int, b: int) -> int:
    return add(a, b)


#: A pending action as a real one is: a recipient, a subject, a paragraph of body, a one-line reason.
EMAIL_BODY = ("Hi Sarah, thanks for your patience while we looked into the duplicate charge on your March "
              "invoice. We have refunded it in full; it should reach your card within five working days. "
              "Reply here if it has not.")
EMAIL_REASON = "Customer asked twice about the duplicate charge; the refund went through this morning."


@signoff.action("bench_email", category="external_communication")
def bench_email(to: str, subject: str, body: str) -> str:
    return to


def _email_preview(to: str, subject: str, body: str) -> str:
    """The rendered email, as a reviewer would read it: the kind of preview a real action has."""
    return f"To: {to}\nSubject: {subject}\n\n{body}"


@signoff.action("bench_email_previewed", category="external_communication", preview=_email_preview)
def bench_email_previewed(to: str, subject: str, body: str) -> str:
    return to
