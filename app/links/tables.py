"""The token columns every one-time link table carries (a Piccolo mixin)."""

from __future__ import annotations

from piccolo.columns import Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow


class TokenColumns:
    """Only the SHA-256 of the token is stored; a link is live while it is neither used nor
    superseded and has not expired. Mixed into a Table next to the columns saying whose
    link it is (registration, application, operator, certificate...)."""

    token_hash = Varchar(length=64, unique=True, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(index=True)
    used_at = Timestamptz(null=True, default=None)
    superseded_at = Timestamptz(null=True, default=None)
