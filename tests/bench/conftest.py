"""The benchmarks are run by ``python tests/bench/run.py``, never by pytest (see README.md here)."""

collect_ignore_glob = ["*"]
