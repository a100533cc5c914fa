"""Issue 21's proof table: every attack of ``tests/hostile`` against the server before the issue and now,
on this machine, in one run.

    git worktree add /tmp/before21 c214cfc          # the code before issue 21, outside the repository
    MCP_INVOICES_TEST_REDIS_URL=... MCP_INVOICES_TEST_DATABASE_URL=... \\
        python -m tests.hostile.proof_table --before /tmp/before21 --out /tmp/issue21-table.md

The same attack drivers (the tests of ``tests/hostile``) run twice: against ``--before``'s server
(``MCP_INVOICES_HOSTILE_SERVER_REPO``; its tests fail, as they should), then against this checkout's.
Each records its figures (``MCP_INVOICES_HOSTILE_FIGURES``); the table is written from them. Each
driver is bounded by its own deadlines (a customer's call: 10 s), each run by ``--run-timeout``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO


def run(label: str, repo: Path | None, figures: Path, timeout: float) -> tuple[int, float, str]:
    env = os.environ | {"MCP_INVOICES_HOSTILE_FIGURES": str(figures), "MCP_INVOICES_HOSTILE_LABEL": label}
    if repo is not None:
        env["MCP_INVOICES_HOSTILE_SERVER_REPO"] = str(repo)
    started = time.monotonic()
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider", "tests/hostile"],
            cwd=REPO,
            env=env,
            capture_output=True,
            timeout=timeout,
        )
        output = completed.stdout.decode(errors="replace").strip().splitlines()
        failures = [f"\n  - {line[:240]}" for line in output if line.startswith("FAILED ")]
        return completed.returncode, time.monotonic() - started, " ".join(output[-1:]) + "".join(failures)
    except subprocess.TimeoutExpired:
        return -1, time.monotonic() - started, f"stopped after {timeout:g} s"


def _settings() -> list[tuple[str, str]]:
    from mcp_invoices.config import HttpLimits, StreamLimits

    names = {
        "request_timeout": "MCP_INVOICES_HTTP_REQUEST_TIMEOUT",
        "max_connections": "MCP_INVOICES_HTTP_MAX_CONNECTIONS",
        "max_sessions_per_principal": "MCP_INVOICES_MAX_SESSIONS_PER_PRINCIPAL",
        "max_sessions": "MCP_INVOICES_MAX_SESSIONS",
        "session_idle_timeout": "MCP_INVOICES_SESSION_IDLE_TIMEOUT",
        "max_events": "MCP_INVOICES_STREAM_MAX_EVENTS",
        "max_bytes": "MCP_INVOICES_STREAM_MAX_BYTES",
        "ttl": "MCP_INVOICES_STREAM_TTL",
        "retry_ms": "MCP_INVOICES_STREAM_RETRY_MS",
        "max_streams": "MCP_INVOICES_STREAM_MAX_STREAMS",
    }
    rows = [
        (
            names[field.name],
            "open-files room, at most 10,000" if field.default is None else f"{field.default}",
        )
        for limits in (HttpLimits, StreamLimits)
        for field in dataclasses.fields(limits)
    ]
    return rows + [
        ("MCP_INVOICES_DATABASE_TIMEOUT", "10"),
        ("MCP_INVOICES_REDIS_TIMEOUT", "2"),
        ("MCP_INVOICES_ELICITATION_TIMEOUT", "600"),
    ]


def _cell(values: dict[str, object] | None) -> str:
    if values is None:
        return "not measured (the driver did not reach its figures, or was skipped)"
    shown = {key: value for key, value in values.items() if key not in ("attack", "server")}
    return "; ".join(f"{key} = {value}" for key, value in shown.items())


def table(figures: Path, runs: dict[str, tuple[int, float, str]]) -> str:
    recorded: dict[tuple[str, str], dict[str, object]] = {}
    attacks: list[str] = []  # in the order the drivers first recorded them
    if figures.exists():
        for line in figures.read_text().splitlines():
            entry = json.loads(line)
            recorded[(str(entry["attack"]), str(entry["server"]))] = entry
            if entry["attack"] not in attacks:
                attacks.append(str(entry["attack"]))
    lines = [
        "# Issue 21: attacks before and after",
        "",
        f"Measured on one machine ({os.cpu_count()} cores) in one run, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        "by `python -m tests.hostile.proof_table` (the drivers are the tests of `tests/hostile`). "
        "*Before* is commit c214cfc (before issue 21); *after* is this checkout. `served_*`/`victim_*`: "
        "another customer's call while the attack runs (seconds; `None` = not served within the 10 s deadline); "
        "`log_growth_bytes`, `rss_growth_bytes`: the server's stderr and resident memory during the attack.",
        "",
        "| attack | before | after |",
        "|---|---|---|",
    ]
    for name in attacks:
        before, after = recorded.get((name, "before")), recorded.get((name, "after"))
        lines.append(f"| {name} | {_cell(before)} | {_cell(after)} |")
    lines += ["", "Runs:", ""]
    for label, (code, seconds, summary) in runs.items():
        lines.append(f"- {label}: exit {code} in {seconds:.0f} s — {summary}")
    lines += [
        "",
        "Settings (defaults) in force after. The drivers set some lower to keep the suite short, the same for "
        "both columns: each test names its own (e.g. `MCP_INVOICES_DATABASE_TIMEOUT=1` in the frozen-dependency "
        "tests, an open-files limit of 256 for slowloris).",
        "",
        "| setting | default |",
        "|---|---|",
    ]
    lines += [f"| `{name}` | {default} |" for name, default in _settings()]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="a checkout of the code before issue 21")
    parser.add_argument("--out", type=Path, required=True, help="where to write the table (Markdown)")
    parser.add_argument(
        "--figures", type=Path, default=None, help="the figures file (default: next to --out)"
    )
    parser.add_argument(
        "--run-timeout", type=float, default=900, help="seconds each run may take (default 900)"
    )
    args = parser.parse_args()
    figures = args.figures or args.out.with_suffix(".jsonl")
    figures.unlink(missing_ok=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    runs = {
        "before": run("before", args.before.resolve(), figures, args.run_timeout),
        "after": run("after", None, figures, args.run_timeout),
    }
    args.out.write_text(table(figures, runs))
    print(args.out.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
