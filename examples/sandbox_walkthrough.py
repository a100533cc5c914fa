"""A walk through the remote providers without an account: the emulators, and the server on one of them.

It does what the README's "Try every provider without an account" says, in one go:
1. `mcp-invoices sandbox --port 0` starts emulators of Polar, Afternoon, Bagisto and Payabli on
   127.0.0.1 and prints the environment that points the server at them;
2. `mcp-invoices serve` starts over stdio with that environment, as customer "alice" of each provider;
3. for the chosen provider: list the invoices, open one, summarise it and read its PDF.

    python examples/sandbox_walkthrough.py                     # Payabli
    python examples/sandbox_walkthrough.py --provider polar
"""

from __future__ import annotations

import argparse
import base64
import os
import select
import subprocess
import sys
import time

import anyio
from mcp import Client, StdioServerParameters


def start_sandbox() -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """The emulators on a free port, and the `export NAME=value` lines they print, read with a deadline."""
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "mcp_invoices", "sandbox", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    assert sandbox.stdout is not None
    env: dict[str, str] = {}
    printed = b""
    deadline = time.monotonic() + 60
    while b"Ctrl-C" not in printed:  # its last line says how to stop it
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([sandbox.stdout], [], [], remaining)[0]:
            sandbox.kill()
            raise RuntimeError(f"the sandbox did not start within 60 s: {printed.decode()}")
        chunk = os.read(sandbox.stdout.fileno(), 65536)
        if not chunk:
            raise RuntimeError(f"the sandbox exited: {printed.decode()}")
        printed += chunk
    for line in printed.decode().splitlines():
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            env[name] = value
    return sandbox, env


async def walk(provider: str, sandbox_env: dict[str, str]) -> None:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "mcp_invoices", "serve"],
        env={"PATH": os.environ.get("PATH", ""), "MCP_INVOICES_LOG_LEVEL": "WARNING"} | sandbox_env,
    )
    async with Client(params) as client:
        listed = (
            await client.call_tool("list_invoices", {"provider": provider, "limit": 5})
        ).structured_content
        print(f"{provider}: {len(listed['invoices'])} invoice(s) on the first page")
        for row in listed["invoices"]:
            print(f"  {row['number'] or row['id']}: {row['status']}, {row['total']} {row['currency']}")
        first = listed["invoices"][0]
        summary = await client.call_tool(
            "summarize_invoice", {"provider": provider, "invoice_id": first["id"]}
        )
        print(f"\n{summary.structured_content['summary']}")
        pdf = await client.read_resource(f"{first['uri']}/pdf")
        document = base64.b64decode(pdf.contents[0].blob)
        print(f"PDF {first['uri']}/pdf: {len(document)} bytes, starts {document[:5].decode()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provider", default="payabli", choices=("polar", "afternoon", "bagisto", "payabli"))
    args = parser.parse_args()
    sandbox, env = start_sandbox()
    try:
        print(f"sandbox at {env[f'{args.provider.upper()}_BASE_URL']}")
        anyio.run(walk, args.provider, env)
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)


if __name__ == "__main__":
    main()
