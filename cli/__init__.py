"""Command-line interface of voxprospect (``voxprospect --help``)."""
