"""Settings: one frozen dataclass per concern, read from the environment by Settings.from_env()."""

from __future__ import annotations

import base64
import binascii
import hashlib
import inspect
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET = "dev-insecure-secret-change-me"
ENVIRONMENTS = ("dev", "test", "production")
CA_BACKENDS = ("local", "django-ca")
OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")


class SettingsError(ValueError):
    """Raised when the configuration is unusable; the message says which variable."""


@dataclass(frozen=True)
class AppSettings:
    env: str = "dev"
    """APP_ENV: dev | test | production. production refuses default secrets and test hooks."""
    secret_key: str = DEFAULT_SECRET
    """SECRET_KEY: signs the session and CSRF cookies. Must be changed in production."""
    base_url: str = "http://127.0.0.1:8000"
    """BASE_URL: public origin used to build links in mail (no trailing slash)."""
    var_dir: Path = ROOT / "var"
    """VAR_DIR: writable folder for the SQLite file and mail files."""
    log_level: str = "INFO"
    """LOG_LEVEL: Python logging level."""
    bench_mode: bool = False
    """BENCH_MODE: dev/test only; serves /bench/plain, the ceiling `make bench` measures."""

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def mail_domain(self) -> str:
        """The right-hand side of Message-IDs: BASE_URL's host."""
        return urlsplit(self.base_url).hostname or "localhost"

    def derived_key(self, purpose: str, size: int = 32) -> bytes:
        """A key for one purpose derived from SECRET_KEY, so one secret serves all."""
        return hashlib.sha256(f"{purpose}:{self.secret_key}".encode()).digest()[:size]


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = ""
    """DATABASE_URL: postgresql://user:pass@host:5432/db; empty = embedded SQLite."""
    sqlite_path: Path = ROOT / "var" / "jcan.sqlite3"
    """SQLITE_PATH: the SQLite file used when DATABASE_URL is empty."""
    pool_max_size: int = 10
    """DB_POOL_MAX_SIZE: PostgreSQL connection pool size per process."""

    @property
    def is_postgres(self) -> bool:
        return self.url.startswith(("postgres://", "postgresql://"))


@dataclass(frozen=True)
class JobSettings:
    redis_url: str = ""
    """REDIS_URL: redis://host:6379/0 enables the arq worker; empty = in-process runner."""
    queue_name: str = "jcan:queue"
    """JOB_QUEUE_NAME: the arq queue shared by the web tier and the worker."""
    worker_niceness: int = 10
    """WORKER_NICENESS: `jcan worker` lowers its CPU priority by this much (0-19), so that
    where it shares cores with the web tier, the pages come first."""


@dataclass(frozen=True)
class MailSettings:
    backend: str = "file"
    """MAIL_BACKEND: file (.eml under MAIL_DIR) | smtp | console."""
    mail_from: str = "JCAN証明書LRA <no-reply@example.jp>"
    """MAIL_FROM: the From header of every message."""
    mail_dir: Path = ROOT / "var" / "mail"
    """MAIL_DIR: where the file backend writes .eml files."""
    smtp_host: str = "127.0.0.1"
    """SMTP_HOST: SMTP server host."""
    smtp_port: int = 25
    """SMTP_PORT: SMTP server port."""
    smtp_security: str = "none"
    """SMTP_SECURITY: none | starttls | tls."""
    smtp_user: str = ""
    """SMTP_USER: login name, empty = no authentication."""
    smtp_password: str = ""
    """SMTP_PASSWORD: login password."""
    smtp_timeout: float = 30.0
    """SMTP_TIMEOUT: seconds before a connection or command times out."""
    max_attempts: int = 8
    """MAIL_MAX_ATTEMPTS: transient failures retried up to this many attempts."""
    retry_base_seconds: float = 15.0
    """MAIL_RETRY_BASE_SECONDS: first retry delay; doubles per attempt, at most 30 minutes."""
    claim_timeout_seconds: int = 300
    """MAIL_CLAIM_TIMEOUT: a send claimed longer ago is taken as lost (its worker died)."""


