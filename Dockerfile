# cdhelper's image. The build stage runs the unit and CLI tests (the integration tests
# need a private dockerd and registry, which a build container cannot start: tox runs
# them); the runtime stage is small and runs cdhelper.
FROM python:3.11-slim AS build
WORKDIR /src
COPY . .
RUN pip install --no-cache-dir . pytest pytest-cov requests-mock \
 && python -m pytest -q -p no:cacheprovider -m "not integration" --no-cov \
 && pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
 && useradd --create-home --uid 10001 cdhelper
USER cdhelper
ENTRYPOINT ["cdhelper"]
CMD ["--help"]
