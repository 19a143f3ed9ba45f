"""Execution sites: where jobs run (``inline``, ``local``, ``dask``).

One registry maps a site *name* to a site *kind* and its options; :func:`get_site`
returns one shared instance per name for the whole process, so every part of the app
that asks for ``"local"`` talks to the same pool.

>>> from fwi_widgets.execution import available_sites, get_site
>>> available_sites()
['dask', 'inline', 'local']
>>> get_site("inline").name
'inline'

A real cluster is registered once under a name of your choice and then used like the
built-in sites (``SiteConfig(site_name="cluster", ...)``)::

    register_site("cluster", kind="dask", address="tcp://10.0.0.1:8786")
"""

from __future__ import annotations

import atexit
import inspect
import threading
from typing import Any

from .base import JobInfo, JobStatus, Site
from .dask_site import DaskSite
from .inline import InlineSite
from .local import LocalSite

__all__ = [
    "JobInfo",
    "JobStatus",
    "Site",
    "InlineSite",
    "LocalSite",
    "DaskSite",
    "SITE_KINDS",
    "available_sites",
    "close_all_sites",
    "get_site",
    "register_site",
]

#: Site kinds by name: the one place a new kind of site is added.
SITE_KINDS: dict[str, type[Site]] = {
    "inline": InlineSite,
    "local": LocalSite,
    "dask": DaskSite,
}

# name -> (kind, options); the built-in names use their kind's defaults.
_REGISTERED: dict[str, tuple[str, dict[str, Any]]] = {
    kind: (kind, {}) for kind in SITE_KINDS
}
# name -> (live instance, the options it was built with)
_INSTANCES: dict[str, tuple[Site, dict[str, Any]]] = {}
_REGISTRY_LOCK = threading.RLock()
_ATEXIT_REGISTERED = False


def available_sites() -> list[str]:
    """Names :func:`get_site` accepts, sorted."""
    with _REGISTRY_LOCK:
        return sorted(_REGISTERED)


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name:
        raise TypeError(
            f"The 'name' parameter must be a non-empty str, but {name!r} was given."
        )
    return name


def _check_options(kind: str, options: dict[str, Any]) -> None:
    """Raise TypeError now, not at first use, for options the kind does not take."""
    cls = SITE_KINDS[kind]
    parameters = inspect.signature(cls).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    valid = sorted(p for p in parameters if p != "name")
    for option in options:
        if option not in valid:
            raise TypeError(
                f"Sites of kind '{kind}' take no option '{option}'; "
                f"valid options are {valid}."
            )


def register_site(
    name: str, kind: str = "dask", address: str | None = None, **options: Any
) -> None:
    """Register (or re-register) a site under ``name``.

    Parameters
    ----------
    name : str
        The name to use with :func:`get_site` and ``SiteConfig(site_name=...)``.
    kind : str, optional
        One of :data:`SITE_KINDS` (``"dask"``, ``"inline"``, ``"local"``), by
        default ``"dask"``.
    address : str or None, optional
        Scheduler address for a ``dask`` site, e.g. ``"tcp://10.0.0.1:8786"``.
    **options
        Further options of the kind (see :class:`DaskSite`, :class:`LocalSite`).

    Raises
    ------
    ValueError
        For an unknown kind, or when a live site of that name was built with other
        options (close it first).
    TypeError
        For an option the kind does not take.
    """
    _check_name(name)
    if kind not in SITE_KINDS:
        raise ValueError(
            f"Unknown site kind '{kind}'; valid kinds are {sorted(SITE_KINDS)}."
        )
    if address is not None:
        options = {"address": address, **options}
    _check_options(kind, options)
    with _REGISTRY_LOCK:
        live = _INSTANCES.get(name)
        if live is not None and not live[0].closed and _REGISTERED.get(name) != (kind, options):
            raise ValueError(
                f"The site '{name}' is in use with other settings; close it "
                "(get_site(name).close()) before registering it again."
            )
        _REGISTERED[name] = (kind, dict(options))


def get_site(name: str, **options: Any) -> Site:
    """The process-wide site registered under ``name``, created on first use.

    Parameters
    ----------
    name : str
        A name from :func:`available_sites`.
    **options
        Options overriding the registered ones; only used when the site is created.
        Asking for a live site with different options is an error.

    Returns
    -------
    Site
        The same object for the same name until it is closed; after
        :meth:`Site.close` a fresh one is created.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the valid names).
    """
    global _ATEXIT_REGISTERED
    _check_name(name)
    with _REGISTRY_LOCK:
        if name not in _REGISTERED:
            raise ValueError(
                f"Unknown site '{name}'; valid sites are {sorted(_REGISTERED)}."
            )
        kind, registered = _REGISTERED[name]
        merged = {**registered, **options}
        live = _INSTANCES.get(name)
        if live is not None and not live[0].closed:
            site, built_with = live
            if options and merged != built_with:
                raise ValueError(
                    f"The site '{name}' already runs with options {built_with}, "
                    f"not {merged}; close it first to change them."
                )
            return site
        _check_options(kind, merged)
        site = SITE_KINDS[kind](name=name, **merged)
        _INSTANCES[name] = (site, merged)
        if not _ATEXIT_REGISTERED:
            # Worker processes and pool threads must not outlive the interpreter.
            atexit.register(close_all_sites)
            _ATEXIT_REGISTERED = True
        return site


def close_all_sites() -> None:
    """Close every site :func:`get_site` created (idempotent)."""
    with _REGISTRY_LOCK:
        sites = [site for site, _ in _INSTANCES.values()]
        _INSTANCES.clear()
    for site in sites:
        site.close()
