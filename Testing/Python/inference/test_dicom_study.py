"""A DICOM study as a PACS exports it: sequences found by series description, any layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from omnet.errors import InputError
from omnet.inference.sources import case_input

DESCRIPTIONS = {"flair": "AX FLAIR", "t1": "AX T1 SE", "t1ce": "AX T1 POST GD",
                "t2": "AX T2 FSE"}
STUDY = "1.2.826.0.1.3680043.8.498.1"


def write_series(image: sitk.Image, folder, description: str, series: int,
                 study: str = STUDY, first_file: int = 0, tags=()) -> None:
    """``image`` as one DICOM series of axial slices, as a scanner writes it (``tags``: more
    header entries, (key, value) pairs)."""
    folder.mkdir(parents=True, exist_ok=True)
    image = sitk.Cast(image, sitk.sitkInt16)
    d = image.GetDirection()
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    writer.SetImageIO("GDCMImageIO")  # PACS files carry no ending
    for k in range(image.GetDepth()):
        plane = image[:, :, k]
        for tag, value in (("0008|0060", "MR"), ("0008|103e", description),
                           ("0020|000d", study), ("0020|000e", f"{study}.{series}"),
                           ("0020|0037", "\\".join(map(str, (d[0], d[3], d[6], d[1], d[4],
                                                              d[7])))),
                           ("0020|0032", "\\".join(map(str, image.TransformIndexToPhysicalPoint(
                               (0, 0, k))))),
                           ("0020|0013", str(k + 1)),
                           ("0018|0050", str(image.GetSpacing()[2])), *tags):
            plane.SetMetaData(tag, value)
        writer.SetFileName(str(folder / f"IM{first_file + k:06d}"))
        writer.Execute(plane)


def _study(phantom_case, root, flat=False, extra=(), skip=()):
    folder = phantom_case(shape=(16, 24, 24), name="nifti")
    images = {role: sitk.ReadImage(str(folder / f"nifti_{role}.nii.gz"))
              for role in DESCRIPTIONS}
    series = [(images[role], DESCRIPTIONS[role]) for role in DESCRIPTIONS if role not in skip]
    series += [(make(images), description) for make, description in extra]
    for number, (image, description) in enumerate(series, 1):
        target = root / "DICOM" / "ST000001" / ("SE000001" if flat else f"SE{number:06d}")
        write_series(image, target, description, number, first_file=1000 * number)
    return folder


@pytest.mark.parametrize("flat", [False, True], ids=["a folder per series", "one folder"])
def test_a_pacs_export_segments_like_the_same_scans_as_nifti(phantom_case, tiny_model_file,
                                                             tmp_path, flat):
    from omnet.inference.pipeline import segment

    localizer = (lambda images: images["t1"][:, :, 6:9], "3-PLANE LOC")
    thin_copy = (lambda images: images["t1ce"][:, :, 4:8], "COR T1 POST GD")
    nifti = _study(phantom_case, tmp_path / "study", flat, extra=(localizer, thin_copy))
    case = case_input(tmp_path / "study")
    assert {role: len(files) for role, files in case.dicom_files.items()} == dict.fromkeys(
        DESCRIPTIONS, 16)   # the full T1c (16 slices), not the 4-slice one
    expected = segment(nifti, None, model=tiny_model_file, device="cpu")
    result = segment(tmp_path / "study", None, model=tiny_model_file, device="cpu")
    np.testing.assert_array_equal(sitk.GetArrayFromImage(result.labels),
                                  sitk.GetArrayFromImage(expected.labels))


def test_a_study_without_a_t2_says_which_series_it_saw(phantom_case, tmp_path):
    _study(phantom_case, tmp_path / "study", skip=("t2",))
    with pytest.raises(InputError) as error:
        case_input(tmp_path / "study")
    message = str(error.value)
    assert message.startswith("study: no T2 among its DICOM series 'AX FLAIR' (16 images)")
    assert "\n" not in message


def test_sequences_from_two_studies_are_refused(phantom_case, tmp_path):
    folder = phantom_case(shape=(16, 24, 24), name="nifti")
    for number, role in enumerate(DESCRIPTIONS, 1):
        write_series(sitk.ReadImage(str(folder / f"nifti_{role}.nii.gz")),
                     tmp_path / "two" / f"S{number}", DESCRIPTIONS[role], number,
                     study=STUDY if role != "t2" else STUDY + "9")
    with pytest.raises(InputError, match="come from 2 DICOM studies"):
        case_input(tmp_path / "two")


def test_one_image_of_a_series_reads_the_whole_series(phantom_case, tmp_path):
    from omnet.data.imageio import read_image

    folder = phantom_case(shape=(16, 24, 24), name="nifti")
    t1ce = sitk.ReadImage(str(folder / "nifti_t1ce.nii.gz"))
    write_series(t1ce, tmp_path / "series", "AX T1 POST GD", 1)
    write_series(t1ce[:, :, :5], tmp_path / "series", "OTHER", 2, first_file=500)  # beside it
    image = read_image(sorted((tmp_path / "series").iterdir())[3])
    assert image.GetSize() == (24, 24, 16)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), sitk.GetArrayFromImage(t1ce))


#: TR, TE, TI, scanning sequence and contrast agent of each series, as an anonymised export
#: keeps them (tags 0018|0080, 0018|0081, 0018|0082, 0018|0020, 0018|0010).
PARAMETERS = {"flair": ("9000", "81", "2500", "SE\\IR", ""), "t1": ("500", "10", "", "SE", ""),
              "t1ce": ("2300", "2.3", "900", "GR\\IR", "GADOVIST"),
              "t2": ("4000", "100", "", "SE", "")}
UNNAMED_OTHERS = {"diffusion": ("6000", "90", "", "EP", ""),
                  "time of flight": ("23", "3.5", "", "GR", "")}


def _parameter_tags(values):
    return tuple(zip(("0018|0080", "0018|0081", "0018|0082", "0018|0020", "0018|0010"),
                     values))


def test_an_anonymised_study_is_read_by_its_acquisition_parameters(phantom_case, tmp_path):
    folder = phantom_case(shape=(16, 24, 24), name="nifti")
    images = {role: sitk.ReadImage(str(folder / f"nifti_{role}.nii.gz")) for role in PARAMETERS}
    root = tmp_path / "anonymised"
    series = [(images[role], PARAMETERS[role]) for role in PARAMETERS]
    series += [(images["t2"], values) for values in UNNAMED_OTHERS.values()]
    series.append((images["t1"][:, :, :12], ("450", "9", "", "SE", "")))  # a shorter T1
    for number, (image, values) in enumerate(series, 1):
        write_series(image, root / f"SE{number}", "", number, first_file=1000 * number,
                     tags=_parameter_tags(values))
    case = case_input(root)
    assert {role: path.name for role, path in zip(PARAMETERS, (case.flair, case.t1, case.t1ce,
                                                              case.t2))} == {
        "flair": "SE1", "t1": "SE2", "t1ce": "SE3", "t2": "SE4"}
    assert "by its acquisition (TR" in case.found_by["t1ce"]
    assert "contrast agent" in case.found_by["t1ce"]


def test_a_named_series_wins_over_the_parameters(phantom_case, tmp_path):
    folder = phantom_case(shape=(16, 24, 24), name="nifti")
    images = {role: sitk.ReadImage(str(folder / f"nifti_{role}.nii.gz")) for role in PARAMETERS}
    root = tmp_path / "mixed"
    for number, role in enumerate(PARAMETERS, 1):
        write_series(images[role], root / f"SE{number}", DESCRIPTIONS[role], number,
                     first_file=1000 * number, tags=_parameter_tags(PARAMETERS[role]))
    # an unnamed series with T2 parameters and more slices than the named T2
    write_series(sitk.Expand(images["t2"], (1, 1, 2)), root / "SE9", "", 9, first_file=9000,
                 tags=_parameter_tags(PARAMETERS["t2"]))
    assert case_input(root).t2.name == "SE4"


def test_the_protocol_name_stands_in_for_a_missing_description():
    from omnet.data.dicom import DicomSeries

    assert DicomSeries(Path("s"), "", "1", (), protocol="t2_tse_tra").named_role == "t2"
    assert DicomSeries(Path("s"), "AX FLAIR", "1", (), protocol="t2_tse").named_role == "flair"
    assert DicomSeries(Path("s"), "", "1", ()).named_role is None


def test_a_study_without_a_t2_is_completed_by_a_given_file(phantom_case, tmp_path):
    nifti = _study(phantom_case, tmp_path / "study", skip=("t2",))
    t2 = nifti / "nifti_t2.nii.gz"
    case = case_input(tmp_path / "study", {"t2": t2})
    assert case.t2 == t2 and set(case.dicom_files) == {"flair", "t1", "t1ce"}
    assert case.found_by["t2"] == "given"
    assert case.found_by["t1ce"].startswith("DICOM series 'AX T1 POST GD'")
    assert case.found_by["t1ce"].endswith("by its series description")
