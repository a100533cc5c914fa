"""Sending a one-time sign-in code: SMTP configured by environment, or the server log in development.

The standard library's ``smtplib`` and ``email``, run in a worker thread with a timeout: a well-kept,
dependency-free client for the one message this server sends. The development mode that writes the
code to the log exists only when ``MCP_INVOICES_SIGNIN_LOG_CODES=1`` says so, and says it at start.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Literal

import anyio.to_thread
from pydantic import SecretStr

from mcp_invoices.errors import ConfigError

__all__ = ["MailSettings", "load_mail_settings", "send_code", "MailUnavailable"]

logger = logging.getLogger("mcp_invoices.auth")


class MailUnavailable(RuntimeError):
    """No way to deliver a code is configured."""


@dataclass(frozen=True)
class MailSettings:
    host: str | None
    port: int
    username: str | None
    password: SecretStr | None
    sender: str
    security: Literal["starttls", "tls", "none"]
    log_codes: bool
    """Development only: write each code to the server log (``MCP_INVOICES_SIGNIN_LOG_CODES=1``)."""
    timeout: float = 15.0

    @property
    def can_send(self) -> bool:
        return self.host is not None or self.log_codes


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return (value.strip() or None) if value is not None else None


def load_mail_settings(env: Mapping[str, str] | None = None) -> MailSettings:
    env = os.environ if env is None else env
    security = (_get(env, "MCP_INVOICES_SMTP_SECURITY") or "starttls").lower()
    if security not in ("starttls", "tls", "none"):
        raise ConfigError("MCP_INVOICES_SMTP_SECURITY must be starttls, tls or none.")
    port_text = (
        _get(env, "MCP_INVOICES_SMTP_PORT") or {"starttls": "587", "tls": "465", "none": "25"}[security]
    )
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"MCP_INVOICES_SMTP_PORT must be a port number, not {port_text!r}.")
    host = _get(env, "MCP_INVOICES_SMTP_HOST")
    sender = _get(env, "MCP_INVOICES_SMTP_FROM")
    if host and not sender:
        raise ConfigError(
            "MCP_INVOICES_SMTP_HOST is set: MCP_INVOICES_SMTP_FROM must name the sender address."
        )
    password = _get(env, "MCP_INVOICES_SMTP_PASSWORD")
    log_codes = (_get(env, "MCP_INVOICES_SIGNIN_LOG_CODES") or "0").lower() in ("1", "true", "yes")
    return MailSettings(
        host=host,
        port=int(port_text),
        username=_get(env, "MCP_INVOICES_SMTP_USERNAME"),
        password=SecretStr(password) if password else None,
        sender=sender or "mcp-invoices@localhost",
        security=security,  # type: ignore[arg-type]
        log_codes=log_codes,
    )


def _message(settings: MailSettings, to: str, code: str, where: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = to
    message["Subject"] = f"Your sign-in code: {code}"
    message.set_content(
        f"Your code to sign in to your invoices at {where} is:\n\n    {code}\n\n"
        "It works once, for 10 minutes. If you did not ask for it, ignore this message: "
        "nobody can sign in without the code.\n"
    )
    return message


def _send(settings: MailSettings, message: EmailMessage) -> None:
    assert settings.host is not None
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.security == "tls":
        smtp = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout, context=context)
    else:
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    with smtp:
        if settings.security == "starttls":
            smtp.starttls(context=context)
        if settings.username and settings.password:
            smtp.login(settings.username, settings.password.get_secret_value())
        smtp.send_message(message)


async def send_code(settings: MailSettings, to: str, code: str, where: str) -> None:
    """Deliver ``code`` to ``to``; failures are logged (without the code or the address), not raised:
    the person sees the same page either way and can ask for a new code."""
    if settings.log_codes:
        logger.warning(f"development sign-in code for {to}: {code} (MCP_INVOICES_SIGNIN_LOG_CODES=1)")
    if settings.host is None:
        return
    try:
        await anyio.to_thread.run_sync(_send, settings, _message(settings, to, code, where))
    except (OSError, smtplib.SMTPException) as error:
        logger.warning(
            "could not send a sign-in code by email",
            extra={"smtp_host": settings.host, "error": type(error).__name__},
        )
