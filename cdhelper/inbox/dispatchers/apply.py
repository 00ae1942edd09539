"""The ``apply`` dispatcher: apply the plan at once, as ``cdhelper apply`` does (a policy
instead of a person), and keep the apply report with the attempt in the store.

An apply that ran (even with failed actions) or was refused as stale is final: repeating it
blindly could redeploy twice. Only an error before anything was touched (the target
unreachable while reading its services) is retried.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from cdhelper import applier, backends, deadline, lock, report, windows
from cdhelper.backends import swarmpit
from cdhelper.errors import ApiError, CdhelperError, ConfigError, InputError, OutsideWindowError
from cdhelper.inbox.dispatchers.base import (
    DispatchOutcome,
    DispatchRequest,
    DispatchType,
    SecretReader,
    Status,
)
from cdhelper.plan import Plan

DEFAULT_TIMEOUT = 300.0  # seconds for the whole apply, as cdhelper apply --timeout


class ApplyDispatcher:
    def __init__(self, environ: Mapping[str, str], wait: bool, timeout: float) -> None:
        self._environ = environ
        self.wait = wait
        self.timeout = timeout

    def dispatch(self, request: DispatchRequest) -> DispatchOutcome:
        plan = request.plan
        try:
            windows.enforce(plan.policies.windows, (), datetime.now(UTC))
        except OutsideWindowError as exc:
            when = exc.next_open.timestamp() if exc.next_open else None
            return DispatchOutcome(Status.RETRY, str(exc), not_before=when)
        try:
            result = self._apply(plan)
        except (ConfigError, InputError) as exc:
            return DispatchOutcome(Status.FAILED, str(exc))
        except ApiError as exc:
            final = exc.status is not None and 400 <= exc.status < 500 and exc.status != 429
            return DispatchOutcome(Status.FAILED if final else Status.RETRY, str(exc))
        except CdhelperError as exc:
            return DispatchOutcome(Status.RETRY, str(exc))
        counts = Counter(r.outcome.value for r in result.results)
        summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
        record = report.apply_report(result, f"batch {request.batch_id}")
        detail = f"{result.status.value}: {summary}" if summary else result.status.value
        status = Status.DONE if result.ok else Status.FAILED
        return DispatchOutcome(status, detail, record=record)

    def _apply(self, plan: Plan) -> applier.ApplyResult:
        """As ``cdhelper apply [--wait] --timeout``: one time limit, the target's apply lock."""
        with deadline.limit(self.timeout) as limit:
            kind = backends.by_kind(plan.target.kind)
            backend = backends.apply_backend(plan.target, {}, self._environ)
            wait_until = limit.at if self.wait and kind.can_wait and limit else None
            with lock.hold(backend.target):
                return applier.apply(plan, backend, wait_until=wait_until)


def build(entry: Mapping[str, Any], directory: str, secret: SecretReader) -> ApplyDispatcher:
    services = entry["services"]
    if "file" in services:
        raise ConfigError(
            "apply needs live services (swarmpit_url or docker_host): "
            "a plan made from a file names no target to apply to"
        )
    environ = dict(os.environ)
    token = secret(services, "token")
    if token:
        environ[swarmpit.TOKEN_ENV] = token
    if services.get("allow_http"):
        environ[swarmpit.ALLOW_HTTP_ENV] = "1"
    return ApplyDispatcher(
        environ,
        bool(entry.get("wait", False)),
        float(entry.get("timeout_seconds", DEFAULT_TIMEOUT)),
    )


TYPE = DispatchType(name="apply", build=build)
