"""Regression guards for fan-out: the relay against nginx+nchan measured in the same run, as ratios.

Absolute times on a shared machine are noise; a ratio against a peer measured seconds apart on the
same load is not. Measured here (README, "Fan-out performance"): CPU per delivery 0.85-1.01x
nchan's at 1,000 clients; 1.5-1.7x nchan's deliveries/s with both cores; a reconnect storm's time
until every client is live, and filtered fan-out's CPU per delivery (README). The bounds leave room
for a noisy neighbour, and another run is taken only when the last was over the bound (up to three:
one CI run saw the storm at 2.16x then 2.72x nchan's on a busy machine, where it measures 1.5-1.8x
alone), so a real regression fails three times. The targets themselves are measured by `just bench`, not asserted.
"""

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KIT = Path(os.environ.get("SCROLLR_BENCH_KIT", ROOT.parent / "shared" / "bench"))


@pytest.fixture(autouse=True)
def bench_kit() -> None:
    if not (KIT / "sseload.c").exists() or not (KIT / "fanout.py").exists():
        pytest.fail(
            f"the fan-out guard needs the shared bench kit (sseload.c, fanout.py) at {KIT}: "
            "lay shared/ beside the checkout, or set SCROLLR_BENCH_KIT"
        )


MAX_CPU_RATIO = 1.3
MIN_BOTH_CORES_THROUGHPUT_RATIO = 1.0
MAX_STORM_TIME_RATIO = 2.0
MAX_FILTERED_CPU_RATIO = 1.5
ATTEMPTS = 3


def bench(tmp_path: Path, *args: str) -> tuple[dict, dict]:
    out = tmp_path / "bench.json"
    subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--idle", "0", "--json", str(out), *args],
        check=True,
        cwd=ROOT,
        timeout=600,
        capture_output=True,
    )
    nchan, relay = json.loads(out.read_text())
    assert nchan["target"].startswith("nchan") and relay["target"].startswith("relay")
    assert relay["lost"] == 0 and relay["publish_failures"] == 0 and relay.get("duplicates", 0) == 0
    return nchan, relay


def ratios_until(tmp_path: Path, args: list[str], key: str, good: Callable[[float], bool]) -> list[float]:
    """relay/nchan of `key`, one run after another until one is good or the attempts are spent."""
    ratios: list[float] = []
    while len(ratios) < ATTEMPTS and not any(good(r) for r in ratios):
        nchan, relay = bench(tmp_path, *args)
        ratios.append(relay[key] / nchan[key])
    print(f"\nrelay/nchan {key}: {', '.join(f'{r:.2f}' for r in ratios)}")
    return ratios


def test_relay_cpu_per_delivery_stays_within_a_ratio_of_nchan(tmp_path):
    args = ["--only", "steady", "--clients", "1000", "--duration", "4", "--both-cores", ""]
    ratios = ratios_until(tmp_path, args, "cpu_us_per_delivery", lambda r: r <= MAX_CPU_RATIO)
    assert min(ratios) <= MAX_CPU_RATIO


def test_relay_on_both_cores_delivers_at_least_what_nchan_does(tmp_path):
    args = ["--only", "steady", "--clients", "", "--both-cores", "5000x60"]
    ratios = ratios_until(tmp_path, args, "deliveries_per_s", lambda r: r >= MIN_BOTH_CORES_THROUGHPUT_RATIO)
    assert max(ratios) >= MIN_BOTH_CORES_THROUGHPUT_RATIO


def test_a_reconnect_storm_is_live_within_a_ratio_of_nchans_time(tmp_path):
    args = ["--only", "storm", "--storm", "10000"]
    ratios = ratios_until(tmp_path, args, "all_live_s", lambda r: r <= MAX_STORM_TIME_RATIO)
    assert min(ratios) <= MAX_STORM_TIME_RATIO


def test_filtered_fan_out_costs_within_a_ratio_of_nchans_cpu(tmp_path):
    args = ["--only", "filtered", "--filtered", "5000"]
    ratios = ratios_until(tmp_path, args, "cpu_us_per_delivery", lambda r: r <= MAX_FILTERED_CPU_RATIO)
    assert min(ratios) <= MAX_FILTERED_CPU_RATIO
