"""One module per ``pdekit`` verb; see :mod:`pdekit.cli`."""
