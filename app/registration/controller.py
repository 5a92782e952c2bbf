"""Routes of the registration stage: step 1, inline checks, confirm, complete."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from litestar import Controller, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery
from litestar.response import Response

from app.captcha import service as captcha
from app.registration import companies, form, service
from app.registration.flow import lanes
from app.registration.form import Step1Data
from app.web.render import INVALID, page, page_once, see_other, wants_fragment
from app.web.state import form_values, services
from app.web.types import Req

STEP1 = "registration/step1.html.jinja2"
CONFIRM = "registration/confirm.html.jinja2"
INLINE_FIELDS = ("company_code", "ticket_number", "email", "email_confirm")
# The inline-checked fields whose markup only prints their value (the company is a select:
# its value chooses the option marked selected).
PRINTED_VALUES = ("ticket_number", "email", "email_confirm")
STEP1_DATA = ("applicant_type", "company_code", "ticket_number", "email", "nonce")


async def _step1(
    request: Req,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    status: int = 200,
    block: str = "step1_main",
    fresh: bool = False,
) -> Response[Any]:
    """Step 1 with `values` and `errors`; `fresh`: nothing but the applicant type in `values`
    and no errors (the page is then the same for every such view but for its CSRF token and
    challenge id: page_once)."""
    s = services(request)
    applicant_type = values.get("applicant_type", "")
    chosen = applicant_type in form.APPLICANT_TYPES or block == "captcha"
    # No challenge until a type is chosen: the fields cannot be used before that.
    challenge = captcha.create_challenge(s.settings.registration, s.captcha_key) if chosen else None
    values = {k: v for k, v in values.items() if k != "captcha_answer"}
    options = await _company_options()
    context = {
        "values": values,
        "errors": errors,
        "applicant_type": applicant_type if applicant_type in form.APPLICANT_TYPES else "",
        "lanes": lanes(applicant_type),
        "current_step": "reg_input",
        "company_options": options,
        "inline": False,
        "challenge_id": "",
    }
    slots = {"challenge_id": challenge.public_id} if challenge else {}
    if fresh and status == 200 and not errors:
        key = (context["applicant_type"], tuple(values.items()), _options_key(options))
        return page_once(request, STEP1, context, key=key, slots=slots, block=block)
    return page(request, STEP1, context | slots, block=block, status=status)


async def _company_options() -> list[dict[str, str]]:
    return [
        {"value": c["code"], "label": f"{c['code']}（{c['name']}）"}
        for c in await companies.company_choices()
    ]


def _options_key(options: list[dict[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple((o["value"], o["label"]) for o in options)


class RegistrationController(Controller):
    path = "/register"

    @get("/step1")
    async def step1(
        self, request: Req, applicant_type: FromQuery[str | None] = None
    ) -> Response[Any]:
        draft = request.session.get("draft")
        values = dict(draft or {})
        if applicant_type in form.APPLICANT_TYPES:
            values["applicant_type"] = applicant_type
        return await _step1(request, values, {}, fresh=not draft)

    @post("/step1")
    async def submit_step1(self, request: Req) -> Response[Any]:
        values = await form_values(request)
        action = values.get("action", "")
        answered = any(values.get(name) for name in INLINE_FIELDS)
        # Before a type is chosen the other fields are disabled and not posted: a submit then
        # (the no-JS button, or Enter on a radio) means "choose this type".
        choosing = action == "choose" or ("captcha_id" not in values and not answered)
        if choosing and values.get("applicant_type") in form.APPLICANT_TYPES:
            if answered:
                return await _step1(request, values, {})  # a change of type: keep the answers
            return see_other(f"/register/step1?applicant_type={values['applicant_type']}")
        if action == "refresh_captcha":
            return await _step1(request, values, {})
        s = services(request)
        cleaned, errors, data = await service.validate_step1(
            values, s.captcha_key, s.settings.registration.captcha_ttl_seconds
        )
        if data is None:
            kept = {**values, **{k: v for k, v in cleaned.items() if k not in errors}}
            return await _step1(request, kept, errors, status=INVALID)
        request.session["draft"] = asdict(data) | {"email_confirm": data.email}
        return see_other("/register/confirm")

    @post("/step1/fields/{name:str}")
    async def check_field(self, request: Req, name: FromPath[str]) -> Response[Any]:
        if name not in INLINE_FIELDS:
            raise NotFoundException()
        values = await form_values(request)
        cleaned, errors = form.check_step1_syntax(values, only=name)
        errors = await service.check_fields(cleaned, errors, only=name)
        shown = {name: errors[name]} if name in errors else {}
        status = INVALID if shown else 200
        kept = {**values, name: cleaned.get(name, values.get(name, ""))}
        if not wants_fragment(request):  # no htmx: the whole page, with this field checked
            return await _step1(request, kept, shown, status=status)
        applicant_type = values.get("applicant_type", "")
        options = await _company_options()
        context = {
            "values": kept,
            "errors": shown,
            "applicant_type": applicant_type if applicant_type in form.APPLICANT_TYPES else "",
            "company_options": options,
            "inline": True,
            "field_name": name,
        }
        if name in PRINTED_VALUES and not shown:
            # The fragment shows only this field, and prints its value: one kept fragment
            # per field and type, the value filled in (page_once).
            return page_once(
                request,
                STEP1,
                lambda slot: context | {"values": {name: slot["value"]}},
                key=(name, context["applicant_type"], _options_key(options)),
                slots={"value": kept[name]},
                block="field",
            )
        return page(request, STEP1, context, block="field", status=status)

    @get("/captcha")
    async def new_captcha(self, request: Req) -> Response[Any]:
        if request.headers.get("hx-request") != "true":
            return see_other("/register/step1")
        return await _step1(request, {}, {}, block="captcha")

    @get("/confirm")
    async def confirm(self, request: Req) -> Response[Any]:
        draft = request.session.get("draft")
        if not draft:  # Back after 完了 leads to 完了
            return see_other(
                "/register/complete" if request.session.get("done") else "/register/step1"
            )
        if not draft.get("nonce"):  # a draft from before nonces
            return see_other("/register/step1")
        return await _confirm(request, draft, {})

    @post("/confirm")
    async def submit_confirm(self, request: Req) -> Response[Any]:
        draft = request.session.get("draft")
        if not draft or not draft.get("nonce"):
            return see_other(
                "/register/complete" if request.session.get("done") else "/register/step1"
            )
        values = await form_values(request)
        message = form.agreement_error(values)
        if message:
            return await _confirm(request, draft, {"agree": message}, status=INVALID)
        s = services(request)
        data = Step1Data(**{k: draft[k] for k in STEP1_DATA})
        try:
            registered = await service.register(data, s)
            email, expires_at = registered.email, registered.expires_at
        except service.AlreadyRegistered as earlier:
            # A replay or a second click: the draft registered already; show that outcome.
            email, expires_at = earlier.email, earlier.expires_at
        except service.TicketUnavailable:
            errors = {"ticket_number": form.ticket_error(form.TicketState.USED) or ""}
            return await _step1(request, dict(draft), errors, status=INVALID)
        request.session.pop("draft", None)
        request.session["done"] = {
            "email": email,
            "expires_at": expires_at.isoformat(),
            "applicant_type": data.applicant_type,
        }
        return see_other("/register/complete")

    @get("/complete")
    async def complete(self, request: Req) -> Response[Any]:
        done = request.session.get("done")
        if not done:
            return see_other("/")
        return page(
            request,
            "registration/complete.html.jinja2",
            {
                "email": done["email"],
                "expires_at": datetime.fromisoformat(done["expires_at"]),
                "lanes": lanes(done["applicant_type"]),
                "current_step": "reg_complete",
            },
        )


async def _confirm(
    request: Req, draft: dict[str, str], errors: dict[str, str], *, status: int = 200
) -> Response[Any]:
    names = {c["code"]: c["name"] for c in await companies.company_choices()}
    return page(
        request,
        CONFIRM,
        {
            "draft": draft,
            "errors": errors,
            "type_label": form.applicant_type_label(draft["applicant_type"]),
            "company_name": names.get(draft["company_code"], ""),
            "lanes": lanes(draft["applicant_type"]),
            "current_step": "reg_confirm",
        },
        status=status,
    )
