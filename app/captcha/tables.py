"""The CAPTCHA challenge table."""

from __future__ import annotations

from piccolo.columns import Serial, Timestamptz, Varchar
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table


class CaptchaChallenge(Table, tablename="captcha_challenge"):
    """The use of one challenge. Challenges themselves are not stored (their ids are sealed,
    app.captcha.service): answering one writes this row, public_id being the id's nonce, so a
    second answer finds it taken. Kept until expires_at, when the id is refused anyway."""

    id: Serial
    public_id = Varchar(length=43, unique=True, index=True)
    answer = Varchar(length=16)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(index=True)
    used_at = Timestamptz(null=True, default=None)
