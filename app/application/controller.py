"""Routes of the issuance application: the emailed link, the form, documents, 確認, 完了."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Response

from app.application import bounds, form, service, uploads
from app.application.current import Current
from app.application.documents import MAX_BYTES, MAX_FILES
from app.application.pages import (
    complete_page,
    confirm_page,
    documents_page,
    form_page,
)
from app.application.storage import store_for
from app.i18n import _
from app.links import web as links
from app.links.tokens import LinkState
from app.links.web import LinkNotLive
from app.registration.links import APPLY_LINK, registration_for_token
from app.web.render import INVALID, see_other, wants_fragment
from app.web.state import form_values, services
from app.web.types import Req

# Six files of 4 MB and the form around them; beyond this the 413 page explains.
UPLOAD_BODY_LIMIT = MAX_FILES * MAX_BYTES + 1_000_000


async def current_application(request: Req) -> Current:
    """The live link's registration and its application (every /apply page works on them);
    LinkNotLive otherwise, answered with the page that says why."""
    if request.session.get(APPLY_LINK.session_key) is None and isinstance(
        request.session.get("apply_done"), str
    ):
        # After 申請 this browser's history leads back here: to the outcome, not a broken link.
        raise LinkNotLive(APPLY_LINK, LinkState.USED, location="/apply/complete")
    token_id = await links.live_token(request, APPLY_LINK)
    registration = await registration_for_token(token_id)
    if registration is None:
        raise LinkNotLive(APPLY_LINK, LinkState.INVALID)
    application = await service.reopen_if_declined(await service.for_registration(registration))
    request.session["apply_app"] = application["public_id"]
    return Current(token_id, registration, application)


def _return_to(values: dict[str, str]) -> str:
    return "/apply/confirm" if values.get("return") == "confirm" else "/apply/documents"


class ApplicationController(Controller):
    path = "/apply"
    dependencies = {"current": Provide(current_application)}  # noqa: RUF012

    @get("/t/{token:str}")
    async def open_link(self, request: Req, token: FromPath[str]) -> Response[Any]:
        return await links.exchange(request, APPLY_LINK, token)

    @get("")
    async def show_form(
        self, request: Req, current: NamedDependency[Current], return_to: FromQuery[str] = ""
    ) -> Response[Any]:
        values = service.answers_of(current.application)
        if not values and current.registration["applicant_type"] == "self":
            values = {"cert_email": current.registration["email"]}
        return await form_page(request, current, values, {}, return_to=return_to)

    @post("")
    async def submit_form(self, request: Req, current: NamedDependency[Current]) -> Response[Any]:
        values = await form_values(request)
        kind = current.registration["applicant_type"]
        # An answer over its maximum: nothing stored, its message shown (save or next alike).
        too_long = await service.save_answers(current.application["id"], values, kind)
        saving = values.get("action") == "save"
        if saving and not too_long:
            return await form_page(
                request, current, values, {}, saved=True, return_to=values.get("return", "")
            )
        cleaned, errors = form.check_application(values, kind, current.registration["email"])
        errors = bounds.in_page_order({**({} if saving else errors), **too_long}, kind)
        if errors:
            kept = {**values, **{k: v for k, v in cleaned.items() if k not in errors}}
            return await form_page(
                request, current, kept, errors, status=INVALID, return_to=values.get("return", "")
            )
        await service.save_answers(current.application["id"], cleaned, kind)
        return see_other(_return_to(values))

    @post("/fields/{name:str}")
    async def check_field(
        self, request: Req, current: NamedDependency[Current], name: FromPath[str]
    ) -> Response[Any]:
        """Inline check on leaving a field; what was typed is kept as a draft on the way."""
        kind = current.registration["applicant_type"]
        values = await form_values(request)
        if name == "subject_preview":
            return await form_page(request, current, values, {}, block="subject_preview")
        if name not in form.inline_fields(kind):
            raise NotFoundException()
        too_long = await service.save_answers(current.application["id"], values, kind)
        value, error = form.check_field(name, values, kind, current.registration["email"])
        error = too_long.get(name) or error
        shown = {name: error} if error else {}
        return await form_page(
            request,
            current,
            {**values, name: value},
            shown,
            field=name,
            status=INVALID if shown else 200,
            inline=wants_fragment(request),  # without htmx: the whole page, this field checked
        )

    @get("/documents")
    async def show_documents(
        self, request: Req, current: NamedDependency[Current], return_to: FromQuery[str] = ""
    ) -> Response[Any]:
        notice = request.session.pop("apply_notice", None)
        return await documents_page(request, current, {}, notice=notice, return_to=return_to)

    @post("/documents", request_max_body_size=UPLOAD_BODY_LIMIT)
    async def upload_documents(
        self, request: Req, current: NamedDependency[Current]
    ) -> Response[Any]:
        submitted = await request.form()
        return_to = str(submitted.get("return") or "")
        if submitted.get("action") == "next":
            errors = await service.documents_missing(current.application)
            if errors:
                return await documents_page(
                    request, current, errors, status=INVALID, return_to=return_to
                )
            return see_other("/apply/confirm")
        files = [f for f in submitted.getall("documents", []) if isinstance(f, UploadFile)]
        files = [f for f in files if f.filename]
        if len(files) != 1:  # one kind per upload, so one file: each file gets its own kind
            message = (
                _(
                    "1回にアップロードできるファイルは1つです。書類の種類を選んで、1つずつアップロードしてください。"
                )
                if files
                else _("アップロードするファイルを選択してください。")
            )
            errors = {"documents": message}
            return await documents_page(
                request, current, errors, status=INVALID, return_to=return_to
            )
        result = await uploads.add_documents(
            current.application["id"],
            str(submitted.get("kind") or ""),
            [uploads.Upload(f.filename or "", await f.read()) for f in files],
            store_for(services(request).settings),
            services(request).engine,
        )
        if result.refused:
            return await documents_page(
                request,
                current,
                {"documents": result.refused},
                status=INVALID,
                accepted=len(result.accepted),
                return_to=return_to,
            )
        request.session["apply_notice"] = len(result.accepted)
        suffix = "?return_to=confirm" if return_to == "confirm" else ""
        return see_other(f"/apply/documents{suffix}")

    @post("/documents/{public_id:str}/delete")
    async def delete_document(
        self, request: Req, current: NamedDependency[Current], public_id: FromPath[str]
    ) -> Response[Any]:
        store = store_for(services(request).settings)
        await uploads.delete_document(current.application["id"], public_id, store)
        values = await form_values(request)
        suffix = "?return_to=confirm" if values.get("return") == "confirm" else ""
        return see_other(f"/apply/documents{suffix}")

    @get("/confirm")
    async def confirm(self, request: Req, current: NamedDependency[Current]) -> Response[Any]:
        return await confirm_page(request, current, {})

    @post("/confirm")
    async def submit(self, request: Req) -> Response[Any]:
        token_id = request.session.get("apply_token")
        try:
            current = await current_application(request)
        except LinkNotLive:
            # A second press after success (or a concurrent one): the outcome, not an error.
            done = await _after_submit(request, token_id)
            if done is None:
                raise
            return done
        values = await form_values(request)
        message = form.agreement_error(values)
        if message:
            return await confirm_page(request, current, {"agree": message}, status=INVALID)
        try:
            await service.submit(current.application, current.token_id, services(request))
        except service.NotReady as exc:
            return await confirm_page(request, current, exc.errors, status=INVALID)
        except service.AlreadySubmitted:
            return await _after_submit(request, token_id) or see_other("/apply/link/used")
        request.session["apply_done"] = current.application["public_id"]
        request.session.pop("apply_token", None)
        return see_other("/apply/complete")

    @get("/complete")
    async def complete(self, request: Req) -> Response[Any]:
        public_id = request.session.get("apply_done")
        if not isinstance(public_id, str):
            return see_other("/apply")
        return await complete_page(request, public_id)

    @get("/link/{link_state:str}")
    async def link_state(self, request: Req, link_state: FromPath[str]) -> Response[Any]:
        return links.state_page(request, APPLY_LINK, link_state)


async def _after_submit(request: Req, token_id: Any) -> Response[Any] | None:
    """When this browser's application was submitted meanwhile, show its 完了."""
    public_id = request.session.get("apply_app")
    if not isinstance(public_id, str) or not isinstance(token_id, int):
        return None
    if not await service.is_submitted(public_id):
        return None
    request.session["apply_done"] = public_id
    request.session.pop("apply_token", None)
    return see_other("/apply/complete")
