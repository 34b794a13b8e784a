"""environment.yml (conda) and pyproject.toml (pip) must pin the same packages."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]

# conda-only tools, not Python dependencies of the package
CONDA_TOOLS = {"python", "pip", "nodejs"}


def _pin(req: Requirement) -> str:
    """The exact version of a ``name==version`` requirement (anything else fails)."""
    specs = list(req.specifier)
    assert len(specs) == 1 and specs[0].operator == "==", f"{req} is not pinned with =="
    return specs[0].version


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


@pytest.fixture(scope="module")
def environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def pyproject_pins(pyproject: dict) -> dict[str, str]:
    reqs = [Requirement(r) for r in pyproject["project"]["dependencies"]]
    return {canonicalize_name(r.name): _pin(r) for r in reqs}


def environment_pins(environment: dict) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """(conda tools, python packages, pip options such as ``-e .``) of environment.yml."""
    tools: dict[str, str] = {}
    packages: dict[str, str] = {}
    options: list[str] = []
    for dep in environment["dependencies"]:
        if isinstance(dep, dict):
            for line in dep["pip"]:
                if line.startswith("-"):
                    options.append(line)
                    continue
                req = Requirement(line)
                name = canonicalize_name(req.name)
                assert name not in packages, f"{name} listed twice in environment.yml"
                packages[name] = _pin(req)
            continue
        m = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(?:==?\s*([^\s=]+))?\s*", dep)
        assert m, f"cannot read conda dependency {dep!r}"
        name, version = canonicalize_name(m.group(1)), m.group(2) or ""
        if name in CONDA_TOOLS:
            tools[name] = version
        else:
            assert name not in packages, f"{name} listed twice in environment.yml"
            packages[name] = version
    return tools, packages, options


def test_same_packages_same_pins(pyproject, environment):
    want = pyproject_pins(pyproject)
    _, have = environment_pins(environment)[:2]
    missing = sorted(set(want) - set(have))
    extra = sorted(set(have) - set(want))
    differ = sorted(f"{n}: pyproject {want[n]} != environment.yml {have[n]}"
                    for n in set(want) & set(have) if want[n] != have[n])
    assert not (missing or extra or differ), (
        f"environment.yml and pyproject.toml drifted: missing from environment.yml {missing}, "
        f"not in pyproject {extra}, different pins {differ}"
    )


def test_same_python(pyproject, environment):
    tools = environment_pins(environment)[0]
    python = tools.get("python", "")
    assert python, "environment.yml must pin python"
    requires = SpecifierSet(pyproject["project"]["requires-python"])
    assert requires.contains(python + ".0"), f"python={python} outside requires-python {requires}"
    assert environment["name"] == "specgen"


def test_installs_the_package(environment):
    options = environment_pins(environment)[2]
    assert "-e ." in options, "environment.yml must install the package itself (pip: -e .)"
