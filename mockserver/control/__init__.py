"""The ``/_mock`` control API (blueprint in :mod:`.routes`)."""
