"""Schemas taken from the seed documents (copied verbatim into ``tests/sandbox/seeds/``).

The emulators are checked against the seeds' own OpenAPI text wherever it can be parsed; where it
cannot (Payabli's YAML arrived flattened onto one line) a hand transcription is used and the
transcription is itself checked against what can be extracted from the flattened text.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2
import jsonschema
import pytest
import yaml

SEEDS = Path(__file__).parent / "seeds"
POLAR_GET_INVOICE = "000_377e842cab561428.txt"
POLAR_GENERATE_INVOICE = "001_757ee1a45c644c68.txt"
AFTERNOON_GET_INVOICE = "002_c939eac29cf2ef29.txt"
BAGISTO_GET_INVOICE = "003_f70a6db6fdf0469e.txt"
PAYABLI_GET_INVOICE = "004_4e68ac3de9a066ab.txt"

_FENCED_YAML = re.compile(r"(`{3,4})yaml[^\n]*\n(.*?)\n\1", re.DOTALL)


def seed_text(name: str) -> str:
    return (SEEDS / name).read_text(encoding="utf-8")


def openapi_from_seed(name: str) -> dict[str, Any]:
    """The OpenAPI document in a seed's ```` ```yaml ```` (or ``` ```yaml ```) fence."""
    match = _FENCED_YAML.search(seed_text(name))
    assert match is not None, f"no fenced YAML in {name}"
    document = yaml.safe_load(match.group(2))
    assert isinstance(document, dict) and "components" in document
    return document


def resolve_refs(node: Any, document: dict[str, Any]) -> Any:
    """Inline every local ``$ref`` (the seeds' schemas are acyclic)."""
    if isinstance(node, dict):
        if "$ref" in node:
            pointer = node["$ref"]
            assert pointer.startswith("#/"), pointer
            target: Any = document
            for part in pointer[2:].split("/"):
                target = target[part]
            merged = {**resolve_refs(target, document), **{k: v for k, v in node.items() if k != "$ref"}}
            return merged
        return {key: resolve_refs(value, document) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve_refs(item, document) for item in node]
    return node


def component_schemas(name: str) -> dict[str, dict[str, Any]]:
    document = openapi_from_seed(name)
    return {key: resolve_refs(schema, document) for key, schema in document["components"]["schemas"].items()}


def assert_valid(schema: dict[str, Any], instance: Any) -> None:
    jsonschema.Draft202012Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def decimal_json(response: httpx2.Response) -> Any:
    """The body parsed as the project parses provider JSON: no binary floats."""
    return json.loads(response.content, parse_float=Decimal)


# ----------------------------------------------------------------------------------------------
# Bagisto (seed tests/sandbox/seeds/003_f70a6db6fdf0469e.txt is a Markdown page: a field table, a JSON example and error examples)
# ----------------------------------------------------------------------------------------------

_TABLE_TYPES = {
    "integer": "integer",
    "string": "string",
    "boolean": "boolean",
    "float": "number",
    "array": "array",
}


def bagisto_seed_example() -> dict[str, Any]:
    front = seed_text(BAGISTO_GET_INVOICE).split("---\n")[1]
    example = yaml.safe_load(front)["examples"][0]["response"]
    parsed: dict[str, Any] = json.loads(example, parse_float=Decimal)
    return parsed


def bagisto_invoice_schema() -> dict[str, Any]:
    """JSON schema derived from seed tests/sandbox/seeds/003_f70a6db6fdf0469e.txt's "Response Fields" table (all fields required).

    The table types ``nextReminderAt`` as string while the example shows ``null``; fields that are
    ``null`` in the example are allowed to be ``null``. ``items`` may hold IRIs or embedded objects.
    """
    text = seed_text(BAGISTO_GET_INVOICE)
    table = text[text.index("## Response Fields") : text.index("## Error Responses")]
    rows = re.findall(r"^\| `(\w+)` \| (\w+) \|", table, re.MULTILINE)
    assert len(rows) == 31, rows
    example = bagisto_seed_example()
    properties: dict[str, Any] = {}
    for field_name, table_type in rows:
        json_type: Any = _TABLE_TYPES[table_type]
        if example.get(field_name, "") is None:
            json_type = [json_type, "null"]
        properties[field_name] = {"type": json_type}
    properties["items"]["items"] = {
        "anyOf": [
            {"type": "string", "pattern": "^/api/shop/invoice-items/\\d+$"},
            BAGISTO_EMBEDDED_ITEM_SCHEMA,
        ]
    }
    return {"type": "object", "properties": properties, "required": [name for name, _ in rows]}


