"""The pages between ``/authorize`` and the client's redirect URI: who the customer is, then consent.

Who someone is comes from a login the provider vouches for, never from what they type alone: a
one-time code sent to the email address the provider holds for that customer (the local ledger's
``customers.email``). The flow is a row of ``oauth_grants`` (any replica serves any step):

1. ``GET /signin?flow=…`` binds the flow to this browser (an HttpOnly, SameSite=Strict cookie holding
   the flow's CSRF token, set once: the same URL opened elsewhere is refused) and shows the step.
2. ``POST /signin/email``: provider and address. The answer is the same whether or not the address is
   a customer's (the code is sent in the background, after the response); sending is limited per
   address and per client address.
3. ``POST /signin/code``: the code, compared in constant time, single-use, 10 minutes, at most
   a few wrong tries per flow, per account and per client address (then locked for a while;
   ``mcp_invoices/auth/lockout.py`` counts them, and the codes sent).
4. ``POST /signin/consent``: allow (an authorization code goes to the registered redirect URI checked
   at ``/authorize``, nowhere else) or deny (``access_denied`` to the same URI).

Every form carries the CSRF token, checked against the flow and the cookie; every page is
``no-store``, cannot be framed, loads nothing from elsewhere and sends no referrer (the flow id is in
the URL).
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
from pydantic import SecretStr
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from mcp_invoices.auth import pages
from mcp_invoices.auth.lockout import LOCK_WINDOW, Attempts, Lockout, digest
from mcp_invoices.auth.mail import MailSettings, send_code
from mcp_invoices.auth.oauth import AuthorizationServer, Grant, grant_key
from mcp_invoices.domain.errors import InvoiceError
from mcp_invoices.providers.catalog import CATALOG

__all__ = [
    "SignIn",
    "CustomerDirectory",
    "PasswordLogin",
    "PROVIDER_NAMES",
]

logger = logging.getLogger("mcp_invoices.auth")

CODE_TTL = timedelta(minutes=10)
COOKIE = "mcpi_signin"

PROVIDER_NAMES = {entry.id: entry.signin_name for entry in CATALOG}
"""Who a customer's account is with, as the pages say it (each provider's spec)."""

CustomerDirectory = Callable[[str], Awaitable[str | None]]
"""An email address → the id of the one customer the provider holds it for, or None."""

PasswordLogin = Callable[[str, str], Awaitable[tuple[str, SecretStr] | None]]
"""(email, password) → the provider's own login: (customer id, the customer's credential), or None."""


@dataclass
class SignIn:
    server: AuthorizationServer
    directories: Mapping[str, CustomerDirectory]
    """Providers whose customers sign in with a one-time code, each with how to find a customer by email."""
    mail: MailSettings
    secure_cookies: bool
    password_logins: Mapping[str, PasswordLogin] = field(default_factory=dict)
    """Providers whose customers sign in with the provider's own login (Bagisto's customer login)."""
    without_sign_in: Sequence[str] = ()
    """Providers configured here whose API gives no way to vouch for a customer (Afternoon: no customer
    email and no customer login in its reference; see docs/providers.md): their customers use printed tokens."""

    @property
    def providers(self) -> list[str]:
        """Where a customer can sign in now: code providers only when a code can be sent."""
        coded = list(self.directories) if self.mail.can_send else []
        return [*coded, *self.password_logins]

    @property
    def store(self) -> Any:
        return self.server.store

    @property
    def lockout(self) -> Lockout:
        return Lockout(self.server.store)

    async def _run(self, function: Any, *args: Any) -> Any:
        return await anyio.to_thread.run_sync(function, *args)

    def routes(self) -> list[Route]:
        return [
            Route("/signin", self.show, methods=["GET"]),
            Route("/signin/email", self.submit_email, methods=["POST"]),
            Route("/signin/code", self.submit_code, methods=["POST"]),
            Route("/signin/password", self.submit_password, methods=["POST"]),
            Route("/signin/consent", self.submit_consent, methods=["POST"]),
        ]

    # -- helpers -----------------------------------------------------------------------------------

    @staticmethod
    def _headers(extra_form_action: str = "") -> dict[str, str]:
        return {
            "Cache-Control": "no-store",
            "Pragma": "no-cache",
            "Content-Security-Policy": (
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
                f"form-action 'self'{extra_form_action}; frame-ancestors 'none'"
            ),
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
        }

    def _html(self, content: str, status: int = 200, *, form_action: str = "") -> HTMLResponse:
        return HTMLResponse(content, status_code=status, headers=self._headers(form_action))

    def _problem(self, title: str, message: str, status: int) -> HTMLResponse:
        return self._html(pages.message_page(title, message), status)

    async def _flow(self, flow_id: str) -> Grant | None:
        grant: Grant | None = await self._run(self.store.get, grant_key("flow", flow_id))
        if (
            grant is None
            or grant.kind != "flow"
            or grant.used_at is not None
            or grant.expires_at <= datetime.now(UTC)
        ):
            return None
        return grant

    def _expired(self) -> HTMLResponse:
        return self._problem(
            "This sign-in has expired",
            "This sign-in link is no longer valid (it is used up or more than 15 minutes old). Go back to "
            "your app and connect again to start a new one.",
            400,
        )

    async def _form_flow(self, request: Request) -> tuple[Grant, Mapping[str, Any], str] | Response:
        """The flow a form posts to, after its CSRF check; or the page that refuses it."""
        form = await request.form()
        flow_id = str(form.get("flow") or "")
        grant = await self._flow(flow_id) if flow_id else None
        if grant is None:
            return self._expired()
        expected = grant.data["csrf"]
        sent, cookie = str(form.get("csrf") or ""), request.cookies.get(COOKIE, "")
        if not (
            hmac.compare_digest(sent.encode(), expected.encode())
            and hmac.compare_digest(cookie.encode(), expected.encode())
        ):
            logger.warning("refused a sign-in form without its CSRF token")
            return self._problem(
                "This form cannot be accepted",
                "The form was not sent from this sign-in page in this browser (its security token is missing "
                "or wrong). Go back to your app and connect again.",
                403,
            )
        return grant, form, flow_id

    def _client_address(self, request: Request) -> str:
        return request.client.host if request.client else "unknown"

    # -- pages -------------------------------------------------------------------------------------

    async def show(self, request: Request) -> Response:
        flow_id = request.query_params.get("flow", "")
        grant = await self._flow(flow_id) if flow_id else None
        if grant is None:
            return self._expired()
        data = dict(grant.data)
        csrf = data["csrf"]
        if data.get("bound") and not hmac.compare_digest(
            request.cookies.get(COOKIE, "").encode(), csrf.encode()
        ):
            return self._problem(
                "This sign-in belongs to another browser",
                "This sign-in was started in another browser. Go back to your app and connect again from here.",
                403,
            )
        if not data.get("bound"):
            data["bound"] = True
            await self._run(self.store.update_data, grant.key, data)
        response = await self._render(flow_id, data)
        response.set_cookie(
            COOKIE,
            csrf,
            httponly=True,
            samesite="strict",
            secure=self.secure_cookies,
            path="/signin",
            max_age=900,
        )
        return response

    async def _client_name(self, data: Mapping[str, Any]) -> tuple[str, str | None]:
        client = await self.server.get_client(data["client_id"])
        name = (client.client_name if client else None) or "An app"
        uri = str(client.client_uri) if client and client.client_uri else None
        if uri is None and data["client_id"].startswith("https://"):
            uri = data["client_id"]  # a client ID metadata document: its URL says who published it
        return name[:100], uri

    async def _render(self, flow_id: str, data: Mapping[str, Any], error: str | None = None) -> HTMLResponse:
        csrf = data["csrf"]
        status = 400 if error else 200
        if data["step"] == "email":
            name, _ = await self._client_name(data)
            providers = [(key, PROVIDER_NAMES.get(key, key)) for key in self.providers]
            if not providers:
                unable = [] if self.directories or self.password_logins else self.without_sign_in
                names = " and ".join(PROVIDER_NAMES.get(key, key) for key in unable)
                return self._problem(*pages.no_sign_in(names), 503)
            codes = any(key in self.directories for key, _ in providers)
            passwords = any(key in self.password_logins for key, _ in providers)
            form = pages.email_form(flow_id, csrf, name, providers, error, codes=codes, passwords=passwords)
            return self._html(form, status)
        if data["step"] == "code":
            return self._html(pages.code_form(flow_id, csrf, data["email"], error), status)
        if data["step"] == "password":
            name = PROVIDER_NAMES.get(data["provider"], data["provider"])
            return self._html(pages.password_form(flow_id, csrf, data["email"], name, error), status)
        name, uri = await self._client_name(data)
        redirect = urlsplit(data["redirect_uri"])
        return self._html(
            pages.consent_form(
                flow_id,
                csrf,
                client_name=name,
                client_uri=uri,
                redirect_host=redirect.hostname or redirect.scheme,
                provider_name=PROVIDER_NAMES.get(data["provider"], data["provider"]),
                customer_label=data["email"],
            ),
            status,
            form_action=" " + _source_of(data["redirect_uri"]),
        )

    def _again(self, flow_id: str) -> RedirectResponse:
        """Post/redirect/get: the browser shows the next step at /signin."""
        return RedirectResponse(f"/signin?flow={flow_id}", status_code=303, headers=self._headers())

    # -- step 2: the address -----------------------------------------------------------------------

    async def submit_email(self, request: Request) -> Response:
        checked = await self._form_flow(request)
        if isinstance(checked, Response):
            return checked
        grant, form, flow_id = checked
        data = dict(grant.data)
        if data["step"] != "email":
            return self._again(flow_id)
        provider = str(form.get("provider") or "")
        email = str(form.get("email") or "").strip()
        if provider not in self.providers:
            return await self._render(flow_id, data, "Choose where you are a customer.")
        if "@" not in email or len(email) > 254:
            return await self._render(flow_id, data, "Enter the email address you use with the shop.")
        account = digest(f"{provider}\x00{email.lower()}")
        if provider in self.password_logins:
            data.update(step="password", provider=provider, email=email, account=account, customer_id=None)
            await self._run(self.store.update_data, grant.key, data)
            return self._again(flow_id)
        may_send = await self.lockout.may_send(account, self._client_address(request))
        data.update(step="code", provider=provider, email=email, account=account, customer_id=None, code=None)
        task: BackgroundTask | None = None
        if may_send:
            customer = await self.directories[provider](email)
            if customer is not None:
                code = f"{secrets.randbelow(10**8):08d}"
                data.update(
                    customer_id=customer,
                    code=digest(f"{flow_id}\x00{code}"),
                    code_expires=(datetime.now(UTC) + CODE_TTL).isoformat(),
                )
                task = BackgroundTask(send_code, self.mail, email, code, self.server.issuer_url)
        else:
            logger.warning("sign-in codes asked for too often; none sent", extra={"provider": provider})
        await self._run(self.store.update_data, grant.key, data)
        # The same answer whether or not the address is a customer's, sent before any email is.
        response = self._again(flow_id)
        response.background = task
        return response

    # -- step 3: the code --------------------------------------------------------------------------

    async def submit_code(self, request: Request) -> Response:
        opened = await self._open_attempt(request, "code")
        if isinstance(opened, Response):
            return opened
        grant, form, flow_id, data, attempts = opened
        code = "".join(str(form.get("code") or "").split())
        expected = data.get("code") or digest("")  # compared even when there is none: same cost
        fresh = data.get("code_expires") and datetime.fromisoformat(data["code_expires"]) > datetime.now(UTC)
        right = hmac.compare_digest(digest(f"{flow_id}\x00{code}").encode(), expected.encode())
        if right and fresh and data.get("code") and data.get("customer_id"):
            data.update(step="consent", code=None, code_expires=None)
            await self._run(self.store.update_data, grant.key, data)
            await self._run(self.store.clear_failures, attempts.flow)
            return self._again(flow_id)
        left = await self.lockout.count_failure(attempts)
        if left <= 0:
            return await self._locked(grant, data)
        return await self._render(
            flow_id,
            data,
            f"That code is not right, or it has expired. {left} tries left; check the newest email.",
        )

    # -- step 3 (a shop with customer accounts): the provider's own login ---------------------------

    async def submit_password(self, request: Request) -> Response:
        opened = await self._open_attempt(request, "password")
        if isinstance(opened, Response):
            return opened
        grant, form, flow_id, data, attempts = opened
        password = str(form.get("password") or "")
        if not self.store.can_seal:
            return self._problem(
                "Sign-in is not set up",
                "This server cannot keep your shop login safely: its operator must set MCP_INVOICES_SECRET_KEY.",
                503,
            )
        try:
            outcome = (
                await self.password_logins[data["provider"]](data["email"], password) if password else None
            )
        except InvoiceError as error:
            # The shop did not answer as it should: say so, without blaming the password.
            logger.warning(
                "the shop's customer login failed", extra={"provider": data["provider"], "code": error.code}
            )
            return await self._render(
                flow_id,
                data,
                f"The shop could not check your password just now ({error.message}) Try again in a minute.",
            )
        if outcome is not None:
            customer_id, credential = outcome
            data.update(
                step="consent",
                customer_id=customer_id,
                credential=await self._run(self.store.seal, credential),
            )
            await self._run(self.store.update_data, grant.key, data)
            await self._run(self.store.clear_failures, attempts.flow)
            return self._again(flow_id)
        left = await self.lockout.count_failure(attempts)
        if left <= 0:
            return await self._locked(grant, data)
        return await self._render(
            flow_id, data, f"The shop did not accept that email and password. {left} tries left."
        )

    async def _open_attempt(
        self, request: Request, step: str
    ) -> Response | tuple[Grant, Mapping[str, Any], str, dict[str, Any], Attempts]:
        """The checked form of a flow at ``step`` and the counters a wrong try counts against; or the
        answer instead (a refused form, the flow's current page, or the lock page)."""
        checked = await self._form_flow(request)
        if isinstance(checked, Response):
            return checked
        grant, form, flow_id = checked
        data = dict(grant.data)
        if data["step"] != step:
            return self._again(flow_id)
        attempts = Attempts.of(data, self._client_address(request), flow_id)
        if await self.lockout.is_locked(attempts):
            return await self._locked(grant, data)
        return grant, form, flow_id, data, attempts

    async def _locked(self, grant: Grant, data: dict[str, Any]) -> HTMLResponse:
        data.update(code=None, code_expires=None, customer_id=None)
        await self._run(self.store.update_data, grant.key, data)
        logger.warning("sign-in locked after too many wrong codes", extra={"provider": data.get("provider")})
        return self._problem(
            "Too many wrong codes",
            f"Sign-in is locked for {int(LOCK_WINDOW.total_seconds() // 60)} minutes after too many wrong tries. "
            "Wait, then connect again from your app to get a new code.",
            429,
        )

    # -- step 4: consent ---------------------------------------------------------------------------

    async def submit_consent(self, request: Request) -> Response:
        checked = await self._form_flow(request)
        if isinstance(checked, Response):
            return checked
        grant, form, flow_id = checked
        data = dict(grant.data)
        if data["step"] != "consent":
            return self._again(flow_id)
        # One answer per flow: whoever uses it first.
        if not await self._run(self.store.use, grant.key):
            return self._expired()
        redirect_uri = data["redirect_uri"]  # checked against the registration at /authorize
        if form.get("decision") != "allow":
            target = self.server.authorization_response(
                redirect_uri,
                error="access_denied",
                error_description="The customer declined.",
                state=data["state"],
            )
        else:
            target = await self.server.issue_code(data, data["provider"], data["customer_id"])
            logger.info("a customer allowed an OAuth client", extra={"provider": data["provider"]})
        return RedirectResponse(
            target, status_code=303, headers=self._headers(" " + _source_of(redirect_uri))
        )


def _source_of(uri: str) -> str:
    """The CSP source expression of a redirect target (Chromium applies form-action to redirects)."""
    parts = urlsplit(uri)
    if parts.scheme in ("http", "https"):
        return f"{parts.scheme}://{parts.netloc}"
    return f"{parts.scheme}:"
