"""Lava billing gateway server. Data flows one way: api → auth → gateway → billing → store."""

__version__ = "0.1.0"
