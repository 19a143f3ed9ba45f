"""The dashboard: one Tab composing the inversion, map, model, gradient and waveform views.

Every tab observes the same :class:`~fwi_widgets.state.InversionState`, so a click
on a station in the map tab selects it in the waveform tab, and **Resume** in the
inversion tab refreshes all of them.
"""
from __future__ import annotations

import ipywidgets as widgets

__all__ = ["Dashboard", "TABS"]

#: Tab titles in display order; also the keys of :attr:`Dashboard.views`.
TABS = ("inversion", "domain", "model", "gradients", "waveforms")


class Dashboard(widgets.Tab):
    """A Tab of the views of one inverse problem.

    Parameters
    ----------
    views : dict of str to ipywidgets.Widget
        One widget per name in :data:`TABS`.

    Attributes
    ----------
    views : dict of str to ipywidgets.Widget
    """

    def __init__(self, views: dict, **kwargs):
        missing = [name for name in TABS if name not in views]
        if missing:
            raise ValueError(f"The 'views' parameter must hold a widget for each of {list(TABS)}, but {missing} "
                             "are missing.")
        self.views = {name: views[name] for name in TABS}
        super().__init__(children=[self.views[name] for name in TABS], titles=list(TABS), **kwargs)
        self.add_class("fwi-dashboard")
