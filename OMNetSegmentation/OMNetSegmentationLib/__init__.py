"""Logic behind the OMNetSegmentation module (and shared with OMNetTraining).

Modules that never import ``slicer`` (``roles``, ``names``, ``command``, ``process``, ``job``,
``segments``, ``models``, ``dependencies``) hold the decisions and are tested with pytest
outside Slicer. ``scene``, ``install``, ``logic`` and ``selftest`` are the thin layer that
talks to MRML and run only inside Slicer.
"""
