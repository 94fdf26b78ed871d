"""Per-lesion measurements of a label map: volumes, centres and RANO diameters (torch-free).

Layers: :mod:`~omnet.measurement.grid` (voxel -> RAS mm), :mod:`~omnet.measurement.lesions`
(connected lesions of each region), :mod:`~omnet.measurement.diameter` (maximal 3D
diameter), :mod:`~omnet.measurement.volumes` (total volume of
each region and label), :mod:`~omnet.measurement.rano` (bidimensional diameters
on the patient's axial plane), :mod:`~omnet.measurement.report` (one label map -> report,
text table, JSON). Needs only numpy, scipy and SimpleITK, so it also runs inside 3D Slicer.
"""

from omnet.measurement.lesions import CONNECTIVITY, Lesion, find_lesions
from omnet.measurement.rano import MAX_TARGETS, MEASURABLE_MM, Bidimensional, measure_lesion
from omnet.measurement.report import LesionReport, measure_file, measure_image, measure_labels

__all__ = ["CONNECTIVITY", "MAX_TARGETS", "MEASURABLE_MM", "Bidimensional", "Lesion",
           "LesionReport", "find_lesions", "measure_file", "measure_image", "measure_labels",
           "measure_lesion"]
