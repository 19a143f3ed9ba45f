"""fwi_widgets: the interactive FWI application (project, workflow, state, views)."""
