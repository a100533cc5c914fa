"""What an invoice's script costs its PDF: the 200-line invoice of row 5, printed three ways.

    python tests/bench/pdf_scripts.py [--renders N]

- cp1252 text: the core Helvetica, nothing embedded (row 5 itself);
- Latin with "Ł": DejaVu Sans embedded, no shaping;
- Hebrew and Arabic names and descriptions: DejaVu Sans with fpdf2's text shaping (bidi, HarfBuzz).

The three are rendered round-robin (order rotated each round) so a noisy neighbour slows all alike;
the table gives each one's median and its ratio to the cp1252 render. It asserts nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import two_hundred_line_invoice  # type: ignore[import-not-found]

from mcp_invoices.documents.pdf import Seller, render_invoice_pdf_sync
from mcp_invoices.domain.models import Billing, Invoice


def variants() -> dict[str, tuple[Invoice, Seller]]:
    latin: Invoice = two_hundred_line_invoice()
    seller = Seller(name="Acme Widgets Ltd", address_lines=("1 Market Street", "London EC1A 1AA"))
    polish = latin.model_copy(
        update={"billing": Billing(name="Łukasz Nowak sp. z o.o.", address=latin.billing.address)}
    )
    hebrew_items = [
        item.model_copy(
            update={"description": f"{n:03d} ייעוץ ותמיכה, העברת מערכת החיוב — خدمات الدعم الفني"}
        )
        for n, item in enumerate(latin.line_items)
    ]
    hebrew = latin.model_copy(
        update={"billing": Billing(name="אלפא מערכות בע״מ"), "line_items": hebrew_items}
    )
    return {
        "cp1252 text (core Helvetica)": (latin, seller),
        "Latin with Ł (DejaVu, not shaped)": (polish, seller),
        "Hebrew and Arabic (DejaVu, shaped)": (hebrew, Seller(name="אקמה תוכנה בע״מ")),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--renders", type=int, default=10, help="renders of each variant (default 10)")
    renders = parser.parse_args().renders
    cases = variants()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for invoice, seller in cases.values():
        render_invoice_pdf_sync(invoice, seller)  # font loading and caches, once per process
    names = list(cases)
    for round_number in range(renders):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            invoice, seller = cases[name]
            started = time.perf_counter()
            render_invoice_pdf_sync(invoice, seller)
            times[name].append(time.perf_counter() - started)
    baseline = median(times[names[0]])
    print(f"| invoice of 200 lines | median of {renders} | ratio to cp1252 |")
    print("|---|---|---|")
    for name in names:
        measured = median(times[name])
        print(f"| {name} | {measured * 1000:.0f} ms | {measured / baseline:.2f} |")


if __name__ == "__main__":
    main()
