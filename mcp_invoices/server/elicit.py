"""Asking the person before a permanent generation (elicitation), on both protocol eras.

``generate_invoice`` takes one extra parameter filled by the SDK's resolver injection
(``AskedDecision``), so it never appears in the input schema. The resolvers below:

1. ``prepare`` reads the order within the caller's scope and decides whether to ask at all: only
   when the client can answer a form (it declared form elicitation, and on the handshake era the
   request can carry a server-to-client request), the provider generates invoices, and the order
   has no invoice yet. Any failure here is left to the generation itself to report, so an order
   that is missing or another customer's gets exactly its usual ``not_found``.
2. ``ask_billing`` asks for the billing name and address when the order (with what the call
   passed) lacks them.
3. ``ask_confirmation`` shows the name and address that will be printed, and the total, and asks
   to confirm; issuing is permanent.
4. ``decide`` turns the answers into a ``GenerationDecision``: proceed (with the billing to save
   first) or declined (nothing is generated).

The SDK carries the questions: on 2026-07-28 in an ``InputRequiredResult`` whose sealed
``requestState`` records the answers (every replica holds the same keys, so any replica can take
the next round); before that as ``elicitation/create`` requests within the call. Resolvers run
again on each round and must ask the same question each time, so every message is built only
from the order and the answers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from mcp.server.elicitation import AcceptedElicitation, ElicitationResult
from mcp.server.mcpserver import Context, Resolve
from mcp.server.mcpserver.resolve import Elicit
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field, create_model
from pydantic.fields import FieldInfo

from mcp_invoices.domain.errors import InvoiceError
from mcp_invoices.domain.models import Address, Billing, Order
from mcp_invoices.domain.money import format_money
from mcp_invoices.server.calls import CurrentCall
from mcp_invoices.server.inputs import AddressLine, BillingName, CountryCode, OptionalLine, Place, PostalCode

__all__ = [
    "AskedDecision",
    "BillingDetailsForm",
    "ConfirmGenerationForm",
    "GenerationDecision",
    "billing_from_arguments",
    "client_can_answer",
]

logger = logging.getLogger("mcp_invoices.server")

_INPUT_REQUIRED_SINCE = "2026-07-28"
"""From this version the questions ride an InputRequiredResult instead of a request within the call."""


class BillingDetailsForm(BaseModel):
    """The form for missing billing details (flat primitives, as elicitation requires)."""

    billing_name: BillingName = Field(title="Billing name", description="Person or company to bill")
    line1: AddressLine = Field(title="Address line 1", description="Street and number")
    line2: OptionalLine | None = Field(default=None, title="Address line 2")
    postal_code: PostalCode | None = Field(default=None, title="Postal code")
    city: Place | None = Field(default=None, title="City")
    state: Place | None = Field(default=None, title="State or region")
    country: CountryCode = Field(title="Country", description="Two-letter country code, e.g. US, DE, JP")

    def billing(self) -> Billing:
        return Billing(
            name=self.billing_name.strip(),
            address=Address(
                line1=self.line1.strip(),
                line2=self.line2 or None,
                postal_code=self.postal_code or None,
                city=self.city or None,
                state=self.state or None,
                country=self.country.strip().upper(),
            ),
        )


class ConfirmGenerationForm(BaseModel):
    """The confirmation before a permanent generation."""

    confirm: bool = Field(title="Generate the invoice", description="Yes: issue it now with these details")


@dataclass(frozen=True, slots=True)
class _Preparation:
    order: Order | None
    """The order, when the person is to be asked; None means: ask nothing, behave as without elicitation."""
    billing: Billing | None = None
    """The order's billing with what the call passed laid over it."""


@dataclass(frozen=True, slots=True)
class GenerationDecision:
    """What the person decided; ``asked`` is False when nothing was asked (the client cannot answer)."""

    outcome: Literal["proceed", "declined"]
    asked: bool
    billing: Billing | None = None
    """Billing to save on the order before generating: the form's answers, else what the call passed."""
    order: Order | None = None


