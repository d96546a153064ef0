"""What only the tests read is compiled into the tests' extension build alone: the product's
background never keeps the ids it applied (extension/src/test-hooks.ts)."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def background(out: Path, *flags: str) -> str:
    subprocess.run(["node", "web/build.mjs", "--extension-out", str(out), *flags], cwd=ROOT, check=True)
    return (out / "background.js").read_text()


def test_only_the_test_build_keeps_the_applied_ids(tmp_path):
    assert "scrollr:test:applied" in background(tmp_path / "tests", "--test-hooks")
    product = background(tmp_path / "product")
    assert "scrollr:test:applied" not in product and "applied:" not in product
