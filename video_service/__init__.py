"""The control plane: the CLI and API of SPARC Video."""
