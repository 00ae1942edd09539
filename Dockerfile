# cdhelper's image: `cdhelper` as the entrypoint, run as a non-root user (uid 10001).
#
#   docker build -t cdhelper .
#   docker run --rm cdhelper --version
#
# The build stage makes the wheels and cdhelper's virtual environment (/opt/cdhelper); the
# test stage runs the unit and CLI tests on them, with setup.py's `test` extra (the
# integration tests need a private dockerd and registry, which a build cannot start: tox
# runs them); the runtime stage copies that environment from the test stage, so there is
# no image unless the tests pass. A virtual environment also makes any Debian-like base
# with python3 (>= 3.11), pip and venv do, including one whose system Python is
# "externally managed".
#
# Build arguments:
#   BASE                  the base image (default python:3.11-slim)
#   PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_FIND_LINKS, PIP_NO_INDEX
#                         pip's own settings, for a build that must use a mirror or local
#                         wheels. An offline build: in the build context, first
#                         `pip wheel -w wheels '.[test]' 'setuptools>=64' wheel`, then
#                         --build-arg PIP_NO_INDEX=1 --build-arg PIP_FIND_LINKS=/src/wheels
#                         (tests/integration/test_image.py builds it so)
#
# Talking to the Docker Engine of the host (a Swarm manager) through its socket: the
# image's user must be in the group that owns the socket, which differs between hosts:
#
#   docker run --rm -v /var/run/docker.sock:/var/run/docker.sock \
#     --group-add "$(stat -c %g /var/run/docker.sock)" \
#     -v "$PWD/registry-auth.json:/home/cdhelper/.docker/config.json:ro" \
#     cdhelper plan --smart --docker-host unix:///var/run/docker.sock
#
# (registry-auth.json: a Docker config.json with the registry credentials, where any are
# needed, readable by uid 10001; a `docker login` one is usually readable by its owner
# only. Secrets such as CDHELPER_PLAN_KEY or CDHELPER_SWARMPIT_TOKEN go in with -e NAME.)
#
# The webhook inbox (`cdhelper serve`; deploy/stack.yml runs it as a Swarm stack) must
# listen on all interfaces of the container; its store belongs under the user's home
# (/home/cdhelper, where a volume keeps it):
#
#   docker run -d -p 8080:8080 -v cdhelper-state:/home/cdhelper -e HUB_HOOK_TOKEN \
#     -v "$PWD/cdhelper.yaml:/etc/cdhelper/cdhelper.yaml:ro" \
#     cdhelper serve --config /etc/cdhelper/cdhelper.yaml --listen 0.0.0.0:8080
#
# (its `state:` under /home/cdhelper, e.g. /home/cdhelper/state; the secrets its *_env
# names as -e NAME, or its *_file ones as mounted files)

ARG BASE=python:3.11-slim

FROM ${BASE} AS build
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG PIP_FIND_LINKS
ARG PIP_NO_INDEX
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY . .
# /wheels: cdhelper and what it needs at run time; /test-wheels: the `test` extra's too.
# /opt/cdhelper: the runtime's virtual environment, made here and copied as it is.
RUN python3 -m venv /opt/build \
 && /opt/build/bin/pip wheel --wheel-dir /wheels . \
 && /opt/build/bin/pip wheel --wheel-dir /test-wheels --find-links /wheels '.[test]' \
 && python3 -m venv /opt/cdhelper \
 && /opt/cdhelper/bin/pip install --no-index --find-links /wheels cdhelper

FROM build AS test
RUN python3 -m venv /opt/test \
 && /opt/test/bin/pip install --no-index --find-links /test-wheels 'cdhelper[test]' \
 && /opt/test/bin/pytest -q -p no:cacheprovider -m "not integration" --no-cov

FROM ${BASE}
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/cdhelper/bin:$PATH
# from the test stage, so that no builder skips the tests
COPY --from=test /opt/cdhelper /opt/cdhelper
RUN useradd --create-home --home-dir /home/cdhelper --uid 10001 --user-group cdhelper
USER cdhelper
WORKDIR /home/cdhelper
EXPOSE 8080
ENTRYPOINT ["cdhelper"]
CMD ["--help"]
