"""How Payabli's emulator reads and applies the filters of ``GET /api/Query/invoices/{entry}``.

The documented fields and operators (payabli 1.0.19 invoice/raw_client.py ``list_invoices``);
``PayabliState.filters`` says whether they are honoured, ignored, or unknown ones refused.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from mcp_invoices.providers.payabli.emulator.seed import PAYABLI_CUSTOMER_IDS, PayabliInvoice

__all__ = ["FilterMode", "matches", "parse_filters"]

FilterMode = Literal["honour", "ignore", "reject_unknown"]

_COMPARISONS = ("gt", "ge", "lt", "le", "eq", "ne")

# payabli 1.0.19 invoice/raw_client.py list_invoices docstring: "Accepted field names" and operators.
_FILTER_FIELDS: dict[str, tuple[str, tuple[str, ...], Callable[[PayabliInvoice], Any]]] = {
    "customerId": ("int", ("eq", "ne"), lambda i: PAYABLI_CUSTOMER_IDS[i.customer]),
    "status": ("int", ("in", "nin", "eq", "ne"), lambda i: i.status),
    "invoiceNumber": ("str", ("ct", "nct", "eq", "ne"), lambda i: i.number),
    "invoiceDate": ("date", _COMPARISONS, lambda i: i.invoice_date),
    "dueDate": ("date", _COMPARISONS, lambda i: i.due_date),
    "totalAmount": ("decimal", _COMPARISONS, lambda i: i.amount),
    "paidAmount": ("decimal", _COMPARISONS, lambda i: i.paid_amount),
}

_PAGING_KEYS = frozenset({"fromRecord", "limitRecord", "sortBy", "exportFormat"})


def _convert(kind: str, raw: str) -> Any:
    if kind == "int":
        return int(raw)
    if kind == "decimal":
        return Decimal(raw)
    if kind == "date":
        return date.fromisoformat(raw[:10]).isoformat()
    return raw


def _filter_key(key: str) -> str:
    """``parameters[status(eq)]`` (how payabli 1.0.19 encodes its ``parameters`` dict) → ``status(eq)``."""
    # payabli 1.0.19 core/query_encoder.py traverse_query_dict: a dict query value becomes key[subkey].
    if key.startswith("parameters[") and key.endswith("]"):
        return key[len("parameters[") : -1]
    return key


def parse_filters(params: Any, mode: FilterMode) -> list[tuple[Any, str, Any]] | str:
    """``[(getter, op, value)]`` from ``field(op)=value`` keys, or an error text."""
    filters = []
    for raw_key, raw in params.multi_items():
        key = _filter_key(raw_key)
        if key in _PAGING_KEYS:
            continue
        name, _, op = key[:-1].partition("(") if key.endswith(")") else (key, "", "")
        known = name in _FILTER_FIELDS and op in _FILTER_FIELDS[name][1]
        if not known:
            if mode == "reject_unknown":
                return f"Unknown filter {key!r}"
            continue  # the reference does not say; ignoring is the harsher case for a client
        if mode == "ignore":
            continue
        kind, _, getter = _FILTER_FIELDS[name]
        try:
            # The separator of in/nin values is not documented; a comma is assumed here.
            many = op in ("in", "nin")
            value = [_convert(kind, part) for part in raw.split(",")] if many else _convert(kind, raw)
        except (ValueError, InvalidOperation):
            return f"Invalid value for {key}"
        filters.append((getter, op, value))
    return filters


# Text comparisons are case-sensitive here (the reference does not say; the harsher case).
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
    "in": lambda actual, wanted: actual in wanted,
    "nin": lambda actual, wanted: actual not in wanted,
    "ct": lambda actual, wanted: wanted in actual,
    "nct": lambda actual, wanted: wanted not in actual,
}


def matches(invoice: PayabliInvoice, filters: list[tuple[Any, str, Any]]) -> bool:
    for getter, op, value in filters:
        actual = getter(invoice)
        if actual is None or not _COMPARE[op](actual, value):
            return False
    return True
