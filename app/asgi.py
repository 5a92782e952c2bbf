"""The Litestar application: create_app(settings) wires settings, database, jobs and routes."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.exceptions import HTTPException
from litestar.plugins.htmx import HTMXPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.stores.registry import StoreRegistry
from litestar.template.config import TemplateConfig

from app import db
from app.application.controller import ApplicationController
from app.approval.controller import ApprovalController
from app.captcha.controller import CaptchaController
from app.console.router import console_router
from app.issuance import ca
from app.issuance.ca.controller import CaController
from app.issuance.controller import PickupController
from app.jobs import queue_for
from app.links.web import LinkNotLive, link_not_live
from app.logs import configure_logging
from app.pages.controller import PagesController
from app.registration.controller import RegistrationController
from app.revocation.controller import RevocationController
from app.revocation.ocsp import OcspController
from app.schema import TABLES
from app.settings import ROOT, Settings
from app.templating import STATIC_PATH, make_environment
from app.web import bench, errors, inputs, middleware, security
from app.web.state import Services
from tasks.registry import JOBS


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    configure_logging(settings.app.log_level)
    engine = db.engine_for(settings.database)
    db.bind_tables(engine, TABLES)
    env = make_environment(settings)
    queue = queue_for(settings, JOBS)
    services = Services(settings=settings, engine=engine, env=env, queue=queue, tables=TABLES)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await services.start()
        try:
            yield
        finally:
            await services.stop()

    stores = StoreRegistry()
    if settings.jobs.redis_url:
        # Rate-limit counters shared by every replica of the app.
        stores = StoreRegistry(
            default_factory=lambda name: security.RedisOrMemoryStore.with_client(
                url=settings.jobs.redis_url, namespace=f"{settings.jobs.queue_name}:{name}"
            )
        )

    app = Litestar(
        route_handlers=[
            PagesController,
            RegistrationController,
            CaptchaController,
            ApplicationController,
            ApprovalController,
            PickupController,
            CaController,
            RevocationController,
            OcspController,
            console_router(settings),
            create_static_files_router(
                path=STATIC_PATH, directories=[ROOT / "static"], name="static"
            ),
            *bench.routes(settings),
        ],
        lifespan=[lifespan],
        plugins=[HTMXPlugin()],
        template_config=TemplateConfig(
            instance=JinjaTemplateEngine.from_environment(env),
        ),
        request_class=inputs.StrictRequest,
        multipart_form_part_limit=inputs.FORM_FIELD_LIMIT,
        # The URL check, session, rate limit, compression and CSRF in one layer, each of
        # Litestar's only where a request needs it (app/web/middleware).
        middleware=middleware.stack(settings),
        before_send=[middleware.before_send(settings)],
        # Forms are small; the documents upload raises its own limit. Larger: the 413 page.
        request_max_body_size=security.FORM_BODY_LIMIT,
        # A portal of HTML pages publishes no API schema (and no doc UIs loading CDN scripts).
        openapi_config=None,
        exception_handlers={
            HTTPException: errors.http_exception_handler,
            LinkNotLive: link_not_live,
            Exception: errors.internal_error_handler,
        },
        stores=stores,
        debug=False,
    )
    app.state.services = services
    app.state.ca = ca.select(settings)
    return app


def app_from_env() -> Litestar:
    """Factory for servers (granian --factory app.asgi:app_from_env)."""
    app = create_app()
    # Everything built so far lives as long as the process: keep it out of the garbage
    # collector's full passes, which otherwise walk it again and again under load.
    gc.freeze()
    return app
