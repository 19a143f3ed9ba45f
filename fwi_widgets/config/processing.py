"""Part 3's configurations: processing of the data, and the windows picked on them.

Data are named as Salvus names them: ``EXTERNAL_DATA:<name>`` (recordings added with
``p.add_observed_data``; a plain ``<name>`` means the same), ``PROCESSED_DATA:<name>``
(the output of a :class:`SeismologyProcessingConfiguration` of that name) and
``SYNTHETIC_DATA:<simulation configuration>`` (the synthetics that windows are picked on).

A processing function is stored as its source text (with the module imports and plain
constants it reads from its notebook), so that the project records exactly what was done
to the data and can apply it to an event added later, in another process.
"""
from __future__ import annotations

import ast
import dis
import importlib
import inspect
import math
import textwrap
import types
from dataclasses import dataclass, field

from ._base import Configuration, choice, mapping_of, name_string, register

__all__ = ["SeismologyProcessingConfiguration", "DataSelectionConfiguration", "parse_data_name", "EXTERNAL",
           "PROCESSED", "SYNTHETIC", "SYNTHETIC_PROCESSING"]

EXTERNAL, PROCESSED, SYNTHETIC = "EXTERNAL_DATA", "PROCESSED_DATA", "SYNTHETIC_DATA"
#: What may be done to the synthetics before they are measured: nothing, or the causal
#: Butterworth band-pass of 4 corners over the misfit's period band (obspy's
#: ``filter("bandpass")``), for data that were band-passed once more than the wavelet.
SYNTHETIC_PROCESSING = (None, "bandpass")


def parse_data_name(value, what: str = "observed_data") -> tuple[str, str]:
    """``(kind, name)`` of a data name: ``"EXTERNAL_DATA:raw"`` and ``"raw"`` are
    ``("EXTERNAL_DATA", "raw")``; ``"PROCESSED_DATA:x"`` is ``("PROCESSED_DATA", "x")``."""
    if not isinstance(value, str):
        raise TypeError(f"The '{what}' parameter must be a str, but {value!r} was given.")
    kind, sep, name = value.partition(":")
    if not sep:
        kind, name = EXTERNAL, value
    if kind not in (EXTERNAL, PROCESSED, SYNTHETIC):
        raise ValueError(f"The '{what}' parameter must be 'EXTERNAL_DATA:<name>', 'PROCESSED_DATA:<name>' or "
                         f"'SYNTHETIC_DATA:<simulation>' (or a plain name, the external data), but {value!r} was given.")
    name_string(name, what)
    if kind == EXTERNAL and name in (PROCESSED, SYNTHETIC):
        raise ValueError(f"The '{what}' parameter may not be {name!r}: that name is kept for {name.lower()}.")
    return kind, name


def _stored_function(function) -> dict:
    """The source of ``function`` and what it reads from its module: imports and constants."""
    if isinstance(function, dict):
        missing = {"name", "source", "modules", "constants"} - set(function)
        if missing:
            raise ValueError(f"The 'processing_function' record lacks {sorted(missing)}.")
        return {k: function[k] for k in ("name", "source", "modules", "constants")}
    if not isinstance(function, types.FunctionType):
        raise TypeError("The 'processing_function' parameter must be a function defined with def "
                        f"(process(st, inv, receiver, sources) -> Stream), but {function!r} was given.")
    if function.__name__ == "<lambda>":
        raise ValueError("The 'processing_function' parameter must be defined with def, not lambda: its source is "
                         "stored in the project.")
    if function.__closure__:
        raise ValueError(f"The processing function {function.__name__!r} reads variables of an enclosing function "
                         f"({list(function.__code__.co_freevars)}); define it at the top level of the notebook.")
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):
        raise ValueError(f"The source of the processing function {function.__name__!r} cannot be read; define it in a "
                         "notebook cell or a module file.") from None
    modules, constants, unusable = {}, {}, []
    for name in sorted(_global_names(function.__code__)):
        if name not in function.__globals__:
            continue  # a builtin, or a name the function defines itself
        value = function.__globals__[name]
        if isinstance(value, types.ModuleType):
            modules[name] = value.__name__
        elif value is None or isinstance(value, (bool, int, str)) or (isinstance(value, float) and math.isfinite(value)):
            constants[name] = value
        else:
            unusable.append(name)
    if unusable:
        raise ValueError(f"The processing function {function.__name__!r} uses {unusable} from its notebook, which "
                         "cannot be stored with it (only modules and numbers or strings can); import or define "
                         "them inside the function.")
    return {"name": function.__name__, "source": source, "modules": modules, "constants": constants}


