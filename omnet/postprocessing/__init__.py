"""Post-processing of tumour label maps (paper Sec. IV-B): each step usable on its own.

:func:`remove_small_components` drops small connected tumour components;
:func:`relabel_edema_kmeans` turns part of the edema of enhancing-poor components into
NCR/NET; :func:`drop_scant_enhancing` (not the paper's) calls a few scattered enhancing
voxels necrotic core; :func:`postprocess` applies the paper's two in its order, then that.
"""

from omnet.postprocessing.components import remove_small_components, remove_small_components_file
from omnet.postprocessing.enhancing import drop_scant_enhancing
from omnet.postprocessing.pipeline import postprocess
from omnet.postprocessing.relabel import relabel_edema_kmeans, relabel_edema_kmeans_file

__all__ = ["drop_scant_enhancing", "postprocess", "relabel_edema_kmeans",
           "relabel_edema_kmeans_file", "remove_small_components", "remove_small_components_file"]
