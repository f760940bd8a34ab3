"""Study configurations: frozen dataclasses with a ``quick`` preset, TOML files and overrides.

A study's configuration is a frozen dataclass deriving from :class:`StudyConfig` (which
contributes ``trials`` and ``seed``). Every field has a default and a type annotation drawn
from ``int``, ``float``, ``bool``, ``str``, ``Literal[...]`` and ``tuple[T, ...]`` of those;
the annotation is what ``--set key=value`` and TOML files are checked against.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import sys
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "ConfigError",
    "StudyConfig",
    "apply_overrides",
    "config_from_toml",
    "config_hash",
    "config_to_dict",
    "config_to_toml",
    "parse_assignments",
]

C = TypeVar("C", bound="StudyConfig")


class ConfigError(ValueError):
    """A configuration key or value was refused; the message is meant for the command line."""


@dataclasses.dataclass(frozen=True)
class StudyConfig:
    """Base class of study configurations.

    Attributes
    ----------
    trials : int
        Independent trials per grid cell. Raising it and re-running resumes the study: the
        earlier trials keep their seeds and are not recomputed.
    seed : int
        The root seed from which every task's seed is derived (see :mod:`.seeds`).
    """

    trials: int = 100
    seed: int = 0

    def __post_init__(self) -> None:
        if self.trials < 1:
            raise ValueError(f"trials must be >= 1, got {self.trials}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")

    #: The named presets of `preset` beside the defaults: each is a classmethod of that name
    #: (``quick`` everywhere; a study adds e.g. ``paper`` and lists it here).
    PRESETS: typing.ClassVar[tuple[str, ...]] = ("quick",)

    @classmethod
    def quick(cls: type[C]) -> C:
        """Return the quick preset (a few seconds); studies override this."""
        return cls()

    @classmethod
    def preset(cls: type[C], name: str) -> C:
        """The preset `name`: ``"default"`` (the field defaults) or one of `PRESETS`."""
        if name == "default":
            return cls()
        if name not in cls.PRESETS:
            raise ValueError(
                f"preset must be one of {('default', *cls.PRESETS)}, got {name!r}"
            )
        return getattr(cls, name)()


def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin is tuple:
        item = _type_name(typing.get_args(tp)[0]).removeprefix("an ").removeprefix("a ")
        return f"a list of {item}s (e.g. 1,2,3 or [1, 2, 3])"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    return {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _parse_text(text: str) -> Any:
    """Read a command-line value as a TOML value, or as a bare string if it is not one."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check `value` against the annotation `tp`; return it converted (lists -> tuples)."""
    origin = typing.get_origin(tp)
    bad = ConfigError(f"bad value for {key!r}: {value!r} is not {_type_name(tp)}")
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key)
            except ConfigError:
                pass
        raise bad
    if origin is Literal:
        if isinstance(value, str) and value not in typing.get_args(tp):
            raise bad
        if value in typing.get_args(tp) and type(value) in {type(a) for a in typing.get_args(tp)}:
            return value
        raise bad
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) != 2 or args[1] is not Ellipsis:
            raise TypeError(f"{key}: only homogeneous tuple[T, ...] fields are supported")
        items = value
        if isinstance(items, str):
            items = [_parse_text(part.strip()) for part in items.split(",") if part.strip()]
        elif not isinstance(items, (list, tuple)):
            items = [items]
        if len(items) == 0:
            raise ConfigError(f"bad value for {key!r}: the list is empty")
        try:
            return tuple(_coerce(v, args[0], key) for v in items)
        except ConfigError:
            raise bad from None
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise bad
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise bad
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(float(value)):
                raise bad
            return float(value)
        raise bad
    if tp is str:
        if isinstance(value, str):
            return value
        raise bad
    raise TypeError(f"{key}: unsupported field type {tp!r}")


def apply_overrides(config: C, overrides: Mapping[str, Any], *, source: str = "--set") -> C:
    """Return a copy of `config` with some fields replaced, each checked against its type.

    Parameters
    ----------
    config : StudyConfig
        The configuration to start from.
    overrides : mapping of str to object
        New values. Strings are read as TOML values (``40``, ``1e-4``, ``true``,
        ``[20, 40]``), falling back to the bare string; for list fields a comma-separated
        string ``20,40,60`` is also accepted.
    source : str
        Where the overrides come from, for error messages.

    Returns
    -------
    StudyConfig
        A new configuration of the same class.

    Raises
    ------
    ConfigError
        If a key is unknown (the message lists the valid keys), a value has the wrong type, or
        the configuration's own checks (``__post_init__``) refuse the result.
    """
    fields = _field_types(type(config))
    changes = {}
    for key, raw in overrides.items():
        if key not in fields:
            valid = ", ".join(fields)
            raise ConfigError(f"unknown key {key!r} in {source}; valid keys: {valid}")
        value = _parse_text(raw) if isinstance(raw, str) and fields[key] is not str else raw
        changes[key] = _coerce(value, fields[key], key)
    try:
        return dataclasses.replace(config, **changes)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid configuration ({source}): {exc}") from None


def parse_assignments(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """Split ``key=value`` strings (from ``--set``) into a dict, refusing malformed ones.

    Parameters
    ----------
    items : list of str
        Each of the form ``key=value``.

    Returns
    -------
    dict of str to str
        The keys and their (unparsed) values; a later assignment of a key wins.
    """
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set expects key=value, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def config_from_toml(config: C, path: str | Path) -> C:
    """Return `config` updated from a TOML file of top-level ``key = value`` pairs.

    Parameters
    ----------
    config : StudyConfig
        The configuration to start from (defaults or the quick preset).
    path : str or path-like
        The TOML file.

    Returns
    -------
    StudyConfig
        The updated configuration.
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    for key, value in data.items():
        if isinstance(value, dict):
            raise ConfigError(f"config file {path}: tables ([{key}]) are not supported")
    return apply_overrides(config, data, source=str(path))


def config_to_dict(config: StudyConfig) -> dict[str, Any]:
    """Return the configuration as a dict of plain JSON/TOML values (tuples become lists)."""
    out = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def config_hash(study: str, config: StudyConfig) -> str:
    """Return the identity of a study's configuration, ignoring ``trials``.

    Two runs with the same hash compute the same tasks from the same seeds, so one can resume
    the other; ``trials`` is left out because adding trials only adds tasks.
    """
    data = config_to_dict(config)
    data.pop("trials", None)
    text = json.dumps({"study": study, "config": data}, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} to TOML")


def config_to_toml(config: StudyConfig, *, header: str = "") -> str:
    """Return TOML text that :func:`config_from_toml` reads back into `config`.

    ``None`` values have no TOML form; they are written as comments.
    """
    lines = [f"# {line}" for line in header.splitlines()]
    for key, value in config_to_dict(config).items():
        lines.append(f"# {key} = None" if value is None else f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"
