"""Bagisto's emulator: a small GraphQL reader (enough of the language for the queries a client sends
here), the schema of the invoice queries, and their cursor pages, as bagisto-api 5ab9ff2 builds them.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["GRAPHQL_PAGE_MAX", "TYPES", "Field", "GraphQLFailure", "Parser", "connection", "select"]

GRAPHQL_PAGE_MAX = 50
"""bagisto-api 5ab9ff2 config/api-platform.php: pagination_maximum_items_per_page 50."""


class GraphQLFailure(Exception):
    """A query this server refuses: answered as ``{"errors": [{"message": ...}]}`` with 200."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


_TOKEN = re.compile(r'\s+|,|#[^\n]*|(\.\.\.|[{}():!=\[\]]|\$?[A-Za-z_][A-Za-z0-9_]*|-?\d+|"(?:[^"\\]|\\.)*")')


@dataclass
class Field:
    name: str
    args: dict[str, Any]
    selection: list[Field] | None


def _tokens(query: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    while position < len(query):
        match = _TOKEN.match(query, position)
        if match is None:
            raise GraphQLFailure(f'Syntax Error: Unexpected character "{query[position]}".')
        if match.group(1):
            tokens.append(match.group(1))
        position = match.end()
    return tokens


class Parser:
    def __init__(self, query: str, variables: dict[str, Any]) -> None:
        self.tokens = _tokens(query)
        self.position = 0
        self.variables = variables

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise GraphQLFailure(f"Syntax Error: Expected {expected or 'a token'}, found {token or '<EOF>'}.")
        self.position += 1
        return token

    def document(self) -> list[Field]:
        if self.peek() == "query":
            self.take()
            if self.peek() not in ("{", "("):
                self.take()  # the operation name
            if self.peek() == "(":  # variable definitions: their values come from ``variables``
                depth = 0
                while True:
                    token = self.take()
                    depth += {"(": 1, ")": -1}.get(token, 0)
                    if depth == 0:
                        break
        elif self.peek() in ("mutation", "subscription"):
            raise GraphQLFailure("Only queries are served here.")
        selection = self.selection()
        if self.peek() is not None:
            raise GraphQLFailure("Syntax Error: one operation per request.")
        return selection

    def selection(self) -> list[Field]:
        self.take("{")
        fields: list[Field] = []
        while self.peek() != "}":
            name = self.take()
            args: dict[str, Any] = {}
            if self.peek() == "(":
                self.take()
                while self.peek() != ")":
                    arg = self.take()
                    self.take(":")
                    args[arg] = self.value()
                self.take(")")
            fields.append(Field(name, args, self.selection() if self.peek() == "{" else None))
        self.take("}")
        return fields

    def value(self) -> Any:
        token = self.take()
        if token.startswith("$"):
            return self.variables.get(token[1:])
        if token.startswith('"'):
            return json.loads(token)
        if token in ("null", "true", "false"):
            return {"null": None, "true": True, "false": False}[token]
        if re.fullmatch(r"-?\d+", token):
            return int(token)
        raise GraphQLFailure(f"Syntax Error: Unexpected {token}.")


def select(
    value: Any, type_name: str, selection: list[Field] | None, types: dict[str, dict[str, str]]
) -> Any:
    """``value`` shaped by ``selection``; a field the type does not have is refused, as GraphQL does."""
    if selection is None or value is None:
        return value
    if isinstance(value, list):
        return [select(entry, type_name, selection, types) for entry in value]
    fields = types[type_name]
    shaped: dict[str, Any] = {}
    for wanted in selection:
        if wanted.name not in fields:
            raise GraphQLFailure(f'Cannot query field "{wanted.name}" on type "{type_name}".')
        shaped[wanted.name] = select(value.get(wanted.name), fields[wanted.name], wanted.selection, types)
    return shaped


# bagisto-api 5ab9ff2 tests/Feature/GraphQL/CustomerInvoiceTest.php (fields, pageInfo, totalCount) and
# tests/e2e-pw/tests/graphQL/graphql/Queries/customerInvoice.queries.ts (items connection, item fields).
_INVOICE_FIELDS = (
    "id _id incrementId state totalQty emailSent grandTotal baseGrandTotal subTotal baseSubTotal shippingAmount "
    "baseShippingAmount taxAmount baseTaxAmount discountAmount baseDiscountAmount shippingTaxAmount "
    "baseShippingTaxAmount subTotalInclTax baseSubTotalInclTax shippingAmountInclTax baseShippingAmountInclTax "
    "baseCurrencyCode channelCurrencyCode orderCurrencyCode transactionId reminders nextReminderAt createdAt "
    "updatedAt downloadUrl"
)

_ITEM_FIELDS = (
    "id _id sku parentId name price qty total basePrice description baseTotal taxAmount baseTaxAmount "
    "discountPercent discountAmount baseDiscountAmount priceInclTax basePriceInclTax totalInclTax "
    "baseTotalInclTax productId productType orderItemId invoiceId createdAt updatedAt"
)

TYPES: dict[str, dict[str, str]] = {
    "Query": {"customerInvoices": "CustomerInvoiceCursorConnection", "customerInvoice": "CustomerInvoice"},
    "CustomerInvoiceCursorConnection": {
        "edges": "CustomerInvoiceEdge",
        "pageInfo": "CustomerInvoicePageInfo",
        "totalCount": "Int",
    },
    "CustomerInvoiceEdge": {"node": "CustomerInvoice", "cursor": "String"},
    "CustomerInvoicePageInfo": {
        "endCursor": "String",
        "startCursor": "String",
        "hasNextPage": "Boolean",
        "hasPreviousPage": "Boolean",
    },
    "CustomerInvoice": {
        **dict.fromkeys(_INVOICE_FIELDS.split(), "Scalar"),
        "items": "CustomerInvoiceItemCursorConnection",
    },
    "CustomerInvoiceItemCursorConnection": {
        "edges": "CustomerInvoiceItemEdge",
        "pageInfo": "CustomerInvoicePageInfo",
        "totalCount": "Int",
    },
    "CustomerInvoiceItemEdge": {"node": "CustomerInvoiceItem", "cursor": "String"},
    "CustomerInvoiceItem": dict.fromkeys(_ITEM_FIELDS.split(), "Scalar"),
}


def _cursor(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode()


def _decoded(cursor: Any) -> int | None:
    """bagisto-api 5ab9ff2 src/State/CustomerInvoiceProvider.php: base64_decode(strict) then ctype_digit."""
    try:
        decoded = base64.b64decode(str(cursor), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return int(decoded) if decoded.isdigit() else None


def connection(rows: list[dict[str, Any]], args: dict[str, Any], default: int = 10) -> dict[str, Any]:
    """One cursor page of ``rows`` (already in order) as CustomerInvoiceProvider and API Platform build it.

    bagisto-api 5ab9ff2 src/State/CustomerInvoiceProvider.php: per page = first ?? last ?? 10, offset from
    after (+1) / before (-per page), an offset past the end clamped to the last page, currentPage =
    floor(offset / per page) + 1. API Platform's cursor pagination then names edges and endCursor from
    (currentPage - 1) x per page, and hasNextPage = currentPage < lastPage.
    """
    first, last = args.get("first"), args.get("last")
    per_page = first if isinstance(first, int) else last if isinstance(last, int) else default
    # bagisto-api 5ab9ff2 config/api-platform.php: pagination_maximum_items_per_page 50.
    per_page = max(1, min(per_page, GRAPHQL_PAGE_MAX))
    offset = 0
    if args.get("after"):
        after = _decoded(args["after"])
        offset = after + 1 if after is not None else 0
    if args.get("before"):
        before = _decoded(args["before"])
        offset = max(0, (before or 0) - per_page)
    total = len(rows)
    if offset > total:
        offset = max(0, total - per_page)
    page = rows[offset : offset + per_page]
    current = offset // per_page + 1 if total else 1
    last_page = max(1, math.ceil(total / per_page))
    named = (current - 1) * per_page
    info: dict[str, Any] = {
        "startCursor": None,
        "endCursor": None,
        "hasNextPage": False,
        "hasPreviousPage": False,
    }
    if total:
        info = {
            "startCursor": _cursor(named),
            "endCursor": _cursor(max(0, named + per_page - 1)),
            "hasNextPage": current < last_page,
            "hasPreviousPage": named > 0,
        }
    return {
        "edges": [{"node": row, "cursor": _cursor(named + index)} for index, row in enumerate(page)],
        "pageInfo": info,
        "totalCount": total,
    }
