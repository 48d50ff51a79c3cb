"""Inference: every forward pass of a model over data goes through :class:`Predictor`."""

from landbench.inference.predictor import Predictor

__all__ = ["Predictor"]
