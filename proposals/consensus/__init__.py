"""The consensus engine: pure decision rules (rules.py) and their application to the record (engine.py)."""
