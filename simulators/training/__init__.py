"""Distributed-training systems simulator (after ASTRA-sim's analytical backend)."""
