"""The benchmarks still start: their scripts import and their emulator process serves (nothing is timed).

The benchmarks run by hand (``tests/bench/README.md``), so nothing else notices when a refactor moves a
module they import; this runs each script's start without measuring anything.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx2

from tests.bench import support

BENCH = Path(__file__).parent / "bench"


def test_the_bench_emulator_process_serves_every_provider() -> None:
    with support.emulator_process(latency_ms=0) as (base_url, _pid):
        answer = httpx2.get(f"{base_url}/", timeout=10)
    assert answer.status_code < 500


def test_the_bench_scripts_import_and_explain_themselves() -> None:
    for script in ("run.py", "profile_server.py"):
        done = subprocess.run(
            [sys.executable, str(BENCH / script), "--help"], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"{script}: {done.stderr[-2000:]}"
        assert "usage" in done.stdout.lower()
