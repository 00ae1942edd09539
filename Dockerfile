# cdhelper's image: `cdhelper` as the entrypoint, run as a non-root user (uid 10001).
#
#   docker build -t cdhelper .
#   docker run --rm cdhelper --version
#
# The build stage makes the wheels; the test stage runs the unit and CLI tests on them
# (the integration tests need a private dockerd and registry, which a build cannot start:
# tox runs them); the runtime stage installs only cdhelper's wheels, so the image is built
# only if the tests pass. Python lives in a virtual environment (/opt/cdhelper), so any
# Debian-like base with python3 (>= 3.11), pip and venv will do.
#
# Build arguments:
#   BASE                  the base image (default python:3.11-slim)
#   PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_FIND_LINKS, PIP_NO_INDEX
#                         pip's own settings, for a build that must use a mirror or local
#                         wheels; e.g. wheels made beforehand with `pip wheel -w wheels '.[test]'`
#                         in the build context: --build-arg PIP_NO_INDEX=1
#                         --build-arg PIP_FIND_LINKS=/src/wheels (an offline build)
#
# Talking to the Docker Engine of the host (a Swarm manager) through its socket: the
# image's user must be in the group that owns the socket, which differs between hosts:
#
#   docker run --rm -v /var/run/docker.sock:/var/run/docker.sock \
#     --group-add "$(stat -c %g /var/run/docker.sock)" \
#     cdhelper plan --smart --docker-host unix:///var/run/docker.sock
#
# The webhook inbox (`cdhelper serve`; deploy/stack.yml runs it as a Swarm stack) must
# listen on all interfaces of the container; its store belongs under the user's home
# (/home/cdhelper, where a volume keeps it):
#
#   docker run -d -p 8080:8080 -v cdhelper-state:/home/cdhelper \
#     -v "$PWD/cdhelper.yaml:/etc/cdhelper/cdhelper.yaml:ro" \
#     cdhelper serve --config /etc/cdhelper/cdhelper.yaml --listen 0.0.0.0:8080

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
