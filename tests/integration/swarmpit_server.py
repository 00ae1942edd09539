"""A small server that speaks Swarmpit's API shapes in front of a real Docker daemon.

Swarmpit itself cannot run here (its images come from Docker Hub). This server answers
what cdhelper uses, as Swarmpit does (REFERENCE.md §7): ``GET /api/services`` (and
``GET /api/services/{id}``) in the service mapper's shape, ``GET /api/services/{id}/tasks``
in the task mapper's shape (``->task`` in ``src/clj/swarmpit/docker/engine/mapper/inbound.clj``),
``POST /api/services/{id}/redeploy?tag=T``, which re-resolves the tag's digest from the
registry, pins it, bumps ForceUpdate and updates the service, and
``POST /api/services/{id}/rollback``, which sends the service's ``PreviousSpec`` to Docker as
an ordinary update (``rollback-service`` in ``src/clj/swarmpit/api.clj``).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import docker
import requests

ACCEPT = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
    ]
)


def swarmpit_task(raw: dict[str, Any], service_name: str) -> dict[str, Any]:
    image, _, digest = raw["Spec"]["ContainerSpec"]["Image"].partition("@")
    return {
        "id": raw["ID"],
        "taskName": f"{service_name}.{raw.get('Slot', raw['ID'])}",
        "version": raw["Version"]["Index"],
        "createdAt": raw.get("CreatedAt"),
        "updatedAt": raw.get("UpdatedAt"),
        "repository": {"image": image, "imageDigest": digest or None},
        "state": raw["Status"]["State"],
        "status": {"error": raw["Status"].get("Err")},
        "desiredState": raw.get("DesiredState"),
        "serviceName": service_name,
        "nodeId": raw.get("NodeID"),
    }


def swarmpit_service(raw: dict[str, Any], tasks: list[dict[str, Any]]) -> dict[str, Any]:
    spec = raw["Spec"]
    labels = spec.get("Labels") or {}
    image, _, digest = spec["TaskTemplate"]["ContainerSpec"]["Image"].partition("@")
    name, _, tag = image.rpartition(":") if ":" in image else (image, "", "")
    mode = "global" if "Global" in spec.get("Mode", {}) else "replicated"
    running = [t for t in tasks if t["Status"]["State"] == "running"]
    update = raw.get("UpdateStatus") or {}
    return {
        "id": raw["ID"],
        "version": raw["Version"]["Index"],
        "createdAt": raw.get("CreatedAt"),
        "updatedAt": raw.get("UpdatedAt"),
        "repository": {"name": name, "tag": tag, "image": image, "imageDigest": digest or None},
        "serviceName": spec["Name"],
        "mode": mode,
        "stack": labels.get("com.docker.stack.namespace"),
        "replicas": spec.get("Mode", {}).get("Replicated", {}).get("Replicas"),
        "state": "running" if running else "not running",
        "status": {
            "tasks": {"running": len(running), "total": len(tasks)},
            "update": update.get("State"),
            "message": update.get("Message"),
        },
        "labels": [
            {"name": k, "value": v}
            for k, v in sorted(labels.items())
            if not k.startswith(("swarmpit", "com.docker"))
        ],
        "deployment": {
            "autoredeploy": labels.get("swarmpit.service.deployment.autoredeploy") == "true",
            "forceUpdate": spec["TaskTemplate"].get("ForceUpdate", 0),
            "rollbackAllowed": raw.get("PreviousSpec") is not None,
        },
    }


class SwarmpitServer:
    def __init__(self, docker_host: str, token: str) -> None:
        self.api = docker.APIClient(base_url=docker_host, version="auto")
        self.token = token
        self.redeploys: list[tuple[str, str]] = []
        self.rollbacks: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status: int, body: Any = None) -> None:
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self) -> bool:
                if self.headers.get("Authorization") == f"Bearer {server.token}":
                    return True
                self._reply(401, {"error": "Invalid token"})
                return False

            def do_GET(self) -> None:
                if not self._authorised():
                    return
                path = urlsplit(self.path).path
                if path == "/api/services":
                    self._reply(200, server.services())
                    return
                segments = path.strip("/").split("/")
                if segments[:2] == ["api", "services"] and segments[3:] == ["tasks"]:
                    self._reply(200, server.tasks(segments[2]))
                    return
                if len(segments) == 3 and segments[:2] == ["api", "services"]:
                    found = [s for s in server.services() if s["id"] == segments[2]]
                    if found:
                        self._reply(200, found[0])
                    else:
                        self._reply(404, {"error": "Service not found"})
                    return
                self._reply(404, {"error": "not found"})

            def do_POST(self) -> None:
                if not self._authorised():
                    return
                parts = urlsplit(self.path)
                segments = parts.path.strip("/").split("/")
                if (
                    len(segments) != 4
                    or segments[:2] != ["api", "services"]
                    or segments[3] not in ("redeploy", "rollback")
                ):
                    self._reply(404, {"error": "not found"})
                    return
                tag = parse_qs(parts.query).get("tag", [None])[0]
                try:
                    if segments[3] == "rollback":
                        server.rollback(segments[2])
                    else:
                        server.redeploy(segments[2], tag)
                except docker.errors.NotFound:
                    self._reply(404, {"error": "Service not found"})
                    return
                except docker.errors.APIError as exc:
                    self._reply(500, {"error": str(exc.explanation)})
                    return
                self._reply(202)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def services(self) -> list[dict[str, Any]]:
        return [
            swarmpit_service(raw, self.api.tasks(filters={"service": raw["ID"]}))
            for raw in self.api.services()
        ]

    def tasks(self, service_id: str) -> list[dict[str, Any]]:
        try:
            name = self.api.inspect_service(service_id)["Spec"]["Name"]
        except docker.errors.NotFound:
            return []
        return [swarmpit_task(t, name) for t in self.api.tasks(filters={"service": service_id})]

    def rollback(self, service_id: str) -> None:
        """As Swarmpit does: the PreviousSpec, sent as an ordinary update of the service."""
        raw = self.api.inspect_service(service_id)
        response = self.api._post_json(
            self.api._url("/services/{0}/update", service_id),
            data=raw.get("PreviousSpec"),
            params={"version": raw["Version"]["Index"]},
        )
        self.api._raise_for_status(response)
        self.rollbacks.append(service_id)

    def redeploy(self, service_id: str, tag: str | None) -> None:
        raw = self.api.inspect_service(service_id)
        spec = raw["Spec"]
        image = spec["TaskTemplate"]["ContainerSpec"]["Image"].partition("@")[0]
        name = image.rpartition(":")[0] if tag else image
        reference = f"{name}:{tag}" if tag else image
        host, _, path = reference.partition("/")
        repository, _, ref_tag = path.rpartition(":")
        answer = requests.head(
            f"http://{host}/v2/{repository}/manifests/{ref_tag}",
            headers={"Accept": ACCEPT},
            timeout=10,
        )
        answer.raise_for_status()
        template = dict(spec["TaskTemplate"])
        template["ContainerSpec"] = {
            **template["ContainerSpec"],
            "Image": f"{reference}@{answer.headers['Docker-Content-Digest']}",
        }
        template["ForceUpdate"] = template.get("ForceUpdate", 0) + 1
        self.api.update_service(
            service_id,
            raw["Version"]["Index"],
            task_template=template,
            name=spec["Name"],
            labels=spec.get("Labels"),
            mode=spec.get("Mode"),
            update_config=spec.get("UpdateConfig"),
            rollback_config=spec.get("RollbackConfig"),
            endpoint_spec=spec.get("EndpointSpec"),
        )
        self.redeploys.append((service_id, tag or ""))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.api.close()