BAGISTO_EMBEDDED_ITEM_SCHEMA: dict[str, Any] = {
    # From the seeds README: "items may arrive as embedded objects ({id, sku, name, qty, price,
    # total, taxAmount, discountAmount})".
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "sku": {"type": "string"},
        "name": {"type": "string"},
        "qty": {"type": "integer"},
        "price": {"type": "number"},
        "total": {"type": "number"},
        "taxAmount": {"type": "number"},
        "discountAmount": {"type": "number"},
    },
    "required": ["id", "sku", "name", "qty", "price", "total", "taxAmount", "discountAmount"],
}


def bagisto_error_examples() -> list[dict[str, Any]]:
    blocks = re.findall(r"```json\n(.*?)\n```", seed_text(BAGISTO_GET_INVOICE), re.DOTALL)
    return [json.loads(block) for block in blocks]


# ----------------------------------------------------------------------------------------------
# Payabli (seed tests/sandbox/seeds/004_4e68ac3de9a066ab.txt: the YAML arrived flattened onto one line)
# ----------------------------------------------------------------------------------------------


def payabli_flat_yaml() -> str:
    match = re.search(r"```yaml (.*?) ```", seed_text(PAYABLI_GET_INVOICE), re.DOTALL)
    assert match is not None
    return match.group(1)


def payabli_openapi_if_parseable() -> dict[str, Any] | None:
    """Best effort: the flattened YAML parsed as is (it does not parse: newlines and indentation,
    which carry YAML's structure, were lost)."""
    try:
        document = yaml.safe_load(payabli_flat_yaml())
    except yaml.YAMLError:
        return None
    return document if isinstance(document, dict) and "components" in document else None


def payabli_required_list(schema_name: str) -> list[str]:
    """A schema's ``required`` list, read from the flattened text (``required: - a - b ...``)."""
    flat = payabli_flat_yaml()
    start = flat.index(f"{schema_name}: type: object properties:")
    segment = flat[start:]
    after = segment[segment.index(" required: ") + len(" required: ") :]
    tokens = after.split(" ")
    names = []
    while len(tokens) >= 2 and tokens[0] == "-":
        names.append(tokens[1])
        tokens = tokens[2:]
    return names


def payabli_property_refs(schema_name: str) -> dict[str, str]:
    """``property -> referenced type`` for properties declared as a bare ``$ref`` in the flat text."""
    flat = payabli_flat_yaml()
    start = flat.index(f"{schema_name}: type: object properties:")
    segment = flat[start : start + flat[start:].index(" required: ")]
    return dict(re.findall(r"(\w+): \$ref: '#/components/schemas/([^']+)'", segment))


def payabli_scalar_types() -> dict[str, tuple[str, str | None]]:
    """``type name -> (type, format)`` for the flat text's scalar component types."""
    found = re.findall(
        r"(type_[\w]*:\w+): type: (string|integer|number|boolean)(?: format: ([\w-]+))?", payabli_flat_yaml()
    )
    return {name: (json_type, fmt or None) for name, json_type, fmt in found}


def _nullable(json_type: str) -> dict[str, Any]:
    return {"type": [json_type, "null"]}


