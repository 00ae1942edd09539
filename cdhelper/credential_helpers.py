"""docker-py's reader of the Docker config, with its credential helpers run under a timeout.

A helper may wait for a keychain prompt nobody answers in CI, and cdhelper must not hang
with it. Split from :mod:`cdhelper.credentials` so that docker-py (and requests under it,
~80 ms to import) loads only when credentials are actually read, not for every command
that merely names ``DOCKER_CONFIG``.
"""

from __future__ import annotations

import subprocess

import docker.auth
import docker.credentials

HELPER_TIMEOUT = 30.0


class HelperFailed(docker.credentials.StoreError):  # type: ignore[misc]
    """A helper failed: the message is cdhelper's, with the exit code and no output."""


class _TimedStore(docker.credentials.Store):  # type: ignore[misc]
    """docker-py's credential helper protocol, with a timeout."""

    def _execute(self, subcmd: str, data_input: bytes | None) -> bytes:
        try:
            done = subprocess.run(
                [self.exe or self.program, subcmd],
                input=data_input,
                capture_output=True,
                timeout=HELPER_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise HelperFailed(
                f"credential helper {self.program} did not answer within {HELPER_TIMEOUT:g} s"
            ) from None
        except OSError as exc:
            raise HelperFailed(f"credential helper {self.program}: {exc.strerror}") from None
        if done.returncode != 0:
            output = (done.stdout + done.stderr).decode("utf-8", "replace").lower()
            if "credentials not found" in output:
                raise docker.credentials.CredentialsNotFound(self.program)
            server = (data_input or b"").decode("utf-8", "replace")
            raise HelperFailed(
                f"credential helper {self.program} failed for {server} (exit {done.returncode})"
            )
        return done.stdout


class AuthConfig(docker.auth.AuthConfig):  # type: ignore[misc]
    """docker-py's AuthConfig, its credential helpers run with a timeout."""

    def _get_store_instance(self, name: str) -> docker.credentials.Store:
        if name not in self._stores:
            self._stores[name] = _TimedStore(name, environment=self._credstore_env)
        return self._stores[name]
