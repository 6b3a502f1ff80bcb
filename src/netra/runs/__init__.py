"""Durable runs: each run a DBOS workflow on a queue shared by every process."""
