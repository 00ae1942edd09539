"""The pipeline files users copy, read as the tests need them: the Jenkinsfile's named
shell steps and settings, and the cdhelper command lines of the GitHub workflow."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
JENKINSFILE = ROOT / "pipelines" / "jenkins" / "Jenkinsfile"
WORKFLOW = ROOT / "pipelines" / "github" / "redeploy.yml"
ACTION = "dopplerdock/cdhelper@v1"

# sh '''# name ... ''' : each shell step names itself in its first line
_STEP = re.compile(r"'''# (?P<name>[a-z ]+)\n(?P<body>.*?)'''", re.DOTALL)
_SETTING = re.compile(r"^\s+(?P<key>[A-Z_]+) = (?P<quote>['\"])(?P<value>[^'\"]*)(?P=quote)$", re.M)


def jenkins_text() -> str:
    return JENKINSFILE.read_text()


def jenkins_steps() -> dict[str, str]:
    """The shell steps by name (a name used twice must name the same script)."""
    steps: dict[str, str] = {}
    for match in _STEP.finditer(jenkins_text()):
        body = "\n".join(line.strip() for line in match["body"].splitlines()).strip() + "\n"
        assert steps.setdefault(match["name"], body) == body, match["name"]
    return steps


def jenkins_environment() -> dict[str, str]:
    """The pipeline's ``environment {}`` settings, ``${NAME}`` resolved in order."""
    block = jenkins_text().split("    environment {", 1)[1].split("\n    }", 1)[0]
    settings: dict[str, str] = {}
    for match in _SETTING.finditer(block):
        value = re.sub(r"\$\{(\w+)\}", lambda m: settings[m[1]], match["value"])
        settings[match["key"]] = value
    return settings


def workflow() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return loaded


def action_steps() -> list[tuple[str, dict[str, Any]]]:
    """(job, step) for every step of the workflow that runs the cdhelper action."""
    return [
        (name, step)
        for name, job in workflow()["jobs"].items()
        for step in job["steps"]
        if step.get("uses") == ACTION
    ]
