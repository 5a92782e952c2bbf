"""Page builders of the application: the context each template needs, in one place."""

from __future__ import annotations

from typing import Any

from litestar.response import Response

from app.application import form, service, states
from app.application.current import Current
from app.application.documents import MAX_BYTES, MAX_FILES
from app.application.requirements import (
    ID_BACK,
    KINDS,
    OTHER,
    kind_label,
    required_kinds,
    requirement_notes,
)
from app.application.subject import subject_of
from app.application.uploads import documents_of
from app.registration.flow import lanes
from app.registration.form import applicant_type_label
from app.web.render import page, see_other
from app.web.types import Req

FORM = "application/form.html.jinja2"
DOCUMENTS = "application/documents.html.jinja2"
CONFIRM = "application/confirm.html.jinja2"
COMPLETE = "application/complete.html.jinja2"


def field_id(name: str) -> str:
    return name.replace("_", "-")


def preview(values: dict[str, str], applicant_type: str, registration_email: str = "") -> Any:
    """The subject as it would be written, from the answers that are valid so far (an agent's
    own address is not valid as the principal's)."""
    cleaned, errors = form.check_application(values, applicant_type, registration_email)
    return subject_of({k: v for k, v in cleaned.items() if k not in errors})


def _common(current: Current, step: str) -> dict[str, Any]:
    kind = current.registration["applicant_type"]
    return {
        "registration": current.registration,
        "applicant_type": kind,
        "type_label": applicant_type_label(kind),
        "lanes": lanes(kind),
        "current_step": step,
        "label": lambda name: form.label_of(name, kind),
    }


async def form_page(
    request: Req,
    current: Current,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    status: int = 200,
    block: str | None = None,
    field: str = "",
    saved: bool = False,
    return_to: str = "",
    inline: bool = False,
) -> Response[Any]:
    kind = current.registration["applicant_type"]
    context = {
        **_common(current, "app_input"),
        "values": values,
        "errors": errors,
        "subject": preview(values, kind, current.registration["email"]),
        "qualifications": [
            {"value": code, "label": form.qualification_label(code)} for code in form.QUALIFICATIONS
        ],
        "saved": saved,
        # Sent back by the principal: say why, on the page the agent corrects.
        "decline_reason": current.application.get("decline_reason", "")
        if current.application.get("reference")
        else "",
        "return_to": return_to if return_to == "confirm" else "",
        "inline": inline,
        "field_name": field,  # the inline check's fragment: the block `field`, for this one
    }
    block = "field" if field else block or "application_main"
    return page(request, FORM, context, block=block, status=status)


async def documents_page(
    request: Req,
    current: Current,
    errors: dict[str, Any],
    *,
    status: int = 200,
    notice: Any = None,
    accepted: int = 0,
    return_to: str = "",
) -> Response[Any]:
    kind = current.registration["applicant_type"]
    cleaned, _errors = form.check_application(service.answers_of(current.application), kind)
    documents = await documents_of(current.application["id"])
    present = {d["kind"] for d in documents}
    # The select offers the next document still needed.
    next_kind = next((k for k in [*required_kinds(cleaned), ID_BACK] if k not in present), OTHER)
    context = {
        **_common(current, "app_input"),
        "errors": errors,
        "documents": documents,
        "next_kind": next_kind,
        "notes": requirement_notes(cleaned),
        "required": [kind_label(k) for k in required_kinds(cleaned)],
        "kinds": [{"value": k, "label": kind_label(k)} for k in KINDS],
        "kind_label": kind_label,
        "max_files": MAX_FILES,
        "max_mb": MAX_BYTES // (1024 * 1024),
        "remaining": max(MAX_FILES - len(documents), 0),
        "notice": notice,
        "accepted": accepted,
        "return_to": return_to if return_to == "confirm" else "",
    }
    return page(request, DOCUMENTS, context, status=status)


async def confirm_page(
    request: Req, current: Current, errors: dict[str, Any], *, status: int = 200
) -> Response[Any]:
    kind = current.registration["applicant_type"]
    answers = service.answers_of(current.application)
    documents = await documents_of(current.application["id"])
    email = current.registration["email"]
    problems = service.check_ready(answers, kind, documents, email)
    cleaned, _errors = form.check_application(answers, kind, email)
    change = {
        name: f"/apply?return_to=confirm#{field_id(name)}" for name in form.fields_for(kind)
    } | {"documents": "/apply/documents?return_to=confirm", "agree": "#agree"}
    context = {
        **_common(current, "app_confirm"),
        "errors": {**problems, **errors},
        "error_links": change,
        "rows": service.summary_rows(answers, kind, email),
        "change": change,
        "subject": subject_of(cleaned),
        "principal_email": cleaned.get("cert_email", ""),
        "documents": documents,
        "kind_label": kind_label,
    }
    return page(request, CONFIRM, context, status=status)


async def complete_page(request: Req, public_id: str) -> Response[Any]:
    application = await service.by_public_id(public_id)
    if application is None or application["status"] == states.DRAFT:
        return see_other("/apply")
    kind = application["applicant_type"]
    answers = service.answers_of(application)
    return page(
        request,
        COMPLETE,
        {
            "reference": application["reference"],
            "status": application["status"],
            "status_label": states.state_label(application["status"]),
            "applicant_type": kind,
            "principal_email": answers.get("cert_email", ""),
            "approval_expires": await service.approval_expires(application["id"]),
            "lanes": lanes(kind),
            "current_step": "app_complete",
        },
    )
