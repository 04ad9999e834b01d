"""flexledger: the command line that ties the parts together (see DESIGN in docs/)."""

__version__ = "0.1.0"
