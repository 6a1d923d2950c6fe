"""Bot API spec loading and request/response validation against it."""

# The vendored `bot_api_spec.json` beside this file is a trimmed copy of
# shared/telegram/bot-api-10.1.json (Bot API 10.1, scraped from core.telegram.org by the public
# project PaulSonOfLars/telegram-bot-api-spec). Only `methods` and `types` are kept, so CI never
# depends on where shared/ lives. Regenerate with:
#   python -m sandbox.spec /path/to/shared/telegram/bot-api-10.1.json
# Set CIVICLOOP_BOT_API_SPEC to validate against another spec file instead.

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

VENDORED = Path(__file__).with_name("bot_api_spec.json")
PRIMITIVES = frozenset({"String", "Integer", "Float", "Boolean", "True", "InputFile"})
_INT_RE = re.compile(r"-?\d+")
_MUST_BE = re.compile(r"(?:must be|always) [“\"]?([a-z_]+)")
# Fields of an InlineKeyboardButton that are not its action (per the type's description).
_BUTTON_NON_ACTION = frozenset({"text", "icon_custom_emoji_id", "style"})


class ApiError(Exception):
    """A Bot API error answer: error_code, description and optional parameters."""

    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def to_dict(self) -> dict[str, Any]:
        """The JSON body Telegram sends for this error."""
        body: dict[str, Any] = {
            "ok": False, "error_code": self.code, "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(description: str, parameters: dict[str, Any] | None = None) -> ApiError:
    """A 400 'Bad Request: ...' error."""
    return ApiError(400, f"Bad Request: {description}", parameters)


@dataclass
class Upload:
    """A file uploaded in a multipart request."""

    name: str
    filename: str | None
    content_type: str | None
    data: bytes


class _Mismatch(Exception):
    """The value is not of this candidate type; try the next one."""


def trim(full: Mapping[str, Any]) -> dict[str, Any]:
    """Keep only what validation needs from the scraped spec."""

    def fields(entry: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [
            {k: f[k] for k in ("name", "types", "required", "description")}
            for f in entry.get("fields", [])
        ]

    methods = {
        name: {"name": name, "fields": fields(m), "returns": m.get("returns", [])}
        for name, m in full["methods"].items()
    }
    types: dict[str, Any] = {}
    for name, t in full["types"].items():
        entry: dict[str, Any] = {"name": name, "fields": fields(t)}
        if t.get("subtypes"):
            entry["subtypes"] = t["subtypes"]
        if name == "InlineKeyboardButton":
            entry["description"] = t.get("description", [])
        types[name] = entry
    return {"version": full.get("version"), "methods": methods, "types": types}


def find_spec_path() -> Path:
    """The spec file to load: $CIVICLOOP_BOT_API_SPEC, else the vendored trimmed copy."""
    env = os.environ.get("CIVICLOOP_BOT_API_SPEC")
    if env:
        return Path(env)
    if VENDORED.exists():
        return VENDORED
    # The vendored copy should always exist; fall back to the shared folder near the repo.
    for base in [Path(__file__).resolve(), *Path(__file__).resolve().parents]:
        for cand in (base / "shared/telegram/bot-api-10.1.json",
                     base.parent / "shared/telegram/bot-api-10.1.json"):
            if cand.exists():
                return cand
    raise FileNotFoundError(
        f"Bot API spec not found: {VENDORED} is missing and no shared/telegram/bot-api-10.1.json "
        "was found; set CIVICLOOP_BOT_API_SPEC to its path"
    )


@lru_cache(maxsize=4)
def load_spec(path: str | None = None) -> Spec:
    """Load (and cache) the spec from path or the default location."""
    with open(path or find_spec_path(), encoding="utf-8") as fh:
        return Spec(json.load(fh))


class Spec:
    """Method and type definitions with validators for requests and responses."""

    def __init__(self, data: Mapping[str, Any]):
        self.methods: dict[str, dict[str, Any]] = {
            name.lower(): m for name, m in data["methods"].items()
        }
        self.types: dict[str, dict[str, Any]] = dict(data["types"])
        self.version = data.get("version")

    def method_name(self, name: str) -> str | None:
        """The canonical (camelCase) name of a method, case-insensitively, or None."""
        m = self.methods.get(name.lower())
        return m["name"] if m else None

    # ---- requests -------------------------------------------------------------------------

    def validate_call(
        self, method: str, params: Mapping[str, Any], uploads: Mapping[str, Upload]
    ) -> dict[str, Any]:
        """Check a call's parameters and return them converted to Python values."""
        m = self.methods[method.lower()]
        fields = {f["name"]: f for f in m["fields"]}
        for key in params:
            if key not in fields:
                raise bad_request(f"unknown parameter {key}")
        out: dict[str, Any] = {}
        for name, f in fields.items():
            value: Any = params.get(name)
            if value is None and name in uploads:
                value = uploads[name]
            if value is None or (value == "" and f["required"]):
                if f["required"]:
                    raise bad_request(_empty_message(name))
                continue
            out[name] = self._convert_top(value, f["types"], name)
        return out

    def _convert_top(self, value: Any, types: list[str], where: str) -> Any:
        if isinstance(value, Upload):
            if "InputFile" in types:
                return value
            raise bad_request(f'field "{where}" must not be a file')
        has_object = any(t.startswith("Array of ") or t not in PRIMITIVES for t in types)
        if isinstance(value, str) and has_object and "String" not in types:
            # Form and multipart bodies carry objects and arrays as JSON-serialized strings.
            try:
                value = json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {where} JSON object") from None
        return self._convert(value, types, where, lax=True)

    def _convert(self, value: Any, types: list[str], where: str, lax: bool = False) -> Any:
        primitive = [t for t in types if t in PRIMITIVES]
        for t in primitive:
            try:
                return _coerce_primitive(value, t, lax)
            except _Mismatch:
                pass
        objects = [t for t in types if t not in PRIMITIVES]
        if objects:
            ranked = sorted(objects, key=lambda t: -self._score(value, t))
            first_error: ApiError | None = None
            for t in ranked:
                try:
                    return self._convert_one(value, t, where)
                except _Mismatch:
                    continue
                except ApiError as exc:
                    first_error = first_error or exc
            if first_error:
                raise first_error
        raise bad_request(f'field "{where}" must be of type {" or ".join(types)}')

    def _convert_one(self, value: Any, t: str, where: str) -> Any:
        if t.startswith("Array of "):
            if not isinstance(value, list):
                raise _Mismatch
            inner = t[len("Array of "):]
            return [self._convert(v, [inner], f"{where}[{i}]") for i, v in enumerate(value)]
        return self.validate_object(t, value, where)

    def _score(self, value: Any, t: str) -> int:
        """How well a value fits an object type; used to pick among union candidates."""
        while t.startswith("Array of "):
            if not isinstance(value, list) or not value:
                return 0
            value, t = value[0], t[len("Array of "):]
        if not isinstance(value, dict):
            return 0
        spec = self.types.get(t, {})
        if "subtypes" in spec:
            return max((self._score(value, s) for s in spec["subtypes"]), default=0)
        fields = spec.get("fields", [])
        disc = _discriminator(fields)
        if disc is not None and value.get("type") == disc:
            return 3
        if disc is not None and "type" in value:
            return 0
        names = {f["name"] for f in fields}
        if all(f["name"] in value for f in fields if f["required"]) and set(value) <= names:
            return 2
        return 1 if set(value) & names else 0

    def validate_object(self, type_name: str, value: Any, where: str) -> dict[str, Any]:
        """Validate a request object recursively: known fields only, required ones present."""
        if not isinstance(value, dict):
            raise _Mismatch
        spec = self.types.get(type_name)
        if spec is None:
            return value
        if "subtypes" in spec:
            best = max(spec["subtypes"], key=lambda s: self._score(value, s))
            return self.validate_object(best, value, where)
        fields = {f["name"]: f for f in spec.get("fields", [])}
        if not fields:
            return value
        for key in value:
            if key not in fields:
                raise bad_request(f'can\'t parse {where}: unknown field "{key}" in {type_name}')
        out: dict[str, Any] = {}
        for name, f in fields.items():
            v = value.get(name)
            if v is None:
                if f["required"]:
                    raise bad_request(f'can\'t parse {where}: field "{name}" of {type_name} '
                                      "is required")
                continue
            out[name] = self._convert(v, f["types"], f"{where}.{name}")
        disc = _discriminator(list(fields.values()))
        if disc is not None and out.get("type") != disc:
            raise bad_request(f'can\'t parse {where}: type must be "{disc}" for {type_name}')
        _extra_checks(type_name, out)
        return out

    # ---- responses ------------------------------------------------------------------------

    def check_output(self, type_name: str, value: Any, path: str = "") -> list[str]:
        """Problems with an object the sandbox returns: missing required or unknown fields."""
        path = path or type_name
        if type_name.startswith("Array of "):
            if not isinstance(value, list):
                return [f"{path}: expected a list"]
            inner = type_name[len("Array of "):]
            return [p for i, v in enumerate(value) for p in self.check_output(
                inner, v, f"{path}[{i}]")]
        if type_name in PRIMITIVES or type_name not in self.types:
            return []
        spec = self.types[type_name]
        if not isinstance(value, dict):
            return [f"{path}: expected an object of type {type_name}"]
        if "subtypes" in spec:
            results = [self.check_output(s, value, path) for s in spec["subtypes"]]
            return [] if any(not r for r in results) else min(results, key=len)
        fields = {f["name"]: f for f in spec.get("fields", [])}
        if not fields:
            return []
        problems = [f"{path}: unknown field {k!r}" for k in value if k not in fields]
        for name, f in fields.items():
            if name not in value:
                if f["required"]:
                    problems.append(f"{path}: missing required field {name!r}")
                continue
            types = [t for t in f["types"] if t not in PRIMITIVES]
            if types:
                problems += self.check_output(types[0], value[name], f"{path}.{name}")
        return problems

    def required_fields(self, type_name: str) -> list[dict[str, Any]]:
        """The required fields of a type (used to fill flags such as ChatMember rights)."""
        return [f for f in self.types[type_name].get("fields", []) if f["required"]]


def _discriminator(fields: list[dict[str, Any]]) -> str | None:
    """The literal a subtype's `type` field must hold ("must be photo"), if any."""
    for f in fields:
        if f["name"] == "type":
            m = _MUST_BE.search(f.get("description", ""))
            return m.group(1) if m else None
    return None


def _empty_message(name: str) -> str:
    if name == "text":
        return "message text is empty"
    return f"{name} is empty"


def _coerce_primitive(value: Any, t: str, lax: bool) -> Any:
    """Convert a primitive; `lax` accepts the string forms that form bodies use."""
    if t == "Integer":
        if isinstance(value, bool):
            raise _Mismatch
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if lax and isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
            return int(value)
        raise _Mismatch
    if t == "Float":
        if isinstance(value, bool):
            raise _Mismatch
        if isinstance(value, int | float):
            return float(value)
        if lax and isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise _Mismatch from None
        raise _Mismatch
    if t in ("Boolean", "True"):
        if isinstance(value, bool):
            return value
        if lax and isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return value.lower() in ("true", "1")
        raise _Mismatch
    if t == "String":
        if isinstance(value, str):
            return value
        if lax and isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        raise _Mismatch
    if t == "InputFile":
        if isinstance(value, Upload):
            return value
        raise _Mismatch
    raise _Mismatch


def _extra_checks(type_name: str, obj: dict[str, Any]) -> None:
    """Limits stated in type descriptions that the field list alone does not express."""
    if type_name == "InlineKeyboardButton":
        actions = [k for k in obj if k not in _BUTTON_NON_ACTION]
        if not actions:
            raise bad_request("can't parse inline keyboard button: Text buttons are unallowed "
                              "in the inline keyboard")
        if len(actions) > 1:
            raise bad_request("can't parse inline keyboard button: exactly one of "
                              f"{', '.join(sorted(actions))} must be used")
        data = obj.get("callback_data")
        if data is not None and not 1 <= len(data.encode("utf-8")) <= 64:
            raise bad_request("BUTTON_DATA_INVALID")
    elif type_name == "InlineKeyboardMarkup":
        if sum(len(row) for row in obj["inline_keyboard"]) > 100:
            raise bad_request("reply markup is too long")
    elif type_name == "ReplyKeyboardMarkup" and not any(obj["keyboard"]):
        raise bad_request("keyboard must be non-empty")


def main(argv: list[str]) -> int:
    """Regenerate the vendored trimmed spec from a full scraped spec file."""
    if len(argv) != 1:
        print("usage: python -m sandbox.spec /path/to/bot-api-10.1.json", file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as fh:
        full = json.load(fh)
    with open(VENDORED, "w", encoding="utf-8") as fh:
        json.dump(trim(full), fh, ensure_ascii=False, separators=(",", ":"))
    print(f"wrote {VENDORED} ({VENDORED.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
