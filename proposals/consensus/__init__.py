"""The consensus engine: pure rules (rules.py) applied to the record (engine.py)."""
