"""The holder's steps over HTTP: the lookup form with its CAPTCHA, the mailed link, the
reason form."""

from __future__ import annotations

import re
from typing import Any

from tests.helpers import CAPTCHA, CSRF, captcha_answer, text_body, wait_for_mail

LINK = re.compile(r"(/revoke/t/[A-Za-z0-9_-]+)")


async def lookup(client: Any, identifier: str, email: str, answer: str | None = None) -> Any:
    page = await client.get("/revoke")
    assert page.status_code == 200
    csrf = CSRF.search(page.text).group(1)
    captcha_id = CAPTCHA.search(page.text).group(1)
    return await client.post(
        "/revoke",
        data={
            "_csrf_token": csrf,
            "identifier": identifier,
            "email": email,
            "captcha_id": captcha_id,
            "captcha_answer": answer if answer is not None else captcha_answer(client, captcha_id),
        },
        follow_redirects=False,
    )


async def mailed_link(smtp_sink: Any, email: str, count: int) -> str:
    messages = await wait_for_mail(smtp_sink, email, count=count)
    found = [LINK.search(text_body(m)) for m in messages]
    links = [m.group(1) for m in found if m]
    assert links, "no revocation link mailed"
    return links[-1]


async def request_revocation(client: Any, link: str, **values: str) -> Any:
    opened = await client.get(link, follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/revoke/request"
    page = await client.get("/revoke/request")
    assert page.status_code == 200, page.text[:300]
    csrf = CSRF.search(page.text).group(1)
    return await client.post(
        "/revoke/request", data={"_csrf_token": csrf, **values}, follow_redirects=False
    )
