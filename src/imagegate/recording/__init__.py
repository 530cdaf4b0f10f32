"""Recording admitted deployments without making admission wait on the store.

Admission appends to a durable local ``Spool`` and answers; a ``Recorder`` writes
the spool into the store in order, batch by batch, committing the spool position
with each batch so that a replay after a crash writes nothing twice.
"""

from imagegate.recording._recorder import Recorder, RecorderSettings
from imagegate.recording._spool import ParkedRequest, Spool

__all__ = ["ParkedRequest", "Recorder", "RecorderSettings", "Spool"]
