"""imagegate: decides which container images may run in a cluster and records what runs where."""

__version__ = "0.1.0"
