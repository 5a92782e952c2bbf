"""Settings from the environment, production refusals, small pure helpers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.captcha.service import ALPHABET, normalise_answer
from app.mail.service import backoff
from app.registration.flow import lanes
from app.settings import Settings, SettingsError, env_documentation
from app.templating import format_japan_time


def test_defaults_are_the_embedded_setup():
    settings = Settings.from_env({})
    assert settings.app.env == "dev"
    assert settings.database.url == "" and settings.database.sqlite_path.name == "jcan.sqlite3"
    assert settings.jobs.redis_url == ""
    assert settings.mail.backend == "file" and settings.mail.mail_dir.parts[-2:] == ("var", "mail")
    assert settings.registration.token_ttl_hours == 72
    assert settings.registration.captcha_ttl_seconds == 600


def test_environment_variables_are_read_and_converted():
    settings = Settings.from_env(
        {"SMTP_PORT": "2525", "TRUSTED_PROXY": "true", "VAR_DIR": "/tmp/x", "SMTP_TIMEOUT": "2.5"}
    )
    assert settings.mail.smtp_port == 2525
    assert settings.security.trusted_proxy is True
    assert settings.database.sqlite_path == Path("/tmp/x/jcan.sqlite3")
    assert settings.mail.mail_dir == Path("/tmp/x/mail")
    assert settings.mail.smtp_timeout == 2.5


def test_bad_values_name_the_variable():
    with pytest.raises(SettingsError, match="SMTP_PORT"):
        Settings.from_env({"SMTP_PORT": "many"})
    with pytest.raises(SettingsError, match="APP_ENV"):
        Settings.from_env({"APP_ENV": "staging"})
    with pytest.raises(SettingsError, match="MAIL_BACKEND"):
        Settings.from_env({"MAIL_BACKEND": "pigeon"})


def test_production_refuses_default_secret():
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        Settings.from_env({"APP_ENV": "production", "BASE_URL": "https://lra.example.jp"})


def test_production_refuses_the_captcha_test_answer():
    with pytest.raises(SettingsError, match="CAPTCHA_TEST_ANSWER"):
        Settings.from_env(
            {
                "APP_ENV": "production",
                "SECRET_KEY": "s" * 40,
                "BASE_URL": "https://lra.example.jp",
                "CAPTCHA_TEST_ANSWER": "ABCDE",
            }
        )


def test_production_refuses_bench_mode():
    with pytest.raises(SettingsError, match="BENCH_MODE"):
        Settings.from_env(
            {
                "APP_ENV": "production",
                "SECRET_KEY": "s" * 40,
                "BASE_URL": "https://lra.example.jp",
                "BENCH_MODE": "true",
            }
        )
    assert Settings.from_env({"APP_ENV": "test", "BENCH_MODE": "true"}).app.bench_mode


def test_production_with_real_secrets_starts():
    settings = Settings.from_env(
        {
            "APP_ENV": "production",
            "SECRET_KEY": "s" * 40,
            "BASE_URL": "https://lra.example.jp",
            "DOCUMENT_KEY": "dGVzdC1vbmx5LWRvY3VtZW50LWtleS0zMi1ieXRlcyE",
            "CA_KEY_PASSPHRASE": "a long CA key passphrase",
        }
    )
    assert settings.cookies_secure
    assert settings.ca_public_url == "http://lra.example.jp"  # the S/MIME BR want http


def test_every_setting_is_documented():
    rows = env_documentation()
    assert len(rows) == len({name for name, _, _ in rows})
    assert all(description for _, _, description in rows), [r for r in rows if not r[2]]
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [name for name, _, _ in rows if f"`{name}`" not in readme]
    assert missing == []


def test_japan_time_is_shown_with_its_zone():
    moment = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)
    assert format_japan_time(moment) == "2026年11月25日 00:30（日本時間）"


def test_backoff_doubles_and_is_capped():
    assert [backoff(n) for n in (1, 2, 3)] == [15.0, 30.0, 60.0]
    assert backoff(30) == 1800.0


def test_captcha_answers_are_case_and_width_insensitive():
    assert normalise_answer(" ab ｃ1 ") == "ABC1"
    assert normalise_answer("１２３ ４５６") == "123456"
    assert normalise_answer("O1l2I3") == "011213"  # letters typed for look-alike digits
    assert ALPHABET == "0123456789"  # every one has a voice, none rhymes with another


def test_flows_for_self_and_agent():
    [single] = lanes("self")
    assert [label for _, label in single.steps][-1] == "証明書を自動登録"
    agent, principal = lanes("agent")
    assert agent.title == "代理人作業" and principal.title == "本人作業"
    assert "申請情報承認" in [label for _, label in principal.steps]
    assert lanes("") == []


def test_webhook_settings_are_read_and_production_refuses_an_empty_secret():
    hook = Settings.from_env(
        {
            "ECONTRACT_WEBHOOK_URL": "https://econtract.example.jp/hooks",
            "ECONTRACT_WEBHOOK_TIMEOUT": "3",
        }
    ).webhooks
    assert hook.enabled and hook.timeout == 3.0 and hook.secret == ""
    assert not Settings.from_env({}).webhooks.enabled
    production = {
        "APP_ENV": "production",
        "SECRET_KEY": "s" * 40,
        "BASE_URL": "https://lra.example.jp",
        "DOCUMENT_KEY": "dGVzdC1vbmx5LWRvY3VtZW50LWtleS0zMi1ieXRlcyE",
        "CA_KEY_PASSPHRASE": "a long CA key passphrase",
        "ECONTRACT_WEBHOOK_URL": "https://econtract.example.jp/hooks",
    }
    with pytest.raises(SettingsError, match="ECONTRACT_WEBHOOK_SECRET"):
        Settings.from_env(production)
    assert Settings.from_env(production | {"ECONTRACT_WEBHOOK_SECRET": "x" * 32}).webhooks.enabled
    with pytest.raises(SettingsError, match="ECONTRACT_WEBHOOK_URL"):
        Settings.from_env({"ECONTRACT_WEBHOOK_URL": "ftp://nope"})
