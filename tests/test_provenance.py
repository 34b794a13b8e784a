"""The book's provenance block and its downloads (specgen.provenance)."""

import json
import shutil
import zipfile
from pathlib import Path

from specgen.provenance import write_build_info

ROOT = Path(__file__).resolve().parents[1]


def test_build_info_names_profile_versions_device_and_downloads(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "ci").symlink_to(ROOT / "data" / "ci")
    shutil.copytree(ROOT / "tests" / "reference" / "generator", tmp_path / "models" / "ci" / "emulator")
    block = write_build_info("ci", tmp_path).read_text()
    assert block.startswith("```{admonition} This build") and "`ci` (12 train stars × 4 variants" in block
    assert "tensorflow 2." in block and "device" in block
    record = json.loads((tmp_path / "book" / "_build_info" / "provenance-ci.json").read_text())
    assert record["profile"]["name"] == "ci" and record["grids"]["train"]["wavelength_medium"] == "air"
    with zipfile.ZipFile(tmp_path / "book" / "_build_info" / "specgen-generator-ci.zip") as archive:
        assert "emulator/emulator.json" in archive.namelist()
    assert "(_build_info/specgen-generator-ci.zip)" in block


def test_without_a_model_the_block_still_gives_the_grids(tmp_path):
    block = write_build_info("ci", tmp_path).read_text()
    assert ".zip" not in block and "no grid found" in block and "provenance-ci.json" in block
