"""The lowest layer: errors, atomic file I/O and hashing, normalisation, and the padding rule.

Everything else in landbench may import from here; nothing here imports from the rest.
"""
