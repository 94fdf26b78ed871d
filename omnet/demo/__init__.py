"""The built-in demo: a synthetic BraTS-like case, its segmentation, evaluation and overlay.

The project cannot ship patient data, so it ships a seeded generator instead
(:mod:`~omnet.demo.generator`, built from :mod:`~omnet.demo.anatomy` and
:mod:`~omnet.demo.contrast`); :mod:`~omnet.demo.run` runs the whole demo and
:mod:`~omnet.demo.overlay` draws the picture. Torch is imported only to segment.
"""
