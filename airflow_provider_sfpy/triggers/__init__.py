"""Triggers: async waits that run in the triggerer, not in a worker slot."""
