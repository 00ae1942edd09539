"""What a dispatcher is: how the inbox hands one environment's plan onward.

A dispatcher type (``plans``, ``apply``, ``jenkins``, ``github``) is one module in this
folder defining a :class:`DispatchType`, plus its line in
:data:`cdhelper.inbox.dispatchers.DISPATCH_TYPES`. The inbox retries an attempt that
answers ``RETRY`` with backoff, until the environment's retry budget is spent.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cdhelper.plan import Plan


class Mode(enum.Enum):
    WEBHOOK = "webhook"  # a batch of deliveries
    SMART = "smart"  # POST /smart/<environment> or smart_every


@dataclass(frozen=True)
class DispatchRequest:
    environment: str  # the environment's name: Jenkins' TARGET, GitHub's input environment
    mode: Mode
    batch_id: str
    payloads: Sequence[Any]  # webhook mode: the batch's payloads as received (JSON values)
    plan: Plan  # the plan the inbox made for this environment (has actions)


class Status(enum.Enum):
    DONE = "done"  # confirmed by the receiver: never sent again
    RETRY = "retry"  # not confirmed, may be retried (connection error, 5xx, 429)
    FAILED = "failed"  # refused for good (other 4xx, a payload too large, ...)


@dataclass(frozen=True)
class DispatchOutcome:
    status: Status
    detail: str  # for the store, the log and `inbox status`: never a secret
    retry_after: float | None = None  # seconds, when the receiver said (429 Retry-After)
    record: Mapping[str, Any] | None = None  # kept in the store with the attempt (apply's report)
    # Not before this time (epoch seconds): outside a deploy window, the dispatch waits for
    # the next one, whatever its retry budget says.
    not_before: float | None = None


class Dispatcher(Protocol):
    def dispatch(self, request: DispatchRequest) -> DispatchOutcome:
        """Hand the plan on once; never raise for a receiver's answer or a network fault."""
        ...


# Reads a secret named in a config entry: secret(entry, "token") reads entry["token_env"]
# (an environment variable) or entry["token_file"] (a file); None when neither is given.
SecretReader = Callable[[Mapping[str, Any], str], "str | None"]


@dataclass(frozen=True)
class DispatchType:
    name: str  # the config's dispatch.type
    # (the environment's dispatch entry, the inbox's config directory, the secret reader).
    # The inbox adds ``services`` to the entry: the environment's services entry (a file
    # path there is absolute). build raises ConfigError for an entry it cannot serve.
    build: Callable[[Mapping[str, Any], str, SecretReader], Dispatcher]
