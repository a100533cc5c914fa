"""Local emulators of the four invoice providers, so every provider can be tried without an account.

``create_sandbox_app()`` mounts them under one ASGI app:

======================  ===================================================================
``/polar``              Polar customer portal (:mod:`mcp_invoices.providers.polar.emulator`)
``/afternoon``          Afternoon invoices API (:mod:`mcp_invoices.providers.afternoon.emulator`)
``/bagisto``            Bagisto shop API (:mod:`mcp_invoices.providers.bagisto.emulator`)
``/payabli/api``        Payabli API (:mod:`mcp_invoices.providers.payabli.emulator`)
======================  ===================================================================

The seeded data and credentials are module constants in each provider module (all sandbox-only
and obviously fake); ``sandbox_environment(base_url, customer)`` gives the environment variables
that point the MCP server at the sandbox as ``alice``, ``bob`` or ``carol`` (who has nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from mcp_invoices.providers.afternoon import emulator as afternoon
from mcp_invoices.providers.afternoon.emulator import (
    AFTERNOON_API_KEY,
    AFTERNOON_CUSTOMER_IDS,
    AfternoonState,
)
from mcp_invoices.providers.bagisto import emulator as bagisto
from mcp_invoices.providers.bagisto.emulator import (
    BAGISTO_CUSTOMER_TOKENS,
    BAGISTO_STOREFRONT_KEY,
    BagistoState,
)
from mcp_invoices.providers.emulation import Controls, running_app, serve_app, serving_in_thread
from mcp_invoices.providers.payabli import emulator as payabli
from mcp_invoices.providers.payabli.emulator import (
    PAYABLI_API_TOKEN,
    PAYABLI_CUSTOMER_IDS,
    PAYABLI_ENTRY,
    PayabliState,
)
from mcp_invoices.providers.polar import emulator as polar
from mcp_invoices.providers.polar.emulator import (
    POLAR_CUSTOMER_SESSIONS,
    POLAR_ORGANIZATION_TOKEN,
    PolarState,
)

__all__ = [
    "SANDBOX_CUSTOMERS",
    "AfternoonState",
    "BagistoState",
    "Controls",
    "PayabliState",
    "PolarState",
    "SandboxStates",
    "create_sandbox_app",
    "running_app",
    "sandbox_environment",
    "serve_sandbox",
    "serving_in_thread",
]

SANDBOX_CUSTOMERS = ("alice", "bob", "carol")
"""The sandbox customers: alice and bob have invoices with every provider; carol has none."""


@dataclass
class SandboxStates:
    """The four emulators' states (seeded data, switches, controls)."""

    polar: PolarState = field(default_factory=PolarState)
    afternoon: AfternoonState = field(default_factory=AfternoonState)
    bagisto: BagistoState = field(default_factory=BagistoState)
    payabli: PayabliState = field(default_factory=PayabliState)

    def all_controls(self) -> list[Controls]:
        return [self.polar.controls, self.afternoon.controls, self.bagisto.controls, self.payabli.controls]


def create_sandbox_app(states: SandboxStates | None = None) -> Starlette:
    """All four emulators under one app (``/polar``, ``/afternoon``, ``/bagisto``, ``/payabli``)."""
    states = states if states is not None else SandboxStates()

    async def index(request: Request) -> JSONResponse:
        base = str(request.base_url).rstrip("/")
        return JSONResponse(
            {
                "sandbox": "mcp-invoices provider emulators (fake data, fake credentials)",
                "providers": {
                    "polar": f"{base}/polar",
                    "afternoon": f"{base}/afternoon",
                    "bagisto": f"{base}/bagisto",
                    "payabli": f"{base}/payabli/api",
                },
                "customers": list(SANDBOX_CUSTOMERS),
            }
        )

    app = Starlette(
        routes=[
            Route("/", index, methods=["GET"]),
            Mount("/polar", app=polar.create_app(states.polar)),
            Mount("/afternoon", app=afternoon.create_app(states.afternoon)),
            Mount("/bagisto", app=bagisto.create_app(states.bagisto)),
            Mount("/payabli", app=payabli.create_app(states.payabli)),
        ]
    )
    app.state.sandbox = states
    return app


def sandbox_environment(base_url: str, customer: str = "alice") -> dict[str, str]:
    """Environment variables that point the MCP server at a running sandbox, as ``customer``.

    ``POLAR_ACCESS_TOKEN`` (the organisation token) is included for HTTP mode, which mints
    customer sessions itself.
    """
    if customer not in SANDBOX_CUSTOMERS:
        raise ValueError(
            f"unknown sandbox customer {customer!r}; choose one of {', '.join(SANDBOX_CUSTOMERS)}"
        )
    base = base_url.rstrip("/")
    return {
        "POLAR_BASE_URL": f"{base}/polar",
        "POLAR_CUSTOMER_SESSION": POLAR_CUSTOMER_SESSIONS[customer],
        "POLAR_ACCESS_TOKEN": POLAR_ORGANIZATION_TOKEN,
        "AFTERNOON_BASE_URL": f"{base}/afternoon",
        "AFTERNOON_API_KEY": AFTERNOON_API_KEY,
        "AFTERNOON_CUSTOMER_ID": AFTERNOON_CUSTOMER_IDS[customer],
        "BAGISTO_BASE_URL": f"{base}/bagisto",
        "BAGISTO_STOREFRONT_KEY": BAGISTO_STOREFRONT_KEY,
        "BAGISTO_CUSTOMER_TOKEN": BAGISTO_CUSTOMER_TOKENS[customer],
        "PAYABLI_BASE_URL": f"{base}/payabli/api",
        "PAYABLI_API_TOKEN": PAYABLI_API_TOKEN,
        "PAYABLI_CUSTOMER_ID": str(PAYABLI_CUSTOMER_IDS[customer]),
        "PAYABLI_ENTRY": PAYABLI_ENTRY,
        # The emulators enforce no rate limit unless asked to (Controls), so the server need not pace
        # itself to the real providers' published limits here.
        **{f"{name}_RATE_LIMIT_PER_MINUTE": "60000" for name in ("POLAR", "AFTERNOON", "BAGISTO", "PAYABLI")},
    }


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
