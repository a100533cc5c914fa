"""What an emulator tells the sandbox about itself: the type of each ``providers/<id>/emulator/``'s ``EMULATOR``.

The sandbox (``mcp_invoices.sandbox``) mounts every emulator the catalog names
(``ProviderSpec.emulator``) and gives the environment that points the server at it. It reads the
variable names from the provider's spec and the values from this declaration, so a provider's
emulator is registered by declaring its ``EMULATOR`` and naming it in its spec: nothing in the
sandbox names a provider.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from starlette.types import ASGIApp

from mcp_invoices.providers.emulation.controls import Controls

__all__ = ["Emulator", "EmulatorState", "Seeded"]


class EmulatorState(Protocol):
    """An emulator's state: its seeded data and switches, and the :class:`Controls` every one holds."""

    @property
    def controls(self) -> Controls: ...


State = TypeVar("State", bound=EmulatorState)


@dataclass(frozen=True, slots=True)
class Seeded:
    """Objects of the seed that tests ask for by role (the isolation suite: hers, his, nobody's)."""

    invoices: Mapping[str, str]
    """Sandbox customer → the id of one of their invoices (alice and bob each have one)."""
    missing_invoice: str
    """An id shaped like the provider's own that no customer has."""
    orders: Mapping[str, str] = field(default_factory=dict)
    """Where invoices are generated from orders: sandbox customer → one of their paid orders
    (alice's already has its invoice, so generating it again returns that one)."""


@dataclass(frozen=True, slots=True)
class Emulator(Generic[State]):
    """One provider's emulator, as the sandbox mounts it and points the server at it."""

    mount: str
    """Where the sandbox mounts it (``/polar``)."""
    state: Callable[[], State]
    """A fresh state (seeded data, switches, controls)."""
    create_app: Callable[[State], ASGIApp]
    credentials: Callable[[str], Mapping[str, str]]
    """Sandbox customer → the values of the spec's credentials, by ``Credential.key``."""
    customer_ids: Mapping[str, str]
    """Sandbox customer → the provider's id for them (the value of the spec's ``customer_variable``)."""
    seeded: Seeded
    options: Mapping[str, str] = field(default_factory=dict)
    """The values of the spec's ``options``, by key."""
    api_path: str = ""
    """The API's path under the mount, part of the base URL (Payabli's ``/api``)."""
    sign_in: Mapping[str, tuple[str, str | None]] = field(default_factory=dict)
    """Sandbox customer → (e-mail, password) with which they sign in through the server's pages; the
    password is None where the server e-mails a code instead. Empty where the provider has no sign-in."""

    def url(self, base_url: str) -> str:
        """The provider's base URL in a sandbox served at ``base_url``."""
        return f"{base_url.rstrip('/')}{self.mount}{self.api_path}"
