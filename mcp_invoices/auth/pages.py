"""The sign-in and consent pages: self-contained HTML (no external request), light and dark, accessible.

Every value that comes from a client's registration or a person's input is escaped. Errors are in a
``role="alert"`` region tied to the field by ``aria-describedby``, so screen readers announce them; the
first field has focus; the colour scheme follows ``prefers-color-scheme``.
"""

from __future__ import annotations

from html import escape

__all__ = ["page", "email_form", "code_form", "consent_form", "message_page"]

_STYLE = """
:root { color-scheme: light dark; --bg: #f6f7f9; --card: #ffffff; --text: #1b1f24; --muted: #4f5964;
  --line: #d0d7de; --accent: #0b5cad; --accent-text: #ffffff; --error: #b42318; --focus: #1f6feb; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #0f1318; --card: #181d24; --text: #e8ecf1; --muted: #aab4bf; --line: #36404b;
    --accent: #5aa2ff; --accent-text: #0b1220; --error: #ff8a80; --focus: #8ab4ff; } }
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: var(--bg);
  color: var(--text); font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { width: min(28rem, calc(100vw - 2rem)); background: var(--card); border: 1px solid var(--line);
  border-radius: 12px; padding: 1.75rem; }
h1 { font-size: 1.35rem; margin: 0 0 .75rem; }
p, li { color: var(--muted); }
strong { color: var(--text); }
label { display: block; font-weight: 600; margin: 1rem 0 .35rem; }
input[type=email], input[type=text], input[type=password], select { width: 100%; padding: .6rem .7rem;
  font: inherit; color: var(--text); background: var(--bg); border: 1px solid var(--line); border-radius: 8px; }
input[aria-invalid=true] { border-color: var(--error); }
button { font: inherit; font-weight: 600; padding: .6rem 1.1rem; border-radius: 8px; cursor: pointer;
  border: 1px solid var(--accent); background: var(--accent); color: var(--accent-text); margin-top: 1.25rem; }
button.secondary { background: transparent; color: var(--text); border-color: var(--line); }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.error { color: var(--error); font-weight: 600; margin: .5rem 0 0; }
.row { display: flex; gap: .75rem; flex-wrap: wrap; }
.who { border: 1px solid var(--line); border-radius: 8px; padding: .75rem 1rem; margin: 1rem 0; }
.who p { margin: .2rem 0; }
"""


def page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def _hidden(flow: str, csrf: str) -> str:
    return (
        f'<input type="hidden" name="flow" value="{escape(flow)}">'
        f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
    )


def _error(error: str | None, field: str) -> tuple[str, str]:
    """(the alert paragraph, the attributes that tie the field to it)."""
    if not error:
        return '<p id="error" role="alert" class="error" hidden></p>', ""
    return (
        f'<p id="error" role="alert" class="error">{escape(error)}</p>',
        ' aria-invalid="true" aria-describedby="error"',
    )


def email_form(
    flow: str,
    csrf: str,
    client_name: str,
    providers: list[tuple[str, str]],
    error: str | None = None,
    *,
    codes: bool = True,
    passwords: bool = False,
) -> str:
    """``codes``/``passwords``: whether some offered provider signs in by a mailed code / the shop's login."""
    alert, invalid = _error(error, "email")
    hint = {
        (True, False): "<p>We send a one-time code to the address the shop holds for you.</p>",
        (True, True): "<p>We send a one-time code to the address the shop holds for you, or, for a shop "
        "with customer accounts, ask for your password next.</p>",
        (False, True): "<p>Next, we ask for the password of your customer account.</p>",
    }.get((codes, passwords), "")
    if len(providers) == 1:
        choice = f'<input type="hidden" name="provider" value="{escape(providers[0][0])}">'
        where = f"<p>Sign in as a customer of <strong>{escape(providers[0][1])}</strong>.</p>"
    else:
        options = "".join(f'<option value="{escape(key)}">{escape(name)}</option>' for key, name in providers)
        choice = f'<label for="provider">Where you are a customer</label><select id="provider" name="provider">{options}</select>'
        where = ""
    body = (
        f"<h1>Sign in to see your invoices</h1>"
        f"<p><strong>{escape(client_name)}</strong> asks to read your invoices. First, show who you are.</p>"
        f"{where}"
        f'<form method="post" action="/signin/email">{_hidden(flow, csrf)}{choice}'
        '<label for="email">Your email address</label>'
        f'<input id="email" name="email" type="email" autocomplete="email" required autofocus{invalid}>'
        f"{alert}"
        f"{hint}"
        f'<button type="submit">{"Send me a code" if codes and not passwords else "Continue"}</button></form>'
    )
    return page("Sign in", body)