def client_can_answer(ctx: Context) -> bool:
    """The client declared form elicitation and this request can carry a question to it."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    # A bare ``elicitation: {}`` (the only shape before modes existed) means forms; url-only does not.
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return False
    version = ctx.protocol_version
    if version is not None and is_version_at_least(version, _INPUT_REQUIRED_SINCE):
        return True
    # The handshake era asks within the call; a stateless HTTP request (replicas) has no channel back.
    return bool(ctx.session.can_send_request)


def _prefilled(billing: Billing) -> type[BillingDetailsForm]:
    """The form with what the order already has filled in, so the person completes rather than retypes it.

    Built from the order alone, so every round of one call renders the same question.
    """
    address = billing.address or Address()
    known = {
        "billing_name": billing.name,
        "line1": address.line1,
        "line2": address.line2,
        "postal_code": address.postal_code,
        "city": address.city,
        "state": address.state,
        "country": address.country,
    }
    fields: dict[str, Any] = {}
    for name, value in known.items():
        if value:
            base = BillingDetailsForm.model_fields[name]
            fields[name] = (base.annotation, FieldInfo.merge_field_infos(base, default=value))
    if not fields:
        return BillingDetailsForm
    return create_model("BillingDetailsForm", __base__=BillingDetailsForm, **fields)


def _overlay(order_billing: Billing, given: Billing | None) -> Billing:
    """What would be printed: a given name replaces the name, a given address the whole address."""
    if given is None:
        return order_billing
    return Billing(
        name=given.name if given.name is not None else order_billing.name,
        address=given.address if given.address is not None else order_billing.address,
    )


def _printed(billing: Billing) -> str:
    address = ", ".join(billing.address.lines()) if billing.address else "(no address)"
    return f"{billing.name or '(no name)'}, {address}"


def billing_from_arguments(billing_name: str | None, billing_address: BaseModel | None) -> Billing | None:
    """Billing passed as ``generate_invoice`` arguments, or None when the call passed none."""
    if billing_name is None and billing_address is None:
        return None
    return Billing(
        name=billing_name,
        address=Address(**billing_address.model_dump()) if billing_address is not None else None,
    )


async def prepare(
    ctx: Context,
    call: CurrentCall,
    order_id: str,
    provider: str | None,
    billing_name: str | None,
    billing_address: BaseModel | None,
) -> _Preparation:
    if not client_can_answer(ctx):
        return _Preparation(order=None)
    try:
        scope, source = call.provider(provider)
        if not source.info.generates_invoices:
            return _Preparation(order=None)
        order = await source.get_order(scope, order_id)
    except InvoiceError:
        return _Preparation(order=None)  # the generation reports it, exactly as without questions
    if order.invoice != "none" or order.status in ("void", "draft"):
        return _Preparation(order=None)  # nothing permanent would happen now
    given = billing_from_arguments(billing_name, billing_address)
    return _Preparation(order=order, billing=_overlay(order.billing, given))


async def ask_billing(
    preparation: Annotated[_Preparation, Resolve(prepare)],
) -> Elicit[BillingDetailsForm] | None:
    if preparation.order is None or preparation.billing is None or preparation.billing.is_complete():
        return None
    return Elicit(
        f"Order {preparation.order.id} has no complete billing name and address, which its invoice needs. "
        "Enter the details to print on the invoice; they are saved on the order.",
        _prefilled(preparation.billing),
    )


async def ask_confirmation(
    preparation: Annotated[_Preparation, Resolve(prepare)],
    billing: Annotated[ElicitationResult[BillingDetailsForm], Resolve(ask_billing)],
) -> Elicit[ConfirmGenerationForm] | None:
    order = preparation.order
    if order is None or not isinstance(billing, AcceptedElicitation):
        return None  # nothing to confirm: not asking, or the details were declined
    printed = billing.data.billing() if billing.data is not None else preparation.billing
    if printed is None or not printed.is_complete():
        return None  # the generation refuses it with missing_billing_details
    return Elicit(
        f"Generate the invoice of order {order.id} now? Issuing is permanent: the invoice cannot be changed "
        f"afterwards. Billed to: {_printed(printed)}. Total: {format_money(order.total, order.currency)}.",
        ConfirmGenerationForm,
    )


async def decide(
    preparation: Annotated[_Preparation, Resolve(prepare)],
    billing: Annotated[ElicitationResult[BillingDetailsForm], Resolve(ask_billing)],
    confirmation: Annotated[ElicitationResult[ConfirmGenerationForm], Resolve(ask_confirmation)],
    billing_name: str | None,
    billing_address: BaseModel | None,
) -> GenerationDecision:
    given = billing_from_arguments(billing_name, billing_address)
    order = preparation.order
    if order is None:
        return GenerationDecision(outcome="proceed", asked=False, billing=given)
    if not isinstance(billing, AcceptedElicitation) or not isinstance(confirmation, AcceptedElicitation):
        logger.info("generation declined", extra={"order": order.id})
        return GenerationDecision(outcome="declined", asked=True, order=order, billing=preparation.billing)
    answered = billing.data.billing() if billing.data is not None else None
    if confirmation.data is not None and not confirmation.data.confirm:
        logger.info("generation declined", extra={"order": order.id})
        return GenerationDecision(
            outcome="declined", asked=True, order=order, billing=answered or preparation.billing
        )
    return GenerationDecision(outcome="proceed", asked=True, billing=answered or given, order=order)


AskedDecision = Annotated[GenerationDecision, Resolve(decide)]
"""``generate_invoice``'s parameter for what the person decided (filled by the SDK, not an argument)."""