_PAYOR_NULLABLE_STRINGS = [
    "BillingAddress1",
    "BillingAddress2",
    "BillingCity",
    "BillingCountry",
    "BillingEmail",
    "BillingPhone",
    "BillingState",
    "BillingZip",
    "CompanyName",
    "CustomerNumber",
    "FirstName",
    "LastName",
    "ShippingAddress1",
    "ShippingAddress2",
    "ShippingCity",
    "ShippingCountry",
    "ShippingState",
    "ShippingZip",
]

# Hand transcription of seed tests/sandbox/seeds/004_4e68ac3de9a066ab.txt's `type_invoice:GetInvoiceRecord` (and the types it refers to),
# because the flattened YAML cannot be parsed. Checked against the flat text by
# test_payabli_transcription_matches_flattened_seed. One interpretation: the `Datenullable` and
# `DatetimeNullable` types say `type: string`, but their names and the 200 description ("Fields
# marked optional may return `null` if not set") say they may be null, so null is allowed there.
PAYABLI_GET_INVOICE_RECORD_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "invoiceId": {"type": "integer"},
        "customerId": {"type": "integer"},
        "paypointId": {"type": "integer"},
        "invoiceNumber": {"type": "string"},
        "invoiceDate": _nullable("string"),
        "invoiceDueDate": _nullable("string"),
        "invoiceSentDate": _nullable("string"),
        "invoiceEndDate": _nullable("string"),
        "lastPaymentDate": _nullable("string"),
        "createdAt": {"type": "string"},
        "invoiceStatus": {"type": "integer"},
        "invoiceType": {"type": "integer"},
        # The seed's enum is garbled (`enum: - value: onetime ...`); these are its values.
        "frequency": {
            "type": "string",
            "enum": [
                "onetime",
                "weekly",
                "every2weeks",
                "every6months",
                "monthly",
                "every3months",
                "annually",
            ],
        },
        "paymentTerms": {"type": "string"},
        "termsConditions": _nullable("string"),
        "notes": _nullable("string"),
        "tax": {"type": "number"},
        "discount": {"type": "number"},
        "invoiceAmount": {"type": "number"},
        "invoicePaidAmount": {"type": "number"},
        "freightAmount": {"type": "number"},
        "dutyAmount": {"type": "number"},
        "purchaseOrder": {"type": "string"},
        "firstName": {"type": "string"},
        "lastName": {"type": "string"},
        "company": {"type": "string"},
        "shippingAddress1": {"type": "string"},
        "shippingAddress2": {"type": "string"},
        "shippingCity": {"type": "string"},
        "shippingState": {"type": "string"},
        "shippingZip": {"type": "string"},
        "shippingFromZip": {"type": "string"},
        "shippingCountry": {"type": "string"},
        "shippingEmail": {"type": "string", "format": "email"},
        "shippingPhone": {"type": "string"},
        "summaryCommodityCode": {"type": "string"},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "itemCategories": {"type": "array", "items": {"type": "string"}},
                    "itemCommodityCode": {"type": "string"},
                    "itemCost": {"type": "number"},
                    "itemDescription": {"type": "string"},
                    "itemMode": {"type": "integer"},
                    "itemProductCode": {"type": "string"},
                    "itemProductName": {"type": "string"},
                    "itemQty": {"type": "integer"},
                    "itemTaxAmount": {"type": "number"},
                    "itemTaxRate": {"type": "number"},
                    "itemTotalAmount": {"type": "number"},
                    "itemUnitOfMeasure": {"type": "string"},
                },
                "required": ["itemCost"],
            },
        },
        "Customer": {
            "type": "object",
            "properties": {
                "AdditionalData": {
                    "oneOf": [
                        {"type": "object", "additionalProperties": {"type": "string"}},
                        {"type": "null"},
                    ]
                },
                **{name: _nullable("string") for name in _PAYOR_NULLABLE_STRINGS},
                "customerId": _nullable("integer"),
                "customerStatus": _nullable("integer"),
                "Identifiers": {"oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]},
            },
            "required": [
                "AdditionalData",
                "BillingAddress1",
                "BillingAddress2",
                "BillingCity",
                "BillingCountry",
                "BillingEmail",
                "BillingPhone",
                "BillingState",
                "BillingZip",
                "CompanyName",
                "customerId",
                "CustomerNumber",
                "customerStatus",
                "FirstName",
                "Identifiers",
                "LastName",
                "ShippingAddress1",
                "ShippingAddress2",
                "ShippingCity",
                "ShippingCountry",
                "ShippingState",
                "ShippingZip",
            ],
        },
        "paylinkId": {"type": "string"},
        "billEvents": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "description": {"type": "string"},
                    "eventTime": {"type": "string"},
                    "extraData": {"type": "object"},
                    "refData": {"type": "string"},
                    "source": {"type": "string"},
                },
            },
        },
        "scheduledOptions": {
            "type": "object",
            "properties": {"includePaylink": {"type": "boolean"}, "includePdf": {"type": "boolean"}},
        },
        "PaypointLegalname": {"type": "string"},
        "PaypointDbaname": {"type": "string"},
        "PaypointEntryname": {"type": "string"},
        "ParentOrgName": {"type": "string"},
        "AdditionalData": {"type": "object", "additionalProperties": {"type": "string"}},
        "DocumentsRef": {
            "type": "object",
            "properties": {
                "filelist": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "originalName": {"type": "string"},
                            "zipName": {"type": "string"},
                            "descriptor": {"type": "string"},
                        },
                    },
                },
                "zipfile": {"type": "string"},
            },
        },
        "externalPaypointID": {"type": "string"},
    },
    "required": [
        "invoiceId",
        "customerId",
        "paypointId",
        "invoiceNumber",
        "invoiceDate",
        "invoiceDueDate",
        "invoiceSentDate",
        "invoiceEndDate",
        "lastPaymentDate",
        "createdAt",
        "invoiceStatus",
        "invoiceType",
        "frequency",
        "paymentTerms",
        "termsConditions",
        "notes",
        "tax",
        "discount",
        "invoiceAmount",
        "invoicePaidAmount",
        "freightAmount",
        "dutyAmount",
        "purchaseOrder",
        "shippingAddress1",
        "shippingAddress2",
        "shippingCity",
        "shippingState",
        "shippingZip",
        "shippingFromZip",
        "shippingCountry",
        "shippingEmail",
        "shippingPhone",
        "summaryCommodityCode",
        "items",
        "Customer",
        "paylinkId",
        "billEvents",
        "scheduledOptions",
        "PaypointLegalname",
        "PaypointDbaname",
        "PaypointEntryname",
        "ParentOrgName",
        "DocumentsRef",
    ],
}


