"""Whatever JSON or YAML arrives, cdhelper answers with InputError or a result: never a
traceback. Random documents, the real fixtures with parts removed or retyped, and their
text with hostile fragments spliced in, through the functions and through the command line.

The default run is quick (100 examples a test); ``CDHELPER_FUZZ=1`` (``tox -e fuzz``) loads
the ``fuzz`` profile: 10,000 examples a test.
"""

from __future__ import annotations

import copy
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import requests_mock
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdhelper import plan, sources
from cdhelper.backends import parse_inventory
from cdhelper.cli import cli
from cdhelper.errors import InputError
from cdhelper.sources.base import Context

from helpers import DATA, paths

settings.register_profile(
    "quick",
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile("fuzz", settings.get_profile("quick"), max_examples=10_000)
PROFILE = settings.get_profile("fuzz" if os.environ.get("CDHELPER_FUZZ") else "quick")

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
FIXTURES = {
    name: json.loads((DATA / name).read_text())
    for name in (
        "dockerhub-push-int.json",
        "registry-notifications-push-app-v1.json",
        "docker-engine-services.json",
        "swarmpit-services.json",
    )
}
REPLACEMENTS: st.SearchStrategy[Any] = st.sampled_from(
    [None, 0, -1, 1.5, "", "x", "Bad Value!", [], {}, True]
)


def mutate(draw: st.DrawFn, document: Any, times: int) -> Any:
    """Delete or retype ``times`` randomly chosen parts of ``document`` (in place)."""
    for _ in range(times):
        if not paths(document):
            break
        where = draw(st.sampled_from(paths(document)))
        parent = document
        for part in where[:-1]:
            parent = parent[part]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[where[-1]]
        else:
            parent[where[-1]] = draw(REPLACEMENTS)
    return document


@st.composite
def mutated(draw: st.DrawFn) -> Any:
    name = draw(st.sampled_from(sorted(FIXTURES)))
    return mutate(draw, copy.deepcopy(FIXTURES[name]), draw(st.integers(1, 3)))


def never_a_traceback(call: Any, document: Any) -> None:
    try:
        call(document)
    except InputError as exc:
        assert str(exc).startswith("x:")


@PROFILE
@given(document=JSON | mutated())
def test_events(document: Any) -> None:
    never_a_traceback(lambda d: sources.parse_document(d, Context("x")), document)


@PROFILE
@given(document=JSON | mutated())
def test_inventories(document: Any) -> None:
    never_a_traceback(lambda d: parse_inventory(d, "x"), document)


@PROFILE
@given(document=JSON)
def test_plans(document: Any) -> None:
    never_a_traceback(lambda d: plan.loads(yaml.safe_dump(d), "x"), document)


def _sample_plan() -> Any:
    from test_plan import sample

    return yaml.safe_load(plan.dumps(sample()))


@st.composite
def mutated_plan(draw: st.DrawFn) -> Any:
    return mutate(draw, _sample_plan(), draw(st.integers(1, 2)))


@PROFILE
@given(document=mutated_plan())
def test_mutated_plans(document: Any) -> None:
    never_a_traceback(lambda d: plan.loads(yaml.safe_dump(d), "x"), document)


# Fragments an attacker or a broken proxy would splice into a document's text.
HOSTILE = [
    "NaN",
    "-Infinity",
    "1e999",
    "9" * 5000,
    '"\\ud800"',
    '"\\udfff\\ud800"',
    '"v1\\n"',
    '"vé"',
    '"tag": "x", "tag"',
    "[" * 2000,
    "{" * 2000,
    '"' + "x" * 5000 + '"',
    "&a [*a]",
    "*a",
    "<<: {x: 1}",
    "!!binary aGk=",
    "\x00",
    "\t",
    "\ufeff",
    ".nan",
    "- - - - - -",
]


@st.composite
def spliced(draw: st.DrawFn, text: str) -> bytes:
    """``text`` with 1-3 hostile fragments, random characters or cuts, as (maybe bad) bytes."""
    data = text
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.integers(0, 3))
        if kind == 0:
            data = data[:at] + draw(st.sampled_from(HOSTILE)) + data[at:]
        elif kind == 1:
            data = data[:at] + draw(st.text(max_size=5)) + data[at + 1 :]
        elif kind == 2:
            data = data[:at]
        else:
            end = draw(st.integers(at, len(data)))
            data = data[:at] + data[end:]
    raw = data.encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        at = draw(st.integers(0, len(raw)))
        raw = (
            raw[:at]
            + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x80"]))
            + raw[at:]
        )
    return raw


