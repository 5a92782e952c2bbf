"""Keeping an application's search words (app.application.search) with its answers: written
in the caller's transaction wherever the answers, the reference or the email change."""

from __future__ import annotations

from app.application.answers import answers_of
from app.application.search import terms_of
from app.application.tables import Application, ApplicationSearchTerm

_SOURCE = (
    "SELECT a.answers, a.reference, r.email, c.code FROM application a "
    "JOIN registration r ON r.id = a.registration JOIN company c ON c.id = r.company "
    "WHERE a.id = {}"
)


async def refresh(application_id: int) -> None:
    """Replace the application's words with those of what it holds now."""
    rows = await Application.raw(_SOURCE, application_id)
    await ApplicationSearchTerm.delete().where(ApplicationSearchTerm.application == application_id)
    if not rows:
        return
    row = rows[0]
    terms = terms_of(answers_of(row), row["email"], row["reference"] or "", row["code"])
    if terms:
        await ApplicationSearchTerm.insert(
            *[ApplicationSearchTerm(application=application_id, term=t) for t in sorted(terms)]
        )
