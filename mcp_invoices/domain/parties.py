"""Who an invoice is from: the seller (the merchant), as every document names it."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Seller"]


@dataclass(frozen=True, slots=True)
class Seller:
    """Who issues the invoice, printed in a document's header ("From" in the view)."""

    name: str
    address_lines: tuple[str, ...] = ()
    email: str | None = None
    tax_id: str | None = None

    def lines(self) -> list[str]:
        """The lines printed under the name: address, email, tax id; empty parts left out."""
        details = [*self.address_lines, self.email or ""]
        if self.tax_id:
            details.append(f"Tax ID: {self.tax_id}")
        return [line for line in details if line]
