"""Netra Apex: LLM spend analysis and optimization through a team of AI agents."""

__version__ = "0.1.0"
