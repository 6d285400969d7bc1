"""One JSON style for every file we write: sorted keys, indented by 2, one line per record.

Renderers mark flat records (a security-group rule, a subnet pair, a pod) with ``Record``; each
is written on one line by the C encoder, or by a template for the hot shapes
(microseg.render.records); ``Lines`` holds records written beforehand (a flow, a firewall rule).
That keeps diffs to one line per change, and is ~20x faster than the pure-Python indenting
encoder, which matters at 10k workloads and 50k flows. Unmarked containers are indented; lists of
scalars stay on one line.
"""

from __future__ import annotations

import json
from typing import Any

from microseg.render.records import SCALARS, TEMPLATES, json_scalar

_SLOW = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(", ", ": "))
_string = json.encoder.encode_basestring  # the C implementation when available


def _c_encoder():  # type: ignore[no-untyped-def]
    """One C encoder built once: JSONEncoder.encode rebuilds it per call, which dominates at 100k records."""
    make = json.encoder.c_make_encoder
    if make is None:  # pragma: no cover - CPython always has it
        return None

    def default(o: Any) -> Any:
        raise TypeError(f"not JSON serializable: {type(o).__name__}")

    return make(None, default, _string, None, ": ", ", ", True, False, True)


_C = _c_encoder()


def _compact(obj: Any) -> str:
    if type(obj) in SCALARS:
        return json_scalar(obj)
    if isinstance(obj, Record):
        return obj.json()
    if _C is not None:
        return "".join(_C(obj, 0))
    return _SLOW.encode(obj)  # pragma: no cover


class Record(dict):  # type: ignore[type-arg]
    """A dict written on a single line."""

    __slots__ = ()

    def json(self) -> str:
        """This record as one line of JSON with sorted keys (a template for the hot shapes)."""
        template = TEMPLATES.get(tuple(self))
        if template is not None:
            return template(self)
        if _C is not None:
            return "".join(_C(self, 0))
        return _SLOW.encode(self)  # pragma: no cover


class Raw(str):
    """A value already written in this style for the nesting level where it is placed
    (microseg.render.records.workload_json); kept as is."""

    __slots__ = ()


class Lines(list):  # type: ignore[type-arg]
    """Records already written as one line of JSON each (microseg.render.flowlines); kept as is."""

    __slots__ = ()


def _encode(obj: Any, level: int, out: list[str]) -> None:
    # The hot loop of every output file (hundreds of thousands of keys at 10k workloads): one
    # append per key, str keys and values straight to the C string encoder.
    t = type(obj)
    if t is dict:
        if not obj:
            out.append("{}")
            return
        pad = "\n" + "  " * (level + 1)
        sep, comma = "{" + pad, "," + pad
        for k in sorted(obj):
            v = obj[k]
            tv = type(v)
            key = _string(k) if type(k) is str else _compact(k)
            if tv is dict or tv is list or tv is Lines:
                out.append(f"{sep}{key}: ")
                _encode(v, level + 1, out)
                sep = comma
                continue
            # The common scalars inline, as the C encoder writes them; the rest through _compact.
            if tv is str:
                text = _string(v)
            elif tv is int:
                text = int.__repr__(v)
            elif v is None:
                text = "null"
            elif tv is bool:
                text = "true" if v else "false"
            elif tv is Record:
                text = v.json()
            elif tv is Raw:  # big (a workload's record): appended as is, copied only by the final join
                out.append(f"{sep}{key}: ")
                out.append(v)
                sep = comma
                continue
            else:
                text = _compact(v)
            out.append(f"{sep}{key}: {text}")
            sep = comma
        out.append("\n" + "  " * level + "}")
    elif t is Lines:  # 50k flows: joined here a slice at a time, not pasted between brackets again
        if not obj:
            out.append("[]")
            return
        pad = "\n" + "  " * (level + 1)
        sep = "," + pad
        out.append("[" + pad)
        # Slices, not one piece: a piece of 12 MB would be a fresh allocation that the writer
        # (dump_parts' callers write in chunks) then copies whole.
        for i in range(0, len(obj), _LINES_SLICE):
            if i:
                out.append(sep)
            out.append(sep.join(obj[i : i + _LINES_SLICE]))
        out.append("\n" + "  " * level + "]")
    elif t is list:
        if not obj:
            out.append("[]")
            return
        pad = "\n" + "  " * (level + 1)
        if isinstance(obj[0], Record) and all(isinstance(x, Record) for x in obj):
            out.append("[" + pad + ("," + pad).join([r.json() for r in obj]) + "\n" + "  " * level + "]")
        elif not any(isinstance(x, (dict, list)) for x in obj):
            out.append(_compact(obj))
        else:
            sep = "["
            for item in obj:
                out.append(sep + pad)
                sep = ","
                _encode(item, level + 1, out)
            out.append("\n" + "  " * level + "]")
    else:
        out.append(_compact(obj))


_LINES_SLICE = 2048  # lines of a Lines value joined into one piece (~0.5 MB of flows)


def dump_parts(obj: Any) -> list[str]:
    """``dumps(obj)`` as the pieces it joins: a writer encodes and writes them a chunk at a time
    (microseg.io.outdir), never holding the whole file (tens of MB at 10k workloads) as one str and
    again as bytes: fresh memory of that size costs more in page faults than the copy itself."""
    out: list[str] = []
    _encode(obj, 0, out)
    out.append("\n")
    return out


def encoded_at(obj: Any, level: int) -> list[str]:
    """``obj`` as dumps writes it at nesting ``level``, in pieces (joined, a Raw of it takes its
    place there)."""
    out: list[str] = []
    _encode(obj, level, out)
    return out


def dumps(obj: Any) -> str:
    return "".join(dump_parts(obj))
