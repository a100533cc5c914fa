"""One place per tool: ``server/tools/<name>.py`` declares the tool's function, arguments, description,
annotations and view in its ``TOOL``; registration reads only those records."""

from __future__ import annotations

import importlib
import pkgutil

import mcp_invoices.server.tools as tools_package
from mcp_invoices.server.tools import TOOLS, Tool

SHARED_MODULES = {"tool"}
"""Modules of the package that are machinery every tool shares, not tools."""


def test_every_tool_module_declares_its_tool_and_every_declared_tool_is_registered() -> None:
    modules = {info.name for info in pkgutil.iter_modules(tools_package.__path__)} - SHARED_MODULES
    assert modules == {tool.name for tool in TOOLS}
    for name in modules:
        module = importlib.import_module(f"mcp_invoices.server.tools.{name}")
        declared = module.TOOL
        assert isinstance(declared, Tool) and declared.name == name
        assert declared.handler.__module__ == module.__name__, name  # its function lives beside it
        assert declared in TOOLS


def test_each_tool_is_described_once_and_the_record_carries_what_tools_list_publishes() -> None:
    descriptions = [tool.description for tool in TOOLS]
    assert len(set(descriptions)) == len(descriptions)
    assert len({tool.name for tool in TOOLS}) == len(TOOLS)
    generate = next(tool for tool in TOOLS if tool.name == "generate_invoice")
    assert generate.annotations(open_world=False).idempotent_hint is True
    assert all(tool.annotations(open_world=True).read_only_hint for tool in TOOLS if tool.effect == "read")
