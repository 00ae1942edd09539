"""The ``plans`` dispatcher: write the plan file into a folder, for a person or a job to pick up.

The file is ``<environment>-<UTC time>-<batch>.yaml``, the time being the plan's
``created_at``: a retried attempt (after a crash, say) rewrites the same file atomically
instead of adding a second one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from cdhelper import documents
from cdhelper import plan as plan_file
from cdhelper.errors import CdhelperError
from cdhelper.inbox.dispatchers.base import (
    DispatchOutcome,
    DispatchRequest,
    DispatchType,
    SecretReader,
    Status,
)


class PlansDispatcher:
    def __init__(self, directory: str) -> None:
        self.directory = directory

    def filename(self, request: DispatchRequest) -> str:
        stamp = request.plan.created_at.strftime("%Y%m%dT%H%M%SZ")
        return os.path.join(
            self.directory, f"{request.environment}-{stamp}-{request.batch_id}.yaml"
        )

    def dispatch(self, request: DispatchRequest) -> DispatchOutcome:
        path = self.filename(request)
        try:
            os.makedirs(self.directory, exist_ok=True)
            documents.write_atomic(path, plan_file.dumps(request.plan))
        except OSError as exc:
            # a full disk or a missing mount may pass: retry within the budget
            return DispatchOutcome(Status.RETRY, f"cannot write {path}: {exc.strerror}")
        except CdhelperError as exc:
            return DispatchOutcome(Status.RETRY, str(exc))
        return DispatchOutcome(Status.DONE, f"wrote {path}", record={"file": path})


def build(entry: Mapping[str, Any], directory: str, secret: SecretReader) -> PlansDispatcher:
    return PlansDispatcher(os.path.normpath(os.path.join(directory, entry["dir"])))


TYPE = DispatchType(name="plans", build=build)