@dataclass(frozen=True)
class LraSettings:
    name: str = "インタセクト・コミュニケーションズ株式会社"
    """LRA_NAME: the registration authority that carries out issuance."""
    department: str = "JCAN証明書LRA業務担当"
    """LRA_DEPARTMENT: the department applicants contact."""
    email: str = "jcanlra@example.jp"
    """LRA_EMAIL: contact email address shown on pages and in mail."""
    phone: str = "03-0000-0000"
    """LRA_PHONE: contact phone number."""
    copyright: str = "Copyright © 2026 JCAN LRA. All Rights Reserved."
    """LRA_COPYRIGHT: the footer's copyright line."""
    privacy_officer: str = "個人情報保護管理者"
    """PRIVACY_OFFICER: who is responsible for personal data (privacy page)."""
    privacy_contact_name: str = "苦情・相談窓口"
    """PRIVACY_CONTACT_NAME: the inquiry desk for personal data."""
    privacy_contact_phone: str = "03-0000-0000（受付時間：平日9時～17時）"
    """PRIVACY_CONTACT_PHONE: the inquiry desk's phone and hours."""
    privacy_contact_email: str = "privacy@example.jp"
    """PRIVACY_CONTACT_EMAIL: the inquiry desk's email address."""


@dataclass(frozen=True)
class SecuritySettings:
    rate_limit_per_minute: int = 30
    """RATE_LIMIT_PER_MINUTE: registration POSTs, the inline ticket check and CAPTCHA requests
    allowed per client address a minute."""
    trusted_proxy: bool = False
    """TRUSTED_PROXY: take the client address from X-Forwarded-For (behind a reverse proxy)."""
    hsts_max_age: int = 63072000
    """HSTS_MAX_AGE: production only; seconds browsers keep to HTTPS (Strict-Transport-Security)."""


@dataclass(frozen=True)
class RegistrationSettings:
    token_ttl_hours: int = 72
    """ACCESS_TOKEN_TTL_HOURS: how long the emailed link stays valid (3 days)."""
    captcha_ttl_seconds: int = 600
    """CAPTCHA_TTL_SECONDS: how long a CAPTCHA challenge can be answered (10 minutes)."""
    captcha_length: int = 6
    """CAPTCHA_LENGTH: digits in a challenge."""
    captcha_test_answer: str = ""
    """CAPTCHA_TEST_ANSWER: dev/test only; every challenge's answer. Refused in production."""


