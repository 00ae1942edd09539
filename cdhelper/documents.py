"""Reading, validating and writing the documents cdhelper consumes and produces.

Every input crosses this boundary once: read (a path, or ``-`` for stdin), parsed
(JSON or YAML), validated against its JSON Schema from ``schemas/``. Every problem is
reported with its JSON path in one :class:`~cdhelper.errors.InputError`.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cdhelper import fastschema, parsers, yamlfile
from cdhelper.errors import InputError
from cdhelper.values import shown

if TYPE_CHECKING:
    import jsonschema.protocols
    from jsonschema.exceptions import ValidationError

STDIN = "-"
_MAX_SHOWN = 120


def read_text(path: str) -> str:
    """Read a whole input file (``-`` reads stdin) as UTF-8, naming the offset of a bad byte."""
    return decode(read_bytes(path), display_name(path))


def read_bytes(path: str) -> bytes | str:
    """Read a whole input file (``-`` reads stdin): bytes (or text, from a text-only stdin)."""
    where = display_name(path)
    try:
        if path == STDIN:
            stream = getattr(sys.stdin, "buffer", None)
            data: bytes | str = stream.read() if stream is not None else sys.stdin.read()
        else:
            with open(path, "rb") as handle:
                data = handle.read()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, expected a file") from None
    except OSError as exc:
        raise InputError(f"{where}: cannot read: {exc.strerror or exc}") from None
    return data


def decode(data: bytes | str, where: str) -> str:
    """UTF-8 text, or an InputError naming the offset of the first bad byte."""
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{where}: not valid UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start}"
        ) from None


def display_name(path: str) -> str:
    return "<stdin>" if path == STDIN else path


def parse_json(text: str, where: str) -> Any:
    """Strict JSON (no NaN, no repeated keys, bounded depth): see :mod:`cdhelper.parsers`."""
    return parsers.loads_json(text, where)


def parse_yaml(text: str, where: str) -> Any:
    """The JSON subset of YAML, without anchors or aliases: see :mod:`cdhelper.yamlfile`."""
    return yamlfile.loads(text, where)


def dump_yaml(data: Any) -> str:
    """Deterministic YAML: keys in the order the caller built them, block style."""
    return yamlfile.dump(data)


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False) + "\n"


@cache
def load_schema(name: str) -> dict[str, Any]:
    """A schema shipped in ``schemas/`` (installed as the ``cdhelper.schemas`` package)."""
    filename = f"{name}.schema.json"
    try:
        text = resources.files("cdhelper.schemas").joinpath(filename).read_text("utf-8")
    except ModuleNotFoundError:
        # Run from a source checkout (python -m cdhelper in the repository): the schemas
        # sit beside the package instead of inside it.
        text = (Path(__file__).resolve().parent.parent / "schemas" / filename).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def schema_errors(instance: Any, schema_name: str, base: str = "$") -> list[str]:
    """How ``instance`` fails the schema, as ``<json path>: <what is wrong>``, best first.

    At most :data:`~cdhelper.parsers.MAX_PROBLEMS` are listed, then how many more.
    A compiled validator answers first (see :mod:`cdhelper.fastschema`); only a document
    it does not pass meets ``jsonschema``, which explains every problem with its path.
    """
    if fastschema.passes(_compiled_validator(schema_name), instance):
        return []
    from jsonschema.exceptions import relevance  # noqa: PLC0415 (only to explain a failure)

    validator = _validator(schema_name)
    return parsers.bounded(
        validator.iter_errors(instance),
        lambda error: f"{json_path(base, error.absolute_path)}: {_describe(error)}",
        order=lambda error: _sort_key(error, relevance),
    )


def validate(instance: Any, schema_name: str, where: str, what: str, base: str = "$") -> None:
    """Check the tree (see :func:`parsers.check_tree`), then the schema: one InputError.

    Files were checked when parsed; live answers (Swarmpit's JSON, the Engine's through
    docker-py) meet the same rules here, so a lone surrogate in a service name is refused
    with its path instead of breaking when a plan is written.
    """
    parsers.check_tree(instance, where, "JSON", base)
    problems = schema_errors(instance, schema_name, base)
    if problems:
        raise InputError(f"{where}: not a valid {what}", problems)


json_path = parsers.json_path


@cache
def _compiled_validator(schema_name: str) -> fastschema.Compiled | None:
    return fastschema.compile_schema(load_schema(schema_name))


@cache
def _validator(schema_name: str) -> jsonschema.protocols.Validator:
    """The full validator, built on first need: jsonschema costs ~40 ms to import."""
    import jsonschema  # noqa: PLC0415
    import jsonschema.validators  # noqa: PLC0415

    extended = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
        jsonschema.Draft202012Validator, {"pattern": _pattern}
    )
    validator: jsonschema.protocols.Validator = extended(load_schema(schema_name))
    return validator


def _pattern(
    validator: jsonschema.protocols.Validator, pattern: str, instance: Any, schema: Any
) -> Iterator[ValidationError]:
    """``pattern`` as JSON Schema means it (ECMA 262): a final ``$`` is the end of the text.

    Python's ``$`` also matches before a final newline, so ``"v1\\n"`` would pass
    ``^[a-z0-9]+$`` and only fail later, when Docker refuses it.
    """
    from jsonschema.exceptions import ValidationError  # noqa: PLC0415

    if isinstance(instance, str) and not _compiled(pattern).search(instance):
        yield ValidationError(f"{shown(instance)} does not match {pattern!r}")


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def _sort_key(error: ValidationError, relevance: Any) -> tuple[Any, ...]:
    path = tuple((0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in error.absolute_path)
    return (path, relevance(error))


def _describe(error: ValidationError) -> str:
    """What is wrong, without dumping a possibly huge instance into the message."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        from jsonschema.exceptions import relevance  # noqa: PLC0415

        best = sorted(error.context, key=relevance)[0]
        return _describe(best)
    if error.validator == "type":
        expected = error.validator_value
        wanted = " or ".join(expected) if isinstance(expected, list) else str(expected)
        return f"expected {wanted}, got {_json_type(error.instance)}"
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        return error.message.split(" (")[0] if len(error.message) > _MAX_SHOWN else error.message
    if error.validator == "const":
        return f"expected {json.dumps(error.validator_value)}, got {_short(error.instance)}"
    if error.validator == "enum":
        values: list[Any] = error.schema.get("enum", []) if isinstance(error.schema, dict) else []
        allowed = ", ".join(json.dumps(v) for v in values)
        return f"expected one of {allowed}, got {_short(error.instance)}"
    message = error.message
    return message if len(message) <= _MAX_SHOWN else message[: _MAX_SHOWN - 1] + "…"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _short(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return _json_type(value)
    return shown(value, 60, quote=json.dumps) if isinstance(value, str) else json.dumps(value)


def check_writable(path: str) -> None:
    """Fail before any work when ``path`` cannot be written (its folder is missing, say)."""
    if path == STDIN:
        return
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise InputError(f"{path}: cannot write: no such directory {directory}")
    if os.path.isdir(path):
        raise InputError(f"{path}: cannot write: is a directory")
    if not os.access(directory, os.W_OK):
        raise InputError(f"{path}: cannot write: permission denied in {directory}")


def same_file(one: str, other: str) -> bool:
    """Whether two paths name one file (also through links), existing or not."""
    if os.path.realpath(one) == os.path.realpath(other):
        return True
    try:
        return os.path.samefile(one, other)
    except OSError:
        return False


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` to ``path`` so readers see the old file or the whole new one, never half."""
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".cdhelper-", dir=directory)
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror}") from None
    try:
        # mkstemp makes 0600; a plan or report is an ordinary artifact, so honour the umask.
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        os.unlink(tmp)
        raise InputError(f"{path}: cannot write: {exc.strerror}") from None
