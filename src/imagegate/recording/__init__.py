"""Recording admitted deployments without making admission wait on the store.

Admission appends to a durable local ``Spool`` and answers; a ``Recorder`` writes
the spool into the store in order, batch by batch, committing the spool position
with each batch so that a replay after a crash writes nothing twice. In front of
the spool, a ``HeartbeatThrottle`` holds back repeats of what is already spooled.
"""

from imagegate.recording._heartbeats import HeartbeatThrottle
from imagegate.recording._recorder import Recorder, RecorderSettings
from imagegate.recording._spool import ParkedRequest, Spool

__all__ = ["HeartbeatThrottle", "ParkedRequest", "Recorder", "RecorderSettings", "Spool"]