@dataclass(frozen=True)
class DocumentSettings:
    directory: Path = ROOT / "var" / "documents"
    """DOCUMENTS_DIR: where uploaded identity documents are stored, encrypted (outside
    static/; a shared volume when several app replicas run)."""
    key: str = ""
    """DOCUMENT_KEY: urlsafe base64 of 32 random bytes encrypting stored documents;
    empty = derived from SECRET_KEY (dev/test only; refused in production)."""

    def decoded_key(self) -> bytes | None:
        """The 32-byte key DOCUMENT_KEY encodes, or None when it is empty (use a derived key)."""
        if not self.key:
            return None
        text = self.key.strip()
        try:
            key = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != 32:
            raise SettingsError(
                "DOCUMENT_KEY must be urlsafe base64 of 32 random bytes "
                "(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
        return key


@dataclass(frozen=True)
class ConsoleSettings:
    idle_minutes: int = 15
    """CONSOLE_IDLE_MINUTES: a console session unused this long ends (sign in again)."""
    absolute_hours: int = 8
    """CONSOLE_ABSOLUTE_HOURS: a console session ends this long after sign-in, used or not."""
    lockout_attempts: int = 5
    """CONSOLE_LOCKOUT_ATTEMPTS: failed passwords or codes in a row that lock an operator."""
    lockout_minutes: int = 15
    """CONSOLE_LOCKOUT_MINUTES: how long a locked operator cannot sign in."""
    login_per_minute: int = 10
    """CONSOLE_LOGIN_PER_MINUTE: sign-in and code attempts allowed per minute for one email
    address and, separately, for one client address (on top of the lockout)."""
    setup_link_hours: int = 24
    """CONSOLE_SETUP_LINK_HOURS: how long an operator's setup link stays valid."""


@dataclass(frozen=True)
class ReviewSettings:
    approvals: int = 1
    """REVIEW_APPROVALS: 1 = an approver's approval decides; 2 = four-eyes (a recommendation
    and an approval by two different operators)."""
    sla_business_days: int = 2
    """REVIEW_SLA_BUSINESS_DAYS: an application waiting longer than this many business days
    (Mon-Fri but Japanese public holidays, Japan time) is marked overdue in the queue."""


@dataclass(frozen=True)
class WebhookSettings:
    url: str = ""
    """ECONTRACT_WEBHOOK_URL: where certificate.issued / certificate.revoked events are POSTed
    (the e-contract service); empty = events are recorded but not delivered."""
    secret: str = ""
    """ECONTRACT_WEBHOOK_SECRET: the HMAC-SHA256 key of the JCAN-Signature header, shared with
    the receiver; required in production when ECONTRACT_WEBHOOK_URL is set."""
    timeout: float = 10.0
    """ECONTRACT_WEBHOOK_TIMEOUT: seconds a delivery may take (connect, send, answer)."""
    max_attempts: int = 12
    """ECONTRACT_WEBHOOK_MAX_ATTEMPTS: network errors, 5xx and 429 are retried up to this many
    attempts, then the event is failed (`jcan webhooks retry ID` sends it again)."""
    retry_base_seconds: float = 30.0
    """ECONTRACT_WEBHOOK_RETRY_BASE_SECONDS: the first retry delay; doubles per attempt, at
    most 1 hour."""

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    @property
    def claim_timeout_seconds(self) -> float:
        """A delivery claimed longer ago than this is taken as lost (its worker died)."""
        return max(60.0, 3 * self.timeout)


@dataclass(frozen=True)
class IssuanceSettings:
    pickup_link_days: int = 14
    """PICKUP_LINK_DAYS: how long the mailed pickup link (証明書の受け取り) stays valid; an
    unclaimed key is destroyed when it expires."""
    retry_seconds: int = 300
    """ISSUE_RETRY_SECONDS: a stored request still without its certificate after this many
    seconds (its worker died) is run again by the relay under a job id of its own."""


@dataclass(frozen=True)
class RevocationSettings:
    immediate: bool = False
    """REVOCATION_IMMEDIATE: a request the holder confirmed through the mailed link revokes at
    once (a job), without waiting for an operator's 「失効する」."""
    link_hours: int = 24
    """REVOCATION_LINK_HOURS: how long the mailed revocation link stays valid."""
    deadline_hours: int = 24
    """REVOCATION_DEADLINE_HOURS: a request must be decided within this many hours of its
    receipt (S/MIME BR 4.9.1: 24 h for a subscriber's request or a key compromise)."""
    ocsp_validity_hours: int = 24
    """OCSP_VALIDITY_HOURS: nextUpdate of OCSP responses, hours after thisUpdate (8-168)."""


SMIME_SBR_ARC = "2.23.140.1.5"
# Under 32473, the enterprise number RFC 5612 reserves for documentation: a TEST OID.
DEFAULT_LRA_POLICY_OID = "1.3.6.1.4.1.32473.15.1"


@dataclass(frozen=True)
class CaSettings:
    backend: str = "local"
    """CA_BACKEND: local (an issuing CA inside the portal, keys under VAR_DIR/ca) or django-ca
    (a separate django-ca server over its REST API: the DJANGO_CA_* settings)."""
    key_passphrase: str = ""
    """CA_KEY_PASSPHRASE: encrypts the local CA's key files; empty = derived from SECRET_KEY
    (dev/test only; production requires 16+ characters)."""
    root_name: str = "JCAN Portal TEST Root CA"
    """CA_ROOT_NAME: CN of the local root CA (`jcan ca init`); the default says TEST."""
    issuing_name: str = "JCAN Portal TEST Issuing CA"
    """CA_ISSUING_NAME: CN of the local issuing CA that signs subscribers' certificates."""
    organization: str = "JCAN Portal TEST"
    """CA_ORGANIZATION: O of the local CA certificates (C is JP)."""
    policy_oid: str = DEFAULT_LRA_POLICY_OID
    """CA_POLICY_OID: the LRA's certificate policy OID, written next to the S/MIME BR
    reserved OID in certificatePolicies (the default is under RFC 5612's documentation arc)."""
    public_url: str = ""
    """CA_PUBLIC_URL: origin written into certificates for the CRL and CA certificate URLs
    (served under /ca/); empty = BASE_URL with http:// (the S/MIME BR want http URLs)."""
    crl_days: int = 7
    """CA_CRL_DAYS: nextUpdate of the CRL, days after thisUpdate (1-10, the S/MIME BR's limit)."""
    rsa_key_size: int = 2048
    """RSA_KEY_SIZE: subscribers' RSA key size, 2048 or 3072."""


@dataclass(frozen=True)
class DjangoCASettings:
    url: str = ""
    """DJANGO_CA_URL: where django-ca's URLs start (its CA_URL_PATH included), e.g.
    https://ca.example.org/django_ca (the REST API is under /api/); for CA_BACKEND=django-ca."""
    ca_serial: str = ""
    """DJANGO_CA_CA_SERIAL: hex serial of the django-ca CA that signs (REST API enabled on it)."""
    username: str = ""
    """DJANGO_CA_USERNAME: the API user (Basic auth; needs sign, revoke and view permissions)."""
    password: str = ""
    """DJANGO_CA_PASSWORD: that user's password."""
    timeout: float = 30.0
    """DJANGO_CA_TIMEOUT: seconds before one HTTP request to django-ca times out."""
    order_timeout: float = 60.0
    """DJANGO_CA_ORDER_TIMEOUT: seconds to wait for a signing order to be issued before the
    job is retried later (a retry finds the certificate if it was issued meanwhile)."""
    crl_refresh_seconds: float = 300.0
    """DJANGO_CA_CRL_REFRESH_SECONDS: how long the portal serves django-ca's CRL from memory
    before it asks django-ca again (/ca/crl); while django-ca is unreachable the last good CRL is
    served until its nextUpdate."""


_ENV_NAMES: dict[str, dict[str, str]] = {
    "app": {
        "env": "APP_ENV",
        "secret_key": "SECRET_KEY",
        "base_url": "BASE_URL",
        "var_dir": "VAR_DIR",
        "log_level": "LOG_LEVEL",
        "bench_mode": "BENCH_MODE",
    },
    "database": {
        "url": "DATABASE_URL",
        "sqlite_path": "SQLITE_PATH",
        "pool_max_size": "DB_POOL_MAX_SIZE",
    },
    "jobs": {
        "redis_url": "REDIS_URL",
        "queue_name": "JOB_QUEUE_NAME",
        "worker_niceness": "WORKER_NICENESS",
    },
    "mail": {
        "backend": "MAIL_BACKEND",
        "mail_from": "MAIL_FROM",
        "mail_dir": "MAIL_DIR",
        "smtp_host": "SMTP_HOST",
        "smtp_port": "SMTP_PORT",
        "smtp_security": "SMTP_SECURITY",
        "smtp_user": "SMTP_USER",
        "smtp_password": "SMTP_PASSWORD",
        "smtp_timeout": "SMTP_TIMEOUT",
        "max_attempts": "MAIL_MAX_ATTEMPTS",
        "retry_base_seconds": "MAIL_RETRY_BASE_SECONDS",
        "claim_timeout_seconds": "MAIL_CLAIM_TIMEOUT",
    },
    "lra": {
        "name": "LRA_NAME",
        "department": "LRA_DEPARTMENT",
        "email": "LRA_EMAIL",
        "phone": "LRA_PHONE",
        "copyright": "LRA_COPYRIGHT",
        "privacy_officer": "PRIVACY_OFFICER",
        "privacy_contact_name": "PRIVACY_CONTACT_NAME",
        "privacy_contact_phone": "PRIVACY_CONTACT_PHONE",
        "privacy_contact_email": "PRIVACY_CONTACT_EMAIL",
    },
    "security": {
        "rate_limit_per_minute": "RATE_LIMIT_PER_MINUTE",
        "trusted_proxy": "TRUSTED_PROXY",
        "hsts_max_age": "HSTS_MAX_AGE",
    },
    "registration": {
        "token_ttl_hours": "ACCESS_TOKEN_TTL_HOURS",
        "captcha_ttl_seconds": "CAPTCHA_TTL_SECONDS",
        "captcha_length": "CAPTCHA_LENGTH",
        "captcha_test_answer": "CAPTCHA_TEST_ANSWER",
    },
    "documents": {"directory": "DOCUMENTS_DIR", "key": "DOCUMENT_KEY"},
    "console": {
        "idle_minutes": "CONSOLE_IDLE_MINUTES",
        "absolute_hours": "CONSOLE_ABSOLUTE_HOURS",
        "lockout_attempts": "CONSOLE_LOCKOUT_ATTEMPTS",
        "lockout_minutes": "CONSOLE_LOCKOUT_MINUTES",
        "login_per_minute": "CONSOLE_LOGIN_PER_MINUTE",
        "setup_link_hours": "CONSOLE_SETUP_LINK_HOURS",
    },
    "review": {
        "approvals": "REVIEW_APPROVALS",
        "sla_business_days": "REVIEW_SLA_BUSINESS_DAYS",
    },
    "webhooks": {
        "url": "ECONTRACT_WEBHOOK_URL",
        "secret": "ECONTRACT_WEBHOOK_SECRET",
        "timeout": "ECONTRACT_WEBHOOK_TIMEOUT",
        "max_attempts": "ECONTRACT_WEBHOOK_MAX_ATTEMPTS",
        "retry_base_seconds": "ECONTRACT_WEBHOOK_RETRY_BASE_SECONDS",
    },
    "issuance": {
        "pickup_link_days": "PICKUP_LINK_DAYS",
        "retry_seconds": "ISSUE_RETRY_SECONDS",
    },
    "revocation": {
        "immediate": "REVOCATION_IMMEDIATE",
        "link_hours": "REVOCATION_LINK_HOURS",
        "deadline_hours": "REVOCATION_DEADLINE_HOURS",
        "ocsp_validity_hours": "OCSP_VALIDITY_HOURS",
    },
    "ca": {
        "backend": "CA_BACKEND",
        "key_passphrase": "CA_KEY_PASSPHRASE",
        "root_name": "CA_ROOT_NAME",
        "issuing_name": "CA_ISSUING_NAME",
        "organization": "CA_ORGANIZATION",
        "policy_oid": "CA_POLICY_OID",
        "public_url": "CA_PUBLIC_URL",
        "crl_days": "CA_CRL_DAYS",
        "rsa_key_size": "RSA_KEY_SIZE",
    },
    "django_ca": {
        "url": "DJANGO_CA_URL",
        "ca_serial": "DJANGO_CA_CA_SERIAL",
        "username": "DJANGO_CA_USERNAME",
        "password": "DJANGO_CA_PASSWORD",
        "timeout": "DJANGO_CA_TIMEOUT",
        "order_timeout": "DJANGO_CA_ORDER_TIMEOUT",
        "crl_refresh_seconds": "DJANGO_CA_CRL_REFRESH_SECONDS",
    },
}


SECTIONS: dict[str, type[Any]] = {
    "app": AppSettings,
    "database": DatabaseSettings,
    "jobs": JobSettings,
    "mail": MailSettings,
    "lra": LraSettings,
    "security": SecuritySettings,
    "registration": RegistrationSettings,
    "documents": DocumentSettings,
    "console": ConsoleSettings,
    "review": ReviewSettings,
    "webhooks": WebhookSettings,
    "issuance": IssuanceSettings,
    "revocation": RevocationSettings,
    "ca": CaSettings,
    "django_ca": DjangoCASettings,
}


def _convert(raw: str, default: Any, name: str) -> Any:
    if isinstance(default, bool):
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off", ""):
            return False
        raise SettingsError(f"{name} must be true or false, not {raw!r}")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None
    if isinstance(default, float):
        try:
            return float(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a number, not {raw!r}") from None
    if isinstance(default, Path):
        return Path(raw)
    return raw


def _section(cls: type[Any], names: dict[str, str], environ: Mapping[str, str]) -> Any:
    defaults = cls()
    values = {}
    for f in fields(cls):
        env_name = names[f.name]
        if env_name in environ:
            values[f.name] = _convert(environ[env_name], getattr(defaults, f.name), env_name)
    return cls(**values)


@dataclass(frozen=True)
class Settings:
    app: AppSettings = field(default_factory=AppSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    jobs: JobSettings = field(default_factory=JobSettings)
    mail: MailSettings = field(default_factory=MailSettings)
    lra: LraSettings = field(default_factory=LraSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    registration: RegistrationSettings = field(default_factory=RegistrationSettings)
    documents: DocumentSettings = field(default_factory=DocumentSettings)
    console: ConsoleSettings = field(default_factory=ConsoleSettings)
    review: ReviewSettings = field(default_factory=ReviewSettings)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    issuance: IssuanceSettings = field(default_factory=IssuanceSettings)
    revocation: RevocationSettings = field(default_factory=RevocationSettings)
    ca: CaSettings = field(default_factory=CaSettings)
    django_ca: DjangoCASettings = field(default_factory=DjangoCASettings)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        environ = os.environ if environ is None else environ
        built = {key: _section(cls_, _ENV_NAMES[key], environ) for key, cls_ in SECTIONS.items()}
        settings = cls(**built)
        # Paths under VAR_DIR follow it unless set on their own.
        if "VAR_DIR" in environ:
            var_dir = settings.app.var_dir
            if "SQLITE_PATH" not in environ:
                settings = replace(
                    settings,
                    database=replace(settings.database, sqlite_path=var_dir / "jcan.sqlite3"),
                )
            if "MAIL_DIR" not in environ:
                settings = replace(settings, mail=replace(settings.mail, mail_dir=var_dir / "mail"))
            if "DOCUMENTS_DIR" not in environ:
                settings = replace(
                    settings,
                    documents=replace(settings.documents, directory=var_dir / "documents"),
                )
        settings.validate()
        return settings

    def validate(self) -> None:
        """Refuse configurations that are unsafe or cannot work."""
        if self.app.env not in ENVIRONMENTS:
            raise SettingsError(f"APP_ENV must be one of {', '.join(ENVIRONMENTS)}")
        if self.mail.backend not in ("file", "smtp", "console"):
            raise SettingsError("MAIL_BACKEND must be file, smtp or console")
        if self.mail.smtp_security not in ("none", "starttls", "tls"):
            raise SettingsError("SMTP_SECURITY must be none, starttls or tls")
        if self.registration.token_ttl_hours < 1:
            raise SettingsError("ACCESS_TOKEN_TTL_HOURS must be at least 1")
        if not 4 <= self.registration.captcha_length <= 8:
            raise SettingsError("CAPTCHA_LENGTH must be between 4 and 8")
        if self.security.hsts_max_age < 0:
            raise SettingsError("HSTS_MAX_AGE must be 0 or more seconds")
        for name in ("idle_minutes", "absolute_hours", "lockout_attempts", "lockout_minutes"):
            if getattr(self.console, name) < 1:
                raise SettingsError(f"{_ENV_NAMES['console'][name]} must be at least 1")
        if self.review.approvals not in (1, 2):
            raise SettingsError("REVIEW_APPROVALS must be 1 or 2")
        if not 0 <= self.jobs.worker_niceness <= 19:
            raise SettingsError("WORKER_NICENESS must be between 0 and 19")
        if self.review.sla_business_days < 1:
            raise SettingsError("REVIEW_SLA_BUSINESS_DAYS must be at least 1")
        hook = self.webhooks
        if hook.url and not hook.url.startswith(("http://", "https://")):
            raise SettingsError("ECONTRACT_WEBHOOK_URL must be an http:// or https:// URL")
        if hook.timeout <= 0 or hook.max_attempts < 1 or hook.retry_base_seconds < 0:
            raise SettingsError(
                "ECONTRACT_WEBHOOK_TIMEOUT must be above 0, ECONTRACT_WEBHOOK_MAX_ATTEMPTS at "
                "least 1 and ECONTRACT_WEBHOOK_RETRY_BASE_SECONDS 0 or more"
            )
        if self.issuance.pickup_link_days < 1:
            raise SettingsError("PICKUP_LINK_DAYS must be at least 1")
        if self.issuance.retry_seconds < 1:
            raise SettingsError("ISSUE_RETRY_SECONDS must be at least 1")
        if not 8 <= self.revocation.ocsp_validity_hours <= 168:
            raise SettingsError("OCSP_VALIDITY_HOURS must be between 8 and 168 (S/MIME BR 4.9.10)")
        if self.revocation.link_hours < 1 or self.revocation.deadline_hours < 1:
            raise SettingsError("REVOCATION_LINK_HOURS and REVOCATION_DEADLINE_HOURS must be 1+")
        self._validate_ca()
        if self.django_ca.timeout <= 0 or self.django_ca.order_timeout <= 0:
            raise SettingsError("DJANGO_CA_TIMEOUT and DJANGO_CA_ORDER_TIMEOUT must be positive")
        if self.django_ca.crl_refresh_seconds < 0:
            raise SettingsError("DJANGO_CA_CRL_REFRESH_SECONDS must not be negative")
        if self.ca.backend == "django-ca":
            needed = (
                ("DJANGO_CA_URL", self.django_ca.url),
                ("DJANGO_CA_CA_SERIAL", self.django_ca.ca_serial),
                ("DJANGO_CA_USERNAME", self.django_ca.username),
            )
            missing = [name for name, value in needed if not value]
            if missing:
                raise SettingsError(f"CA_BACKEND=django-ca needs {', '.join(missing)}")
        self.documents.decoded_key()  # a malformed DOCUMENT_KEY is refused in every environment
        if self.app.is_production:
            if self.app.secret_key == DEFAULT_SECRET or len(self.app.secret_key) < 32:
                raise SettingsError(
                    "SECRET_KEY must be set to a random value of 32+ characters in production"
                )
            if self.registration.captcha_test_answer:
                raise SettingsError("CAPTCHA_TEST_ANSWER must not be set in production")
            if self.app.bench_mode:
                raise SettingsError("BENCH_MODE must not be set in production")
            if not self.app.base_url.startswith("https://"):
                raise SettingsError("BASE_URL must be https:// in production")
            if not self.documents.key:
                raise SettingsError(
                    "DOCUMENT_KEY must be set in production (urlsafe base64 of 32 random bytes)"
                )
            if hook.url and not hook.secret:
                raise SettingsError(
                    "ECONTRACT_WEBHOOK_SECRET must be set in production when "
                    "ECONTRACT_WEBHOOK_URL is set"
                )
            if len(self.ca.key_passphrase) < 16:
                raise SettingsError("CA_KEY_PASSPHRASE must be set to 16+ characters in production")

    def _validate_ca(self) -> None:
        if self.ca.backend not in CA_BACKENDS:
            raise SettingsError(f"CA_BACKEND must be one of {', '.join(CA_BACKENDS)}")
        if not 1 <= self.ca.crl_days <= 10:
            raise SettingsError("CA_CRL_DAYS must be between 1 and 10 (S/MIME BR 4.9.7)")
        if self.ca.rsa_key_size not in (2048, 3072):
            raise SettingsError("RSA_KEY_SIZE must be 2048 or 3072")
        oid = self.ca.policy_oid
        if (
            not OID.match(oid)
            or oid.startswith(SMIME_SBR_ARC)
            or any(int(arc) >= 2**32 for arc in oid.split("."))
        ):
            # Arcs over 32 bits: Windows and pkilint's decoder refuse them.
            raise SettingsError(
                "CA_POLICY_OID must be a dotted OID outside 2.23.140.1.5, each arc under 2^32"
            )
        if self.ca.public_url and not self.ca.public_url.startswith("http://"):
            raise SettingsError("CA_PUBLIC_URL must be an http:// origin (S/MIME BR 7.1.2.3)")

    @property
    def ca_public_url(self) -> str:
        """The http:// origin written into certificates (CRL, CA certificates, OCSP)."""
        if self.ca.public_url:
            return self.ca.public_url.rstrip("/")
        parts = urlsplit(self.app.base_url)
        return f"http://{parts.netloc}{parts.path}".rstrip("/")

    @property
    def ca_dir(self) -> Path:
        """Where the local CA keeps its keys, certificates and the pre-signed CRL."""
        return self.app.var_dir / "ca"

    def ca_passphrase(self) -> bytes:
        """The passphrase of the local CA's key files (derived from SECRET_KEY when unset)."""
        if self.ca.key_passphrase:
            return self.ca.key_passphrase.encode()
        return base64.urlsafe_b64encode(self.app.derived_key("local-ca-key"))

    @property
    def cookies_secure(self) -> bool:
        return self.app.env not in ("dev", "test")


def env_documentation() -> list[tuple[str, str, str]]:
    """(variable, default, description) for every setting: the README table is made from it."""
    rows: list[tuple[str, str, str]] = []
    for key, cls_ in SECTIONS.items():
        source = inspect.getsource(cls_)
        defaults = cls_()
        for f in fields(cls_):
            env_name = _ENV_NAMES[key][f.name]
            marker = f'"""{env_name}: '
            start = source.find(marker)
            doc = source[start + len(marker) : source.find('"""', start + 3)] if start >= 0 else ""
            default = getattr(defaults, f.name)
            if isinstance(default, Path):
                default = (
                    str(default.relative_to(ROOT)) if default.is_relative_to(ROOT) else default
                )
            rows.append((env_name, str(default), doc.strip()))
    return rows
