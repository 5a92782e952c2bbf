from e2e.journey import fill_step1


def test_probe(nojs_page, live_server):
    page = nojs_page
    page.goto("/register/step1?applicant_type=self")
    fill_step1(page, live_server.issue_ticket(), "a@example.com")
    with page.expect_request(lambda r: r.method == "POST") as sent:
        page.locator("#captcha-answer").press("Enter")
    page.wait_for_load_state()
    print(
        "POSTED",
        sent.value.post_data,
        "URL",
        page.url,
        "TICKET",
        page.locator("#ticket-number").input_value(),
    )