class SeedDocuments:
    """What the contract tests need from the seeds, handed to tests through the ``seeds`` fixture."""

    assert_valid = staticmethod(assert_valid)
    decimal_json = staticmethod(decimal_json)
    openapi_from_seed = staticmethod(openapi_from_seed)
    bagisto_seed_example = staticmethod(bagisto_seed_example)
    bagisto_error_examples = staticmethod(bagisto_error_examples)
    payabli_openapi_if_parseable = staticmethod(payabli_openapi_if_parseable)
    payabli_required_list = staticmethod(payabli_required_list)
    payabli_property_refs = staticmethod(payabli_property_refs)
    payabli_scalar_types = staticmethod(payabli_scalar_types)
    payabli_invoice_record = PAYABLI_GET_INVOICE_RECORD_SCHEMA

    def __init__(self) -> None:
        self.polar = {**component_schemas(POLAR_GET_INVOICE), **component_schemas(POLAR_GENERATE_INVOICE)}
        self.afternoon = component_schemas(AFTERNOON_GET_INVOICE)
        self.bagisto_invoice = bagisto_invoice_schema()
        self.bagisto_item = BAGISTO_EMBEDDED_ITEM_SCHEMA


@pytest.fixture(scope="session")
def seeds() -> SeedDocuments:
    return SeedDocuments()
