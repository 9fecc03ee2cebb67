"""The three dependency lists (pyproject, environment.yml, constraints.txt) agree."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    """Normalised distribution name of a requirement string ("Foo_Bar>=1" -> "foo-bar")."""
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _pyproject_requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return project["dependencies"] + project["optional-dependencies"]["dev"]


def _conda_pip_requirements() -> list[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    (pip_section,) = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    return pip_section


def _constraints() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    pins = [line for line in lines if line and not line.startswith("#")]
    return {_name(line): line.split("==", 1)[1] for line in pins}


def test_environment_yml_lists_the_same_requirements_as_pyproject():
    conda = _conda_pip_requirements()
    assert conda[-1] == "-e .", "environment.yml must install the course package last"
    assert sorted(conda[:-1]) == sorted(_pyproject_requirements())


def test_environment_yml_uses_the_same_python_as_constraints():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python=3.11" in env["dependencies"]


def test_every_requirement_is_pinned_in_constraints():
    pins = _constraints()
    missing = {_name(r) for r in _pyproject_requirements()} - set(pins)
    assert not missing, f"add exact pins to constraints.txt for {sorted(missing)}"


def test_torch_is_pinned_to_the_cpu_build_version():
    assert _constraints()["torch"] == "2.13.0"
    assert "torch==2.13.0" in _pyproject_requirements()