def password_form(flow: str, csrf: str, email: str, provider_name: str, error: str | None = None) -> str:
    alert, invalid = _error(error, "password")
    body = (
        f"<h1>Sign in with your {escape(provider_name)} account</h1>"
        f"<p>Enter the password of your customer account <strong>{escape(email)}</strong>. It goes to the "
        "shop, which checks it; it is never kept here.</p>"
        f'<form method="post" action="/signin/password">{_hidden(flow, csrf)}'
        '<label for="password">Password</label>'
        f'<input id="password" name="password" type="password" autocomplete="current-password" required '
        f"autofocus{invalid}>"
        f'{alert}<button type="submit">Sign in</button></form>'
    )
    return page("Sign in", body)


def code_form(flow: str, csrf: str, email: str, error: str | None = None) -> str:
    alert, invalid = _error(error, "code")
    body = (
        "<h1>Enter your code</h1>"
        f"<p>If <strong>{escape(email)}</strong> is the address of a customer here, a code is on its way "
        "to it. It works once, for 10 minutes.</p>"
        f'<form method="post" action="/signin/code">{_hidden(flow, csrf)}'
        '<label for="code">One-time code</label>'
        '<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" '
        f'pattern="[0-9 ]*" maxlength="12" required autofocus{invalid}>'
        f'{alert}<button type="submit">Continue</button></form>'
    )
    return page("Enter your code", body)


def consent_form(
    flow: str,
    csrf: str,
    *,
    client_name: str,
    client_uri: str | None,
    redirect_host: str,
    provider_name: str,
    customer_label: str,
) -> str:
    uri = f"<p>Its address: <strong>{escape(client_uri)}</strong></p>" if client_uri else ""
    body = (
        f"<h1>Allow {escape(client_name)} to read your invoices?</h1>"
        f'<div class="who"><p><strong>{escape(client_name)}</strong> is asking.</p>{uri}'
        f"<p>After you answer, you go back to <strong>{escape(redirect_host)}</strong>.</p></div>"
        f"<p>Signed in as <strong>{escape(customer_label)}</strong>, a customer of "
        f"<strong>{escape(provider_name)}</strong>. If you allow it, it will be able to:</p>"
        "<ul><li>list, read, summarise and compare your invoices, and download them as PDF;</li>"
        "<li>list your orders and ask for the invoice of one of them.</li></ul>"
        "<p>It sees only your own invoices, never another customer's. You can withdraw it at any time "
        "by disconnecting it in the app.</p>"
        f'<form method="post" action="/signin/consent">{_hidden(flow, csrf)}<div class="row">'
        '<button type="submit" name="decision" value="allow" autofocus>Allow</button>'
        '<button type="submit" name="decision" value="deny" class="secondary">Deny</button>'
        "</div></form>"
    )
    return page("Allow access", body)


def message_page(title: str, message: str) -> str:
    return page(title, f'<h1>{escape(title)}</h1><p role="alert">{escape(message)}</p>')


def no_sign_in(unable: str) -> tuple[str, str]:
    """Why the sign-in page cannot sign anyone in: the title and message. ``unable`` names the providers
    whose API gives no way to vouch for a customer (empty: sign-in is merely not configured)."""
    if unable:
        return (
            "Sign-in is not available here",
            f"This server reads invoices from {unable}, which gives it no way to confirm who a customer is (no "
            "customer email address and no customer login in its API), so it cannot sign you in. Ask the shop "
            "for a printed token for your customer account (the operator runs `mcp-invoices token issue`) and "
            "add it to your assistant as a bearer token instead.",
        )
    return (
        "Sign-in is not set up",
        "This server cannot sign customers in yet: its operator has not configured email for the one-time "
        "codes (MCP_INVOICES_SMTP_HOST), nor a shop whose own login it can use. Ask the shop to set it up; "
        "until then, ask it for a printed token.",
    )
