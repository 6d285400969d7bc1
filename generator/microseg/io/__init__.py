"""The edges: reading files, the lock and the output directory, and running Graphviz."""
