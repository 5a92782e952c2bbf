"""The CAPTCHA challenge table."""

from __future__ import annotations

from piccolo.columns import Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class CaptchaChallenge(Table, tablename="captcha_challenge"):
    """One challenge: shown as image and audio, answerable once before expires_at."""

    id: Serial
    public_id = Varchar(length=43, unique=True, index=True)
    answer = Varchar(length=16)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(index=True)
    used_at = Timestamptz(null=True, default=None)
