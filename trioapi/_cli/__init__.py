"""The ``trioapi`` command's parts: options, app discovery, logging, workers, supervision."""
