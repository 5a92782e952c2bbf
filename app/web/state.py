"""What handlers reach through request.app.state: settings, engine, templates, job queue, and
the outbox that feature services write mail through."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import jinja2
from piccolo.engine.base import Engine
from piccolo.table import Table

from app import cpu, db
from app.captcha.service import challenge_key
from app.jobs import JobQueue
from app.mail.outbox import Outbox
from app.settings import Settings
from app.web.types import Req


@dataclass
class Services:
    settings: Settings
    engine: Engine
    env: jinja2.Environment
    queue: JobQueue
    tables: Sequence[type[Table]]
    captcha_key: bytes = field(init=False, repr=False)
    outbox: Outbox = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.captcha_key = challenge_key(self.settings.app)
        self.outbox = Outbox(self.engine, self.env, self.settings.app.mail_domain, self.queue)

    async def start(self) -> None:
        """Open what the app needs: tables bound to this engine, its pool, the job queue."""
        db.bind_tables(self.engine, self.tables)
        await db.start(self.engine, self.settings.database)
        await self.queue.start()

    async def stop(self) -> None:
        await self.queue.close()
        await db.stop(self.engine)
        cpu.shutdown()


def services(request: Req) -> Services:
    result: Services = request.app.state.services
    return result


async def form_values(request: Req) -> dict[str, str]:
    """The posted form as plain strings (the last value of repeated names)."""
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}
