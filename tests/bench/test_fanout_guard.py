"""Regression guard for fan-out cost: the relay's CPU per delivery as a ratio of nchan's, in one run.

Absolute times on a shared machine are noise; a ratio against a peer measured seconds apart on the
same load is not. Measured here: 1.2-1.3x at 1,000-5,000 clients (README, "Fan-out performance").
The bound is loose on purpose: it catches a return to per-client tasks or generators (5-7x), not
jitter. The targets themselves are measured by `just bench`, not asserted.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_CPU_RATIO = 2.5


def test_relay_cpu_per_delivery_stays_within_a_ratio_of_nchan(tmp_path):
    out = tmp_path / "bench.json"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            "--clients",
            "300",
            "--duration",
            "4",
            "--idle",
            "0",
            "--json",
            str(out),
        ],
        check=True,
        cwd=ROOT,
        timeout=300,
        capture_output=True,
    )
    nchan, relay = json.loads(out.read_text())
    assert nchan["target"].startswith("nchan") and relay["target"].startswith("relay")
    assert relay["lost"] == 0 and relay["publish_failures"] == 0
    ratio = relay["cpu_us_per_delivery"] / nchan["cpu_us_per_delivery"]
    print(
        f"\nrelay/nchan CPU per delivery: {ratio:.2f} ({relay['cpu_us_per_delivery']} / {nchan['cpu_us_per_delivery']} µs)"
    )
    assert ratio <= MAX_CPU_RATIO
