"""Routes of the issuance application: the emailed link, the form, documents, 確認, 完了."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Response

from app.application import form, service, uploads
from app.application.documents import MAX_BYTES, MAX_FILES
from app.application.pages import (
    complete_page,
    confirm_page,
    documents_page,
    form_page,
    link_state_page,
)
from app.application.storage import store_for
from app.i18n import _
from app.registration import service as registration_service
from app.registration.service import LinkState
from app.web.render import INVALID, see_other
from app.web.state import form_values, services

Req = Request[Any, Any, Any]
# Six files of 4 MB and the form around them; beyond this the 413 page explains.
UPLOAD_BODY_LIMIT = MAX_FILES * MAX_BYTES + 1_000_000


@dataclass(frozen=True)
class Current:
    token_id: int
    registration: dict[str, Any]
    application: dict[str, Any]


async def _current(request: Req) -> Current | Response[Any]:
    """The live link's registration and its application, or the page that explains why not."""
    token_id = request.session.get("apply_token")
    if not isinstance(token_id, int):
        return see_other("/apply/link/invalid")
    state = await registration_service.token_state(token_id)
    if state is not LinkState.VALID:
        request.session.pop("apply_token", None)
        return see_other(f"/apply/link/{state.value}")
    registration = await registration_service.registration_for_token(token_id)
    if registration is None:
        return see_other("/apply/link/invalid")
    application = await service.reopen_if_declined(await service.for_registration(registration))
    request.session["apply_app"] = application["public_id"]
    return Current(token_id, registration, application)


def _return_to(values: dict[str, str]) -> str:
    return "/apply/confirm" if values.get("return") == "confirm" else "/apply/documents"


class ApplicationController(Controller):
    path = "/apply"

    @get("/t/{token:str}")
    async def open_link(self, request: Req, token: FromPath[str]) -> Response[Any]:
        """The emailed URL: always a redirect, so the token never stays in the address bar."""
        resolution = await registration_service.resolve_link(token)
        if resolution.state is LinkState.VALID:
            request.session["apply_token"] = resolution.token_id
            return see_other("/apply")
        return see_other(f"/apply/link/{resolution.state.value}")

    @get("")
    async def show_form(self, request: Req, return_to: FromQuery[str] = "") -> Response[Any]:
        current = await _current(request)
        if not isinstance(current, Current):
            return current
        values = service.answers_of(current.application)
        if not values and current.registration["applicant_type"] == "self":
            values = {"cert_email": current.registration["email"]}
        return await form_page(request, current, values, {}, return_to=return_to)

    @post("")
    async def submit_form(self, request: Req) -> Response[Any]:
        current = await _current(request)
        if not isinstance(current, Current):
            return current
        values = await form_values(request)
        kind = current.registration["applicant_type"]
        await service.save_answers(current.application["id"], values, kind)
        if values.get("action") == "save":
            return await form_page(
                request, current, values, {}, saved=True, return_to=values.get("return", "")
            )
        cleaned, errors = form.check_application(values, kind, current.registration["email"])
        if errors:
            kept = {**values, **{k: v for k, v in cleaned.items() if k not in errors}}
            return await form_page(
                request, current, kept, errors, status=INVALID, return_to=values.get("return", "")
            )
        await service.save_answers(current.application["id"], cleaned, kind)
        return see_other(_return_to(values))

    @post("/fields/{name:str}")
    async def check_field(self, request: Req, name: FromPath[str]) -> Response[Any]:
        """Inline check on leaving a field; what was typed is kept as a draft on the way."""
        current = await _current(request)
        if not isinstance(current, Current):
            return current
        kind = current.registration["applicant_type"]
        values = await form_values(request)
        if name == "subject_preview":
            return await form_page(request, current, values, {}, block="subject_preview")
        if name not in form.inline_fields(kind):
            raise NotFoundException()
        await service.save_answers(current.application["id"], values, kind)
        value, error = form.check_field(name, values, kind, current.registration["email"])
        shown = {name: error} if error else {}
        return await form_page(
            request,
            current,
            {**values, name: value},
            shown,
            block=f"field_{name}",
            status=INVALID if shown else 200,
            inline=True,
        )

    @get("/documents")
    async def show_documents(self, request: Req, return_to: FromQuery[str] = "") -> Response[Any]:
        current = await _current(request)
        if not isinstance(current, Current):
            return current
        notice = request.session.pop("apply_notice", None)
        return await documents_page(request, current, {}, notice=notice, return_to=return_to)

    @post("/documents", request_max_body_size=UPLOAD_BODY_LIMIT)
    async def upload_documents(self, request: Req) -> Response[Any]:
        current = await _current(request)
        if not isinstance(current, Current):
            return current
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
        if not files:
            errors = {"documents": _("アップロードするファイルを選択してください。")}
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
    async def delete_document(self, request: Req, public_id: FromPath[str]) -> Response[Any]:
        current = await _current(request)
        if not isinstance(current, Current):
            return current
        store = store_for(services(request).settings)
        await uploads.delete_document(current.application["id"], public_id, store)
        values = await form_values(request)
        suffix = "?return_to=confirm" if values.get("return") == "confirm" else ""
        return see_other(f"/apply/documents{suffix}")

    @get("/confirm")
    async def confirm(self, request: Req) -> Response[Any]:
        current = await _current(request)
        if not isinstance(current, Current):
            return current
        return await confirm_page(request, current, {})

    @post("/confirm")
    async def submit(self, request: Req) -> Response[Any]:
        token_id = request.session.get("apply_token")
        current = await _current(request)
        if not isinstance(current, Current):
            # A second press after success (or a concurrent one): the outcome, not an error.
            return await _after_submit(request, token_id) or current
        values = await form_values(request)
        message = form.agreement_error(values)
        if message:
            return await confirm_page(request, current, {"agree": message}, status=INVALID)
        s = services(request)
        try:
            await service.submit(
                current.application, current.token_id, s.settings, s.engine, s.env, s.queue
            )
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
        return link_state_page(request, link_state, "apply")


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
