"""Simulated exchanges to rehearse live nodes against: fake venues that speak a real exchange's API on 127.0.0.1."""
