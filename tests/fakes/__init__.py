"""Fakes for the edges of the world the tests cannot run: they speak the real wire protocols."""
