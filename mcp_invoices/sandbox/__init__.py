"""Local emulators of the remote invoice providers, so every provider can be tried without an account.

``create_sandbox_app()`` mounts every emulator the catalog names (``ProviderSpec.emulator``) under
one ASGI app, each where its ``EMULATOR`` (:class:`mcp_invoices.providers.emulation.emulator.Emulator`) says
(``/polar``, ``/afternoon``, ...; Payabli's API is at ``/payabli/api``). Nothing here names a
provider: the variables come from each spec, their values from each emulator's declaration.

The seeded data and credentials are constants of each provider's ``emulator/seed.py`` (all sandbox-only
and obviously fake); ``sandbox_environment(base_url, customer)`` gives the environment variables
that point the MCP server at the sandbox as ``alice``, ``bob`` or ``carol`` (who has nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from mcp_invoices.providers.catalog import CATALOG, ProviderSpec
from mcp_invoices.providers.emulation import Controls, running_app, serve_app, serving_in_thread
from mcp_invoices.providers.emulation.emulator import Emulator, EmulatorState

__all__ = [
    "EMULATED",
    "SANDBOX_CUSTOMERS",
    "Controls",
    "SandboxStates",
    "create_sandbox_app",
    "running_app",
    "sandbox_environment",
    "serve_sandbox",
    "serving_in_thread",
]

SANDBOX_CUSTOMERS = ("alice", "bob", "carol")
"""The sandbox customers: alice and bob have invoices with every provider; carol has none."""


def _emulated() -> tuple[tuple[ProviderSpec, Emulator[Any]], ...]:
    found = []
    for entry in CATALOG:
        if not entry.emulator:
            continue
        declared = entry.emulation()
        if not isinstance(declared, Emulator):
            raise TypeError(f"{entry.emulator} (the emulator of {entry.id!r}) is not an Emulator")
        found.append((entry, declared))
    return tuple(found)


EMULATED: tuple[tuple[ProviderSpec, Emulator[Any]], ...] = _emulated()
"""Every provider of the catalog that names an emulator, with its declaration, in catalog order."""


class SandboxStates(Mapping[str, Any]):
    """The emulators' states (seeded data, switches, controls) by provider id.

    ``SandboxStates(<id>=state)`` replaces one emulator's fresh state; ``states[<id>]`` and
    ``states.<id>`` read one.
    """

    def __init__(self, **given: EmulatorState) -> None:
        unknown = set(given) - {entry.id for entry, _ in EMULATED}
        if unknown:
            raise TypeError(f"no emulator for {', '.join(sorted(unknown))}")
        self._states: dict[str, Any] = {
            entry.id: given[entry.id] if entry.id in given else emulator.state()
            for entry, emulator in EMULATED
        }

    def __getitem__(self, provider_id: str) -> Any:
        return self._states[provider_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._states)

    def __len__(self) -> int:
        return len(self._states)

    def __getattr__(self, provider_id: str) -> Any:
        try:
            return self.__dict__["_states"][provider_id]
        except KeyError:
            raise AttributeError(provider_id) from None

    def all_controls(self) -> list[Controls]:
        return [state.controls for state in self._states.values()]


def create_sandbox_app(states: SandboxStates | None = None) -> Starlette:
    """Every emulator under one app, each at its mount (``/polar``, ``/afternoon``, ...)."""
    states = states if states is not None else SandboxStates()

    async def index(request: Request) -> JSONResponse:
        base = str(request.base_url)
        return JSONResponse(
            {
                "sandbox": "mcp-invoices provider emulators (fake data, fake credentials)",
                "providers": {entry.id: emulator.url(base) for entry, emulator in EMULATED},
                "customers": list(SANDBOX_CUSTOMERS),
            }
        )

    mounts = [
        Mount(emulator.mount, app=emulator.create_app(states[entry.id])) for entry, emulator in EMULATED
    ]
    app = Starlette(routes=[Route("/", index, methods=["GET"]), *mounts])
    app.state.sandbox = states
    return app


def _provider_environment(
    entry: ProviderSpec, emulator: Emulator[Any], base_url: str, customer: str
) -> dict[str, str]:
    """One provider's variables (names from its spec, values from its emulator), in the README's order."""
    credentials = emulator.credentials(customer)
    env = {entry.base_url_variable: emulator.url(base_url)}
    env |= {credential.variable: credentials[credential.key] for credential in entry.credentials}
    if entry.customer_variable:
        env[entry.customer_variable] = emulator.customer_ids[customer]
    env |= {variable: emulator.options[key] for key, variable in entry.options.items()}
    return env


def sandbox_environment(base_url: str, customer: str = "alice") -> dict[str, str]:
    """Environment variables that point the MCP server at a running sandbox, as ``customer``.

    Every credential of each provider is included, those used only over HTTP too (Polar's
    organisation token, with which HTTP mode mints customer sessions itself).
    """
    if customer not in SANDBOX_CUSTOMERS:
        raise ValueError(
            f"unknown sandbox customer {customer!r}; choose one of {', '.join(SANDBOX_CUSTOMERS)}"
        )
    env: dict[str, str] = {}
    for entry, emulator in EMULATED:
        env |= _provider_environment(entry, emulator, base_url, customer)
    # The emulators enforce no rate limit unless asked to (Controls), so the server need not pace
    # itself to the real providers' published limits here.
    return env | {entry.rate_limit_variable: "60000" for entry, _ in EMULATED}


async def serve_sandbox(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    latency_ms: float = 0,
    ready: Callable[[str], None] | None = None,
    states: SandboxStates | None = None,
) -> None:
    """Serve all emulators under uvicorn until cancelled; ``ready(base_url)`` once listening.

    ``port=0`` picks a free port; the base URL passed to ``ready`` carries the real one.
    """
    states = states if states is not None else SandboxStates()
    for controls in states.all_controls():
        controls.latency_ms = latency_ms
    await serve_app(create_sandbox_app(states), host, port, ready=ready)
