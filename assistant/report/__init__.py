"""Reporters: they listen to runner events; the core never prints."""
