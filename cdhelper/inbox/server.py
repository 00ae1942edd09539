"""``cdhelper serve``: assemble the inbox from its configuration and run it under uvicorn."""

from __future__ import annotations

import os

import uvicorn

from cdhelper.inbox import config as configuration
from cdhelper.inbox import log
from cdhelper.inbox.app import Inbox, create_app
from cdhelper.inbox.metrics import Metrics
from cdhelper.inbox.store import Store
from cdhelper.inbox.worker import Worker


def serve(config_path: str, listen: tuple[str, int] | None = None) -> None:
    """Run until SIGINT or SIGTERM. Configuration errors are raised before anything starts."""
    config = configuration.load(config_path)
    dispatchers = configuration.build_dispatchers(config)
    os.makedirs(config.state, exist_ok=True)
    store = Store(config.database)
    metrics = Metrics()
    worker = Worker(config, store, dispatchers, metrics)
    host, port = listen or config.listen
    for source in config.sources:
        if source.insecure and source.token is None and source.secret is None:
            log.emit(
                "warning",
                source=source.name,
                message="insecure: true: this source accepts deliveries from anyone",
            )
    log.emit(
        "start",
        listen=f"{host}:{port}",
        state=config.database,
        sources=[s.name for s in config.sources],
        environments=[e.name for e in config.environments],
    )
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(Inbox(config, store, worker, metrics)),
            host=host,
            port=port,
            access_log=False,
            log_config=log.UVICORN_LOGGING,
            server_header=False,
            lifespan="on",
            # "auto": httptools and uvloop (installed with cdhelper) where they are available
        )
    )
    try:
        server.run()
    finally:
        store.close()
