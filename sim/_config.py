"""Frozen, validated configuration dataclasses shared by every physical stage.

Each field declares its allowed range (or allowed choices) and its unit through
:func:`param`; :class:`Config` checks them on construction, so a bad value fails
where it is made, with the allowed range in the message. Configs round-trip to
plain dicts, JSON and TOML, and unknown keys are rejected (a typo must not be
silently ignored).
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
import typing
from pathlib import Path
from typing import Any, Self

import tomli_w

__all__ = ["Config", "param", "ConfigError"]


class ConfigError(ValueError):
    """A configuration value is missing, unknown, of the wrong type or out of range."""


def param(
    default: Any,
    *,
    units: str = "1",
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
    choices: tuple[Any, ...] | None = None,
    doc: str = "",
) -> Any:
    """Declare a config field with its unit and allowed range.

    Parameters
    ----------
    default
        Default value (immutable: tuples, not lists).
    units
        SI unit string, shown in error messages and docs.
    lo, hi
        Inclusive bounds unless ``lo_open``/``hi_open``. Applied element-wise to tuples.
    choices
        Allowed values for string fields (one registry gives both the error and the docs).
    doc
        One-line meaning.
    """
    meta = {"units": units, "lo": lo, "hi": hi, "lo_open": lo_open, "hi_open": hi_open,
            "choices": choices, "doc": doc}
    return dataclasses.field(default=default, metadata=meta)


def _range_text(meta: dict) -> str:
    lo, hi = meta["lo"], meta["hi"]
    left = "(" if meta["lo_open"] else "["
    right = ")" if meta["hi_open"] else "]"
    lo_s = "-inf" if lo is None else f"{lo:g}"
    hi_s = "inf" if hi is None else f"{hi:g}"
    return f"{left}{lo_s}, {hi_s}{right} {meta['units']}"


@dataclasses.dataclass(frozen=True)
class Config:
    """Base class: subclasses are ``@dataclass(frozen=True)`` with :func:`param` fields."""

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            hint = hints.get(f.name)
            if isinstance(value, list):  # JSON/TOML give lists; store tuples (hashable, frozen)
                value = tuple(value)
                object.__setattr__(self, f.name, value)
            if isinstance(value, dict) and isinstance(hint, type) and issubclass(hint, Config):
                value = hint.from_dict(value)
                object.__setattr__(self, f.name, value)
            self._check_field(f, value, hint)
        self.validate()

    def validate(self) -> None:
        """Cross-field checks; subclasses override and raise :class:`ConfigError`."""

    def _check_field(self, f: dataclasses.Field, value: Any, hint: Any) -> None:
        meta = f.metadata
        name = f"{type(self).__name__}.{f.name}"
        if isinstance(value, Config):
            return
        if meta.get("choices") is not None:
            if value not in meta["choices"]:
                allowed = ", ".join(repr(c) for c in meta["choices"])
                raise ConfigError(f"{name} = {value!r} is not allowed; choose one of: {allowed}")
            return
        values = value if isinstance(value, tuple) else (value,)
        for v in values:
            if isinstance(v, bool) or v is None or isinstance(v, str):
                continue
            if not isinstance(v, (int, float)):
                raise ConfigError(f"{name} must be a number, got {type(v).__name__} {v!r}")
            if math.isnan(v):
                raise ConfigError(f"{name} is NaN; allowed range {_range_text(meta)}")
            lo, hi = meta.get("lo"), meta.get("hi")
            bad_lo = lo is not None and (v <= lo if meta["lo_open"] else v < lo)
            bad_hi = hi is not None and (v >= hi if meta["hi_open"] else v > hi)
            if bad_lo or bad_hi:
                raise ConfigError(f"{name} = {v!r} is out of range; allowed {_range_text(meta)}")

    # ----------------------------------------------------------------- round trip
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, Config):
                v = v.to_dict()
            elif isinstance(v, tuple):
                v = [x.to_dict() if isinstance(x, Config) else x for x in v]
            out[f.name] = v
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Self:
        data = dict(data or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"unknown key(s) for {cls.__name__}: {', '.join(unknown)}; "
                f"allowed keys: {', '.join(sorted(known))}"
            )
        return cls(**data)

    def replace(self, **changes: Any) -> Self:
        """Return a copy with ``changes`` applied (validated again)."""
        return self.from_dict({**self.to_dict(), **changes})

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Self:
        return cls.from_dict(json.loads(text))

    def to_toml(self) -> str:
        return tomli_w.dumps(_drop_none(self.to_dict()))

    @classmethod
    def from_toml(cls, text: str) -> Self:
        return cls.from_dict(tomllib.loads(text))

    @classmethod
    def from_file(cls, path: str | Path) -> Self:
        """Read a ``.toml`` or ``.json`` file; errors name the file."""
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        text = path.read_text()
        try:
            if path.suffix.lower() == ".toml":
                return cls.from_toml(text)
            if path.suffix.lower() == ".json":
                return cls.from_json(text)
        except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
            raise ConfigError(f"cannot parse {path}: {exc}") from exc
        raise ConfigError(f"config file {path} must end in .toml or .json")


def _drop_none(d: Any) -> Any:
    if isinstance(d, dict):
        return {k: _drop_none(v) for k, v in d.items() if v is not None}
    return d
