"""The provider catalog is the one description of each provider: configuration and docs follow it."""

from __future__ import annotations

import os
import re

import pytest

from mcp_invoices.config import load_config
from mcp_invoices.providers.catalog import CATALOG, PROVIDER_IDS, REMOTE_SPECS, ProviderSpec, markdown_table
from tests.conftest import REPO

README = REPO / "README.md"
_TABLE = re.compile(r"(<!-- providers:begin[^>]*-->\n)(.*?)(<!-- providers:end -->)", re.DOTALL)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _minimal_environment(spec: ProviderSpec) -> dict[str, str]:
    env = {
        credential.variable: "secret-value"
        for credential in spec.credentials
        if "stdio" in credential.transports
    }
    if spec.customer_variable:
        env[spec.customer_variable] = "1001"
    if spec.base_url is None and spec.environments is None:
        env[spec.base_url_variable] = "http://127.0.0.1:9/shop"
    return env


def test_the_local_ledger_is_the_first_provider_id() -> None:
    assert PROVIDER_IDS[0] == "local"
    assert PROVIDER_IDS == tuple(spec.id for spec in CATALOG)


@pytest.mark.parametrize("spec", REMOTE_SPECS, ids=lambda spec: spec.id)
def test_a_provider_is_enabled_by_its_catalogued_variables_with_its_default_budget(
    spec: ProviderSpec,
) -> None:
    config = load_config(_minimal_environment(spec))
    assert [remote.provider for remote in config.remote] == [spec.id]
    assert config.remote[0].options["rate_limit_per_minute"] == str(spec.requests_per_minute)


@pytest.mark.parametrize("spec", REMOTE_SPECS, ids=lambda spec: spec.id)
def test_a_provider_implementation_reports_the_capabilities_of_its_spec(spec: ProviderSpec) -> None:
    assert spec.implementation().info is spec.info


def test_the_readme_provider_table_is_the_catalogs() -> None:
    """After a change to the catalog: UPDATE_SNAPSHOTS=1 pytest tests/test_catalog.py, and review the diff."""
    text = README.read_text()
    match = _TABLE.search(text)
    assert match is not None, "README.md lost its providers:begin/providers:end markers"
    expected = markdown_table() + "\n"
    if match.group(2) != expected and os.environ.get("UPDATE_SNAPSHOTS") == "1" and not IN_CI:
        README.write_text(text[: match.start(2)] + expected + text[match.end(2) :])
        return
    assert match.group(2) == expected
