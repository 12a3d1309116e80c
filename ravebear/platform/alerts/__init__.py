"""Alerts from a node's events: what each event says (builders.py) and the actor that sends or counts them."""
