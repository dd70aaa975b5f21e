"""Proof harnesses that run the real code under abuse: kill torture and corruption sweeps.

``python -m tools.torture`` kills ``syncengine run`` at random moments against a faulty
simulator; ``python -m tools.torture.corruption`` flips bits in and truncates copies of a real
journal. Figures and method: docs/reliability.md.
"""