# Every source's real payloads (tests/data/sources/<source>/*.json), for the CLI fuzz.
SOURCE_PAYLOADS = {
    str(path.relative_to(DATA)): json.loads(path.read_text())
    for path in sorted((DATA / "sources").glob("*/*.json"))
}


@st.composite
def mutated_payload(draw: st.DrawFn) -> Any:
    name = draw(st.sampled_from(sorted(SOURCE_PAYLOADS)))
    return mutate(draw, copy.deepcopy(SOURCE_PAYLOADS[name]), draw(st.integers(0, 3)))


@st.composite
def payload_bytes(draw: st.DrawFn) -> bytes:
    document = draw(JSON | mutated() | mutated_payload())
    text = json.dumps(document)
    return draw(spliced(text)) if draw(st.booleans()) else text.encode()


def plan_text() -> str:
    return yaml.safe_dump(_sample_plan(), sort_keys=False)


@st.composite
def plan_bytes(draw: st.DrawFn) -> bytes:
    choice = draw(st.integers(0, 2))
    if choice == 0:
        return yaml.safe_dump(draw(mutated_plan())).encode()
    if choice == 1:
        return yaml.safe_dump(draw(JSON)).encode()
    return draw(spliced(plan_text()))


def invoke(args: list[str], stdin: bytes, env: dict[str, str | None] | None = None) -> None:
    """No uncaught exception: an exit code of 0, 1 or 2, and never a traceback."""
    result = CliRunner().invoke(cli, args, input=stdin, env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code in (0, 1, 2), result.output
    assert "Traceback" not in result.output


@PROFILE
@given(data=payload_bytes())
def test_cli_validate(data: bytes) -> None:
    invoke(["validate", "-", "--format", "json"], data)


@PROFILE
@given(data=payload_bytes())
def test_cli_plan_with_hostile_events(data: bytes) -> None:
    invoke(["plan", "--event", "-", "--inventory", str(DATA / "swarmpit-services.json")], data)


@st.composite
def inventory_bytes(draw: st.DrawFn) -> bytes:
    name = draw(st.sampled_from(["docker-engine-services.json", "swarmpit-services.json"]))
    document = mutate(draw, copy.deepcopy(FIXTURES[name]), draw(st.integers(0, 3)))
    text = json.dumps(document)
    return draw(spliced(text)) if draw(st.booleans()) else text.encode()


@PROFILE
@given(data=inventory_bytes())
def test_cli_plan_with_hostile_inventories(data: bytes) -> None:
    event = DATA / "registry-notifications-push-app-v1.json"
    invoke(["plan", "--event", str(event), "--inventory", "-", "-o", "-"], data)


@PROFILE
@given(data=plan_bytes(), fmt=st.sampled_from(["text", "markdown", "json"]))
def test_cli_show(data: bytes, fmt: str) -> None:
    invoke(["show", "-", "--format", fmt], data)


SP = "http://127.0.0.1:8888"


@PROFILE
@given(data=plan_bytes(), signed=st.booleans())
def test_cli_apply_dry_run(data: bytes, signed: bool) -> None:
    """A live Swarmpit answering the inventory the sample plan was made from."""
    env = {"CDHELPER_SWARMPIT_TOKEN": "t0ken", "CDHELPER_PLAN_KEY": "k" if signed else None}
    with requests_mock.Mocker() as mock:
        mock.get(f"{SP}/api/services", json=FIXTURES["swarmpit-services.json"])
        mock.post(re.compile(f"{SP}/.*"), status_code=500)
        invoke(["apply", "-", "--dry-run", "--swarmpit-url", SP], data, env)
        assert not [r for r in mock.request_history if r.method != "GET"]


# Values that round-trip, mostly, and values that must be refused at input, never later.
def mostly(valid: list[str], invalid: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """A valid value nine times in ten, so that whole documents are often valid."""
    return st.integers(0, 9).flatmap(lambda n: st.sampled_from(valid) if n else invalid)


TAGS = mostly(
    ["v1", "INT", "v1.2.3_abc", "latest", "_x", "a" * 128],
    st.sampled_from(["v1\n", "vé", "-x", "a" * 129, ""])
    | st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=12),
)
HOSTS = mostly(
    [
        "127.0.0.1:5000",
        "localhost",
        "registry.example.com",
        "Registry.Example.com:443",
        "[::1]:5000",
        "[2001:db8::1]",
        "r.io:65535",
        "docker.io",
        "index.docker.io",
    ],
    st.sampled_from(
        [
            "[::1",
            "r.io:0",
            "r.io:65536",
            "myregistry",
            "bad_host.io",
            "user:pw@r.io",
            "",
            "[1::2::3]",
        ]
    )
    | st.text(alphabet="abc.:[]-_0123456789", min_size=1, max_size=12),
)
REPOS = mostly(
    ["app", "team/app", "a__b", "a.b-c/d_e"],
    st.sampled_from(["App", "x" * 300, ""]) | st.text(max_size=8),
)
DIGESTS = mostly(
    ["sha256:" + "e" * 64], st.sampled_from(["sha256:" + "E" * 64, "sha512:" + "a" * 128])
)


@st.composite
def pushes_and_services(draw: st.DrawFn) -> tuple[bytes, list[dict[str, Any]]]:
    """A registry notification and a Docker Engine service list that often match."""
    refs = draw(st.lists(st.tuples(HOSTS, REPOS, TAGS), min_size=1, max_size=3))
    events = [
        {
            "id": f"e{i}",
            "timestamp": draw(
                st.sampled_from(["2026-01-01T00:00:00Z", "0001-01-01T00:00:00+01:00"])
            ),
            "action": "push",
            "target": {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "repository": repo,
                "tag": tag,
                "digest": draw(DIGESTS),
                "url": f"http://{host}/v2/{repo}/manifests/{tag}",
            },
        }
        for i, (host, repo, tag) in enumerate(refs)
    ]
    services = [
        {
            "ID": f"s{i}",
            "Version": {"Index": 1},
            "Spec": {
                "Name": f"svc{i}",
                "Labels": {},
                "TaskTemplate": {
                    "ContainerSpec": {"Image": f"{host}/{repo}:{tag}@sha256:{'1' * 64}"}
                },
            },
        }
        for i, (host, repo, tag) in enumerate(refs)
    ]
    return json.dumps({"events": events}).encode("utf-8", "surrogatepass"), services


@PROFILE
@given(case=pushes_and_services())
def test_every_plan_that_plan_writes_loads_in_show(
    case: tuple[bytes, list[dict[str, Any]]],
) -> None:
    payload, services = case
    with tempfile.TemporaryDirectory() as directory:
        inventory = Path(directory) / "inventory.json"
        inventory.write_text(json.dumps(services))
        result = CliRunner().invoke(
            cli, ["plan", "--event", "-", "--inventory", str(inventory), "-o", "-"], input=payload
        )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in (0, 1), result.output
    if result.exit_code == 0:
        for fmt in ("text", "markdown", "json"):
            shown = CliRunner().invoke(cli, ["show", "-", "--format", fmt], input=result.stdout)
            assert shown.exit_code == 0, (result.stdout, shown.output)
