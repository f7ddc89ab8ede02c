"""Setups: which rows of a dataset come from the same experiment, and refusing mixtures.

A *setup* is what a row's metrics and reward depend on besides the design: the env id, the
canonical ``gym.make`` keyword arguments, the simulator's fingerprint (name, version and
configuration: device, limits, back-end options), the workload's content key and the
objective (name, targets, weights, senses). Rows of schema version 2 carry each of these and
their hash, :func:`setup_id`, in the ``setup`` column.

Consumers that treat rows as samples of one function (proxy training and evaluation, the
lottery report) call :func:`require_one_setup`, which raises :class:`MixedSetupsError` listing
every field that differs, down to the keyword or target that differs. ``archgym dataset info``
lists the setups (:func:`setup_table`).

Rows of schema version 1 recorded none of this: they form one setup of their own, shown as
:data:`LEGACY_SETUP`, that is never merged with recorded setups.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from archgym.dataset.records import DatasetError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: the fields that make up a setup, in the order they are hashed and shown
SETUP_FIELDS: tuple[str, ...] = ("env_id", "env_kwargs", "simulator_fingerprint", "workload_key", "objective")
#: the setup of rows written before setups were recorded (schema version 1)
LEGACY_SETUP = "unrecorded"
#: shown for a field a row does not record
NOT_RECORDED = "(not recorded: schema 1)"
#: setup fields holding JSON objects, compared key by key in error messages
_JSON_SETUP_FIELDS = ("env_kwargs", "objective")


class MixedSetupsError(DatasetError, ValueError):
    """Rows from more than one setup were given where one is required; the message lists the differences."""


def setup_id(fields: Mapping[str, Any]) -> str:
    """The 16-hex-digit hash of a setup's fields (:data:`SETUP_FIELDS`, as stored in a row)."""
    payload = json.dumps([fields.get(name) for name in SETUP_FIELDS], separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def row_setups(frame: "pd.DataFrame") -> "pd.Series":
    """Each row's setup id (:data:`LEGACY_SETUP` where the row records none)."""
    import pandas as pd

    if "setup" not in frame.columns:
        return pd.Series(LEGACY_SETUP, index=frame.index, dtype=object)
    return frame["setup"].astype(object).where(frame["setup"].notna(), LEGACY_SETUP)


def setup_table(frame: "pd.DataFrame") -> "pd.DataFrame":
    """One row per setup: ``setup``, the :data:`SETUP_FIELDS`, ``rows`` and ``runs``, most rows first."""
    import pandas as pd

    keys = row_setups(frame)
    records = []
    for key, group in frame.groupby(keys, sort=False):
        first = group.iloc[0]
        entry: dict[str, Any] = {"setup": key}
        for name in SETUP_FIELDS:
            value = first[name] if name in group.columns else None
            entry[name] = None if _missing(value) else value
        entry["rows"] = len(group)
        entry["runs"] = int(group["run"].nunique()) if "run" in group.columns else 0
        records.append(entry)
    columns = ["setup", *SETUP_FIELDS, "rows", "runs"]
    table = pd.DataFrame.from_records(records, columns=columns)
    return table.sort_values(["rows", "setup"], ascending=[False, True], ignore_index=True)


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping) and value:
        for key, item in value.items():
            _flatten(f"{prefix}.{key}", item, out)
    else:
        out[prefix] = value


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _fields_of(entry: Mapping[str, Any], split: frozenset[str]) -> dict[str, Any]:
    """A setup's fields as flat ``name -> value`` pairs (JSON fields in ``split`` key by key)."""
    flat: dict[str, Any] = {}
    for name in SETUP_FIELDS:
        value = entry.get(name)
        if _missing(value):
            flat[name] = NOT_RECORDED
        elif name in split:
            try:
                _flatten(name, json.loads(value), flat)
            except (TypeError, ValueError):
                flat[name] = value
        else:
            flat[name] = value
    return flat


def describe_differences(table: "pd.DataFrame", limit: int = 12) -> str:
    """The fields on which the setups of :func:`setup_table`'s output differ, value by setup."""
    entries = table.to_dict(orient="records")
    # JSON fields are compared key by key, unless some setup does not record them at all
    split = frozenset(n for n in _JSON_SETUP_FIELDS if not any(_missing(e.get(n)) for e in entries))
    flats = [(e["setup"], int(e["rows"]), _fields_of(e, split)) for e in entries]
    names: list[str] = []
    for _, _, flat in flats:
        names.extend(n for n in flat if n not in names)
    lines = []
    for name in names:
        values = [flat.get(name, "(absent)") for _, _, flat in flats]
        if len({json.dumps(v, sort_keys=True, default=str) for v in values}) < 2:
            continue
        lines.append(f"  {name}:")
        lines.extend(f"    {json.dumps(v, default=str)}  (setup {s}, {n} rows)" for (s, n, _), v in zip(flats, values))
        if len(lines) >= limit * (len(flats) + 1):
            lines.append("  …")
            break
    return "\n".join(lines) or "  (no field differs: the rows were written with inconsistent setup ids)"


def require_one_setup(frame: "pd.DataFrame", what: str = "the rows", hint: str = "") -> str:
    """The one setup id of ``frame``'s rows; :class:`MixedSetupsError` listing the differences if several."""
    table = setup_table(frame)
    if len(table) <= 1:
        return str(table["setup"].iloc[0]) if len(table) else LEGACY_SETUP
    message = (
        f"{what} mix {len(table)} setups (a setup is the env id, gym.make keyword arguments, simulator "
        f"fingerprint, workload key and objective); they differ in:\n{describe_differences(table)}"
    )
    if hint:
        message += f"\n{hint}"
    raise MixedSetupsError(message)
