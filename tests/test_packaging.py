"""The packaging files hosts and registries read: valid against their pinned schemas, in step with the version.

- ``server.json``: the MCP Registry entry (``mcp-publisher publish`` reads it).
- ``manifest.json``: the MCPB manifest, for one-click install in Claude Desktop (``mcpb pack``).
Both schemas are pinned in ``tests/schemas/`` (see its README for where each comes from).
"""

from __future__ import annotations

import json
import os
import tomllib
from typing import Any

import jsonschema

import mcp_invoices
from mcp_invoices.providers.catalog import REMOTE_SPECS
from tests.conftest import REPO
from tests.test_catalog import IN_CI

SCHEMAS = REPO / "tests" / "schemas"


def load(path: str) -> Any:
    return json.loads((REPO / path).read_text(encoding="utf-8"))


def problems(document: Any, schema_file: str) -> list[str]:
    schema = json.loads((SCHEMAS / schema_file).read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def project_version() -> str:
    with open(REPO / "pyproject.toml", "rb") as pyproject:
        return str(tomllib.load(pyproject)["project"]["version"])


def test_server_json_is_valid_against_the_registry_schema() -> None:
    assert problems(load("server.json"), "mcp-registry-server.schema.json") == []


def test_manifest_json_is_valid_against_the_mcpb_manifest_schema() -> None:
    assert problems(load("manifest.json"), "mcpb-manifest-v0.4.schema.json") == []


def test_server_json_and_manifest_json_carry_the_version_of_pyproject() -> None:
    server, manifest = load("server.json"), load("manifest.json")
    versions = {server["version"], manifest["version"], mcp_invoices.__version__}
    versions |= {package["version"] for package in server["packages"]}
    assert versions == {project_version()}


def test_the_registry_entry_and_the_bundle_start_the_stdio_server() -> None:
    (package,) = load("server.json")["packages"]
    manifest = load("manifest.json")
    assert package["identifier"] == "mcp-invoices" and package["transport"] == {"type": "stdio"}
    assert [argument["value"] for argument in package["packageArguments"]] == ["serve"]
    assert manifest["server"]["mcp_config"]["args"][-2:] == ["mcp-invoices", "serve"]


def provider_variables() -> list[dict[str, Any]]:
    """What a stdio host sets to enable each remote provider, from its spec, in catalog order: its
    base URL where it has no default (self-hosted), each credential used over stdio, its customer."""
    found: list[dict[str, Any]] = []
    for entry in REMOTE_SPECS:
        name = entry.display_name
        if entry.base_url is None and entry.environments is None:
            found.append(
                {
                    "name": entry.base_url_variable,
                    "description": f"{name}: its base URL (self-hosted: there is no default)",
                    "isRequired": False,
                }
            )
        scoped = f" ({entry.customer_variable} is then required)" if entry.customer_variable else ""
        found += [
            {
                "name": c.variable,
                "description": f"{name}: {c.meaning}{scoped}",
                "isRequired": False,
                "isSecret": True,
            }
            for c in entry.credentials
            if "stdio" in c.transports
        ]
        if entry.customer_variable:
            found.append(
                {
                    "name": entry.customer_variable,
                    "description": f"{name}: the one customer this session serves",
                    "isRequired": False,
                }
            )
    return found


def test_the_registry_entry_lists_what_enables_each_provider_over_stdio() -> None:
    """Derived from the catalog, so no provider goes missing from the registry's settings (Bagisto once
    did). After a change to the catalog: UPDATE_SNAPSHOTS=1 pytest tests/test_packaging.py, and review."""
    server = load("server.json")
    (package,) = server["packages"]
    own = [
        variable
        for variable in package["environmentVariables"]
        if variable["name"].startswith("MCP_INVOICES_")
    ]
    expected = own + provider_variables()
    if (
        package["environmentVariables"] != expected
        and os.environ.get("UPDATE_SNAPSHOTS") == "1"
        and not IN_CI
    ):
        package["environmentVariables"] = expected
        (REPO / "server.json").write_text(
            json.dumps(server, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        return
    assert package["environmentVariables"] == expected
