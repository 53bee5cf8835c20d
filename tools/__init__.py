"""Developer tools (not shipped with the kiosk, not imported by it)."""
