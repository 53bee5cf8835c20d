"""The live channel (issue 15): kiosks' live lanes, interventions and attendant commands. docs/live.md."""
from server.live.hub import LiveHub
from server.live.model import AlreadyTaken, Change, CommandRecord, Intervention, Lane, UnknownIntervention, UnknownKiosk

__all__ = ["LiveHub", "AlreadyTaken", "Change", "CommandRecord", "Intervention", "Lane", "UnknownIntervention",
           "UnknownKiosk"]
