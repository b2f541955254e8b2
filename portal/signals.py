"""Things that happen to devices, announced so other parts of the portal can act on them
without the MDM protocol code knowing them (blinker signals, sent inside the request)."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# sender: the Device, just enrolled (its first TokenUpdate).
device_enrolled = _signals.signal("device-enrolled")
# sender: the Device; command: the MDMCommand whose answer was just recorded.
command_answered = _signals.signal("command-answered")
# sender: the Device, idle on the command channel (nothing else to say).
device_idle = _signals.signal("device-idle")
