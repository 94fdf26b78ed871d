"""Inference: tiling, the network stage, fusion of the tasks, and the ``segment`` pipeline.

Import :func:`omnet.segment` (or :func:`omnet.inference.pipeline.segment`) for the whole
pipeline; the modules here are its single-purpose steps.
"""