def _code_of(source: str) -> str:
    """The function's syntax tree without docstrings: what it does, not how it is written."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                isinstance(getattr(body[0], "value", None), ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree, include_attributes=False)


def _global_names(code) -> set[str]:
    """Names the code reads as globals (not the attribute names that co_names holds too)."""
    names = {ins.argval for ins in dis.get_instructions(code) if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME")}
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


@register
@dataclass(frozen=True)
class SeismologyProcessingConfiguration(Configuration):
    """``PROCESSED_DATA:<name>``: ``processing_function(st, inv, receiver, sources)``
    applied to the data ``data_source_name``, one station at a time, as in Salvus.

    ``st`` holds the station's traces of one event, ``inv`` the station's inventory (its
    StationXML with responses where the data were added with one, else its coordinates),
    ``receiver`` the station (``.network``, ``.station``, ``.latitude``, ``.longitude``)
    and ``sources`` the event in a list. It returns the processed Stream (displacement in
    m, Z/N/E). Adding the configuration processes every event that has the source data;
    an event added later is processed when the configuration is added again.
    """

    name: str
    data_source_name: str
    processing_function: object = field(compare=False)

    def __post_init__(self):
        name_string(self.name, "name")
        kind, _ = parse_data_name(self.data_source_name, "data_source_name")
        if kind == SYNTHETIC:
            raise ValueError("The 'data_source_name' parameter must name observed data (EXTERNAL_DATA:<name> or "
                             f"PROCESSED_DATA:<name>), but {self.data_source_name!r} was given.")
        object.__setattr__(self, "processing_function", _stored_function(self.processing_function))
        try:
            ast.parse(self.processing_function["source"])
        except SyntaxError as error:
            raise ValueError(f"The stored source of the processing function does not parse: {error}.") from None

    @property
    def data_name(self) -> str:
        return f"{PROCESSED}:{self.name}"

    def does_the_same_as(self, other: "SeismologyProcessingConfiguration") -> bool:
        """Same name, source data and function: the same code (docstrings, comments and
        layout aside) reading the same modules and constants."""
        mine, theirs = self.processing_function, other.processing_function
        return (self.name, self.data_source_name, mine["name"], mine["modules"], mine["constants"]) == (
            other.name, other.data_source_name, theirs["name"], theirs["modules"], theirs["constants"]) and \
            _code_of(mine["source"]) == _code_of(theirs["source"])

    def __eq__(self, other):
        return isinstance(other, SeismologyProcessingConfiguration) and self.to_dict() == other.to_dict()

    def __hash__(self):
        return hash((self.name, self.data_source_name, self.processing_function["source"]))

    def function(self):
        """The processing function rebuilt from its stored source (in a fresh namespace)."""
        record = self.processing_function
        namespace = {alias: importlib.import_module(module) for alias, module in record["modules"].items()}
        namespace.update(record["constants"])
        exec(compile(record["source"], f"<processing function {record['name']}>", "exec"), namespace)
        return namespace[record["name"]]


@register
@dataclass(frozen=True)
class DataSelectionConfiguration(Configuration):
    """Windows picked per event, station and component (``p.actions.seismology.pick_windows``).

    ``windows[event]`` lists :class:`~fwi_widgets.workflow.window_picking.PickedWindow`
    records (as dicts): accepted ones are measured by a misfit configuration that names
    this selection; rejected ones keep their reason for the windows view. Times are in
    seconds after the event's origin time.
    """

    name: str
    observed_data: str
    synthetic_data: str
    receiver_field: str = "displacement"
    window_taper_width_in_seconds: float = 0.0
    synthetic_processing: str | None = None
    window_picking_function: str = "built-in"
    window_picking_function_kwargs: dict = field(default_factory=dict)
    windows: dict = field(default_factory=dict)

    def __post_init__(self):
        name_string(self.name, "name")
        parse_data_name(self.observed_data, "observed_data")
        choice("receiver_field", self.receiver_field, ["displacement"])
        choice("synthetic_processing", self.synthetic_processing, list(SYNTHETIC_PROCESSING))
        choice("window_picking_function", self.window_picking_function, ["built-in"])
        mapping_of("window_picking_function_kwargs", self.window_picking_function_kwargs)
        mapping_of("windows", self.windows)

    def accepted(self, event: str) -> dict[tuple[str, str], list[tuple[float, float]]]:
        """{(receiver, component): [(t0, t1)]} of the accepted windows (s after the origin)."""
        out: dict = {}
        for w in self.windows.get(event, []):
            if w["accepted"]:
                out.setdefault((w["receiver"], w["component"]), []).append((float(w["start"]), float(w["end"])))
        return out

    def n_accepted(self, event: str) -> int:
        return sum(1 for w in self.windows.get(event, []) if w["accepted"])

    def rejection_reasons(self, event: str) -> dict[str, int]:
        """How many windows of ``event`` were rejected for each kind of reason."""
        counts: dict[str, int] = {}
        for w in self.windows.get(event, []):
            if not w["accepted"]:
                kind = _reason_kind(w.get("reason") or "rejected")
                counts[kind] = counts.get(kind, 0) + 1
        return counts


#: Phrases of the picker's reasons that name their kind better than their first words.
_REASON_KINDS = (("shorter than one minimum period", "window shorter than one minimum period"),
                 ("NaN samples", "NaN samples"), ("infinite samples", "infinite samples"),
                 ("no energy", "no energy in the window"), ("no observed trace", "no observed trace"))


def _reason_kind(reason: str) -> str:
    """The reason without its numbers ("cross-correlation 0.52 below 0.70" -> "cross-correlation")."""
    for phrase, kind in _REASON_KINDS:
        if phrase in reason:
            return kind
    words = []
    for word in reason.split():
        if any(ch.isdigit() for ch in word):
            break
        words.append(word)
    return " ".join(words) or reason
