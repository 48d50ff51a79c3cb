"""Experiments: recipes (package data), the paper's tables (reproduce), and the demo."""
