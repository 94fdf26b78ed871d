"""Which MRI sequence a file or volume name denotes (pure string rules, no I/O).

Shared by ``omnet segment`` (case folders), ``omnet train`` (datasets) and the Slicer
module (volume names). Names are split into lower-case tokens; identifiers and numbers are
ignored. Covers BraTS 2018-2021 (``_flair``, ``_t1``, ``_t1ce``, ``_t2``), BraTS 2023
(``-t2f``, ``-t1n``, ``-t1c``, ``-t2w``), the pre-processing tools' outputs (BrainLesion /
BraTS-Toolkit ``_fla``, ``_t1c``, ``_t1gd``, ``_t1_gd`` with suffixes such as ``_bet``,
``_brain``, ``_skullstripped``, ``_reg``, ``_n4``, which say nothing about the sequence) and
common clinical names ("AX T1 POST GAD", "T2 FLAIR", "t1_mprage_gd", "T1+C", "T1 C+") and
BIDS names (``sub-01_ses-pre_ce-gadovist_T1w``, ``sub-01_FLAIR``). A brain mask
those tools write beside the sequences (``*_bet_mask``, ``*_brain_mask``, ``brainmask``) is
neither a sequence nor a label map, and neither is a label map OMNet wrote
(``*_omnet.nii.gz``). Subtractions, MIPs, dynamic (DCE, perfusion) runs, maps and
localizers are none of the four, whatever sequence they name. A registration pipeline's
``flair_to_t1ce``, ``flair_in_t1ce_space`` or ``flair_registered_to_t1`` is the first
sequence it names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

__all__ = ["BRAIN_MASK_SUFFIX", "IMAGE_SUFFIXES", "OUTPUT_SUFFIX", "ROLES", "SEQUENCE_ROLES",
           "case_id_from_file", "channel_groups", "channel_stem", "classify_name",
           "described_role", "incomplete_channel_groups", "is_brain_mask", "is_omnet_output",
           "label_scheme_of_name", "missing_channels", "names_other_series",
           "strip_image_suffix", "tokens", "without_case_id"]

SEQUENCE_ROLES = ("flair", "t1", "t1ce", "t2")
ROLES = (*SEQUENCE_ROLES, "seg")
ROLE_TITLES = {"flair": "FLAIR", "t1": "T1", "t1ce": "T1c (contrast-enhanced T1)", "t2": "T2",
               "seg": "label map"}
#: The sequences' names in a table column or a list.
SHORT_TITLES = {"flair": "FLAIR", "t1": "T1", "t1ce": "T1c", "t2": "T2"}

IMAGE_SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd", ".img.gz", ".hdr",
                  ".img", ".dcm", ".ima")

_SEG = {"seg", "segmentation", "label", "labels", "labelmap", "gt", "groundtruth", "truth",
        "annotation", "mask"}
_FLAIR = {"flair", "fla", "t2f", "t2flair", "tirm", "darkfluid", "fluidattenuated"}
_T1_CONTRAST = {"t1ce", "t1c", "t1gd", "t1wce", "t1post", "t1km", "t1cemprage", "t1contrast",
                "t1wgd", "t1cgd", "mpragegd", "mprage_gd"}
_T1_PLAIN = {"t1", "t1n", "t1w", "t1pre", "t1native", "mprage", "spgr", "fspgr", "bravo", "tfl",
             "t1flair"}
_CONTRAST = {"post", "gad", "gd", "ce", "contrast", "postcontrast", "enhanced", "km",
             "gado", "gadolinium", "postgad", "pgd"}
_PRE = {"pre", "native", "precontrast", "nativ"}
_T2 = {"t2", "t2w", "t2tse", "t2wtse"}
#: Words that, beside "mask", make it a brain mask (skull stripping's by-product).
_BRAIN_MASK_CONTEXT = {"bet", "hdbet", "brain", "skull", "skullstrip", "skullstripped",
                       "skullstripping", "synthstrip", "strip", "stripped"}
_BRAIN_MASKS = {"brainmask", "betmask", "skullmask"}
#: Sequences that mention T1/T2 but are none of the four inputs (T2*, SWI, diffusion, ...).
_OTHER_SEQUENCES = {"t2star", "swi", "dwi", "adc", "dti", "perfusion", "dsc", "asl", "t2s",
                    "map", "mapping", "relaxometry"}
#: Series computed from others, which keep their source's name: a subtraction (post minus
#: pre: Siemens "t1_vibe_fs_post_SUB", GE "T1 POST SUB", Philips "SUB_T1W"), a maximum or
#: minimum intensity projection ("T1 MPR POST MIP"), and the maps of diffusion and perfusion
#: (TRACEW, CBV, CBF, MTT, Ktrans; an FA map names no sequence, and "FA 15" may be a flip
#: angle). A reformat ("MPR", "RFMT") is still its sequence.
_DERIVED = {"sub", "subtraction", "subtracted", "subtract", "mip", "minip", "colfa",
            "tracew", "trace", "eadc", "cbv", "rcbv", "cbf", "rcbf", "mtt", "ttp", "ktrans",
            "kep"}
#: Dynamic (time-resolved) runs, a T1 repeated over the contrast's arrival: "T1 DCE",
#: "AX T1 DYNAMIC", Siemens "t1_vibe_dyn", "t1_twist", "ep2d_perf", Philips "T1_4D".
_DYNAMIC = {"dyn", "dynamic", "dce", "twist", "perf", "pwi", "4d"}
#: Planning images: "3-plane loc", "localizer", "AX T1 SCOUT", Philips "Survey".
_LOCALIZERS = {"loc", "localizer", "localiser", "scout", "survey"}
#: Words that make a name none of the four inputs, whatever sequence it also names.
_NOT_STRUCTURAL = _OTHER_SEQUENCES | _DERIVED | _DYNAMIC | _LOCALIZERS


#: What ``omnet segment`` adds to the case id in its label map's default name
#: (``<case>_omnet.nii.gz``); its other outputs have no default name.
OUTPUT_SUFFIX = "_omnet"
#: What ends the name of a brain mask ``omnet segment --input-dir`` writes,
#: ``<case>_brain_mask.nii.gz`` (HD-BET's is ``<name>_bet_mask``): it may sit beside the
#: label maps, and :func:`is_brain_mask` tells it from a case or a label map.
BRAIN_MASK_SUFFIX = "_brain_mask"


def is_omnet_output(name: str) -> bool:
    """A label map ``omnet segment`` names by default (``X_t1ce_omnet.nii.gz``): never an
    input, so a case folder segmented in place can be segmented again."""
    return strip_image_suffix(name).lower().endswith(OUTPUT_SUFFIX)


def strip_image_suffix(name: str) -> str:
    """``Brats18_x_t1ce.nii.gz`` -> ``Brats18_x_t1ce``."""
    lower = name.lower()
    for suffix in IMAGE_SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name


_CHANNEL = re.compile(r"^(?P<stem>.+?)[_-](?P<index>000[0-3])$")


def channel_stem(name: str) -> str | None:
    """The case stem of an nnU-Net channel file (``BRATS_001_0000.nii.gz`` -> ``BRATS_001``),
    else None: such a file is one sequence of a case whose other channels lie beside it."""
    match = _CHANNEL.match(strip_image_suffix(name))
    return match["stem"] if match else None


def _channel_files(names: Sequence[str],
                   order: Sequence[str] = SEQUENCE_ROLES) -> dict[str, dict[str, str]]:
    """Every nnU-Net channel file among ``names``: case stem -> role -> name, channel ``k``
    being ``order[k]``."""
    found: dict[str, dict[str, str]] = {}
    for name in names:
        match = _CHANNEL.match(strip_image_suffix(name))
        if match:
            role = order[int(match["index"])]
            found.setdefault(match["stem"], {})[role] = name
    return found


def channel_groups(names: Sequence[str],
                   order: Sequence[str] = SEQUENCE_ROLES) -> dict[str, dict[str, str]]:
    """nnU-Net / Medical Segmentation Decathlon channel files (``<case>_0000`` .. ``_0003``,
    channel order FLAIR, T1w, T1gd, T2w unless a ``dataset.json`` gives ``order``): case
    stem -> role -> name, for the cases whose four channels are all among ``names``."""
    return {stem: roles for stem, roles in _channel_files(names, order).items()
            if len(roles) == len(SEQUENCE_ROLES)}


def incomplete_channel_groups(names: Sequence[str], order: Sequence[str] = SEQUENCE_ROLES
                              ) -> dict[str, dict[str, str]]:
    """The channel groups :func:`channel_groups` leaves out, a channel or more missing: a
    batch or a training scan reports them as unusable cases rather than pass over them."""
    return {stem: roles for stem, roles in _channel_files(names, order).items()
            if len(roles) < len(SEQUENCE_ROLES)}


def missing_channels(roles: Mapping[str, str], order: Sequence[str] = SEQUENCE_ROLES,
                     stem: str = "") -> str:
    """The channels a group of :func:`incomplete_channel_groups` lacks, as a reader sees them:
    ``0003 (T2)``, or ``B_0003 (T2)`` with ``stem``; comma-separated."""
    prefix = f"{stem}_" if stem else ""
    return ", ".join(f"{prefix}{index:04d} ({ROLE_TITLES[role]})"
                     for index, role in enumerate(order) if role not in roles)


#: A BraTS 2023+ challenge label map: ``BraTS-GLI-00000-000-seg`` (GLI, MEN, MET, SSA, ...).
_BRATS2023_SEG = re.compile(r"^brats-[a-z]+-\d{5}-\d{3}-seg$")


def label_scheme_of_name(name: str) -> str | None:
    """The label scheme a label map's name fixes: ``brats2023`` (1 NETC, 2 SNFH, 3 ET) for
    the BraTS 2023+ challenges' ``BraTS-GLI-00000-000-seg.nii.gz``, whose 4 is BraTS 2024's
    resection cavity, not the 2018 enhancing tumour; None where the values must tell."""
    return "brats2023" if _BRATS2023_SEG.match(strip_image_suffix(name).lower()) else None


def case_id_from_file(name: str) -> str:
    """The case id a file gives (a 4D image, a zipped case, a T1c given alone): its name
    without the image or ``.zip`` ending, ``BRATS_001.nii.gz`` -> ``BRATS_001``."""
    if name.lower().endswith(".zip"):
        return name[: -len(".zip")]
    return strip_image_suffix(name)


def tokens(name: str) -> list[str]:
    """Lower-case word tokens of a name; ``T1+C`` and ``T1+Gd`` become ``t1ce``, a ``C+`` or
    ``+C`` elsewhere ``postcontrast``."""
    text = strip_image_suffix(name).lower()
    # BIDS entities: subject, session, run and space labels say nothing about the sequence
    # (a "ses-pre" session is not pre-contrast, "space-T1w" is a T1's frame); "ce-<agent>"
    # marks a contrast-enhanced image
    text = re.sub(r"(?<![a-z0-9])(sub|ses|run|space)-[a-z0-9]+", " ", text)
    text = re.sub(r"(?<![a-z0-9])ce-[a-z0-9]+", " postcontrast ", text)
    # a subject id "sub_01", "sub_A01", "sub.CC110033" at the start is no subtraction
    # ("T1 POST SUB"); a sequence after "SUB" ("SUB_T1W_3D", "SUB 3D T1") is not an id
    text = re.sub(r"^sub[_ .](?!(t[12]|[234]d)(?![0-9]))[a-z]*\d[a-z0-9]*(?![a-z0-9])", " ",
                  text)
    text = re.sub(r"t2\s*\*", "t2star", text)  # T2* (susceptibility) is not T2
    text = re.sub(r"t2w?[\s_-]*(gre|ffe|fe)(?![a-z0-9])", "t2star", text)  # gradient echo: T2*
    text = re.sub(r"(?<![a-z0-9])[se](t[12]w)(?![a-z0-9])", r"\1", text)  # Philips sT1W, eT2W
    text = re.sub(r"t1\s*\+\s*(c|gd|gad|contrast)\b", "t1ce", text)
    # a contrast mark apart from "T1": "AX T1 MPRAGE C+", "3D T1 BRAVO +C", "T1W_3D_TFE+C"
    text = re.sub(r"\+\s*(c|gd|gad)(?![a-z0-9])", " postcontrast ", text)
    text = re.sub(r"(?<![a-z0-9])c\s*\+(?![a-z0-9])", " postcontrast ", text)
    # a word "T2 FLAIR", not a case id ending in t2 before the sequence ("patient2_flair")
    text = re.sub(r"(?<![a-z0-9])t2\s*[-_ ]?\s*flair", "t2flair", text)
    # Siemens' dark-fluid (FLAIR) series: "t2_tirm_tra_dark-fluid", 3D "t2_spc_da-fl_sag"
    text = re.sub(r"(?<![a-z0-9])(dark|da)[-_ ]?(fluid|fl)(?![a-z0-9])", "darkfluid", text)
    return [t for t in re.split(r"[^a-z0-9]+", text) if t]


def moving_part(words: list[str]) -> list[str]:
    """The words before a registration pipeline's link (``flair_to_t1ce``,
    ``flair_in_t1ce_space``, ``flair_registered_to_t1``): such a file is the first sequence
    moved onto the second, so only the first names what it is. Other names are kept whole."""
    for index, word in enumerate(words[1:], start=1):
        if word in ("to", "registered") or (word == "in" and "space" in words[index + 1:]):
            return words[:index]
    return words


def is_brain_mask(name: str) -> bool:
    """A skull stripping's brain mask (``*_brain_mask``, ``*_bet_mask``, ``brainmask``):
    neither a sequence nor a label map, though it may sit beside either."""
    return _names_brain_mask(set(tokens(name)))


def _names_brain_mask(words: set[str]) -> bool:
    return bool(words & _BRAIN_MASKS or ("mask" in words and words & _BRAIN_MASK_CONTEXT))


def without_case_id(name: str, case_id: str) -> str:
    """``name`` without the case id it starts with, where a separator follows it
    (``subject_t1_flair.nii.gz`` of case ``subject_t1`` -> ``flair.nii.gz``; empty for a
    name that is the case id alone, unless that id is one sequence word, as in a folder
    ``flair/`` holding ``flair.nii.gz``): a case id ending in a sequence-like word (``t1``,
    ``t2``) names no sequence. Unchanged where the name does not start so (``case10_t1``
    of case ``case1``) or no case id is known."""
    stem = strip_image_suffix(name)
    if not case_id or not stem.casefold().startswith(case_id.casefold()):
        return name
    rest = stem[len(case_id):]
    if rest and rest[0].isalnum():
        return name
    if rest.strip(" _-."):
        return rest.lstrip(" _-.") + name[len(stem):]
    # a folder named as a sequence alone (``flair/flair.nii.gz`` beside ``t1.nii.gz`` ...)
    words = tokens(case_id)
    return name if len(words) == 1 and _classify_words(words) else ""


def classify_name(name: str, case_id: str = "") -> str | None:
    """The role (flair, t1, t1ce, t2, seg) a name denotes, or None if it says nothing (or
    names a brain mask). Of ``<a>_to_<b>`` and the like, ``<a>`` (:func:`moving_part`).
    ``case_id``, the name of the case folder the file lies in, is left out where the name
    starts with it (:func:`without_case_id`)."""
    if is_omnet_output(name):
        return None
    words = tokens(without_case_id(name, case_id))
    moving = moving_part(words)
    if moving != words and (role := _classify_words(moving)) is not None:
        return role
    return _classify_words(words)


def names_other_series(name: str) -> bool:
    """A name that makes its series none of the four inputs though it may name one (T2*,
    SWI, a subtraction, a MIP, a dynamic run, a map, a localizer)."""
    return bool(set(tokens(name)) & _NOT_STRUCTURAL)


def described_role(description: str, protocol: str,
                   roles: Sequence[str] = ROLES) -> str | None:
    """The role among ``roles`` that a series' description (a DICOM header's, a dcm2niix
    sidecar's) names, else its protocol name; None where the description names another
    series (:func:`names_other_series`): a derived series keeps its source's protocol name
    ("T1 POST SUB" of protocol "t1_vibe_fs_post")."""
    for name in (description, protocol):
        role = classify_name(name) if name else None
        if role in roles:
            return role
        if names_other_series(name):
            return None
    return None


def _classify_words(words: list[str]) -> str | None:
    """The role a name's lower-case word tokens denote (:func:`classify_name`)."""
    if not words or set(words) & _NOT_STRUCTURAL:
        return None
    found = set(words)
    if _names_brain_mask(found):
        return None
    if found & _SEG:
        return "seg"
    t1_weighted = found & (_T1_CONTRAST | _T1_PLAIN)
    if found & _FLAIR and not (t1_weighted and not found & (_T2 | {"t2flair"})):
        return "flair"  # "AX T1 FLAIR" (GE's T1-weighted FLAIR) is a T1, "AX T2 FLAIR" not
    if found & _T1_CONTRAST:
        return "t1ce"
    if found & _T1_PLAIN:
        if found & _PRE:
            return "t1"
        return "t1ce" if found & _CONTRAST else "t1"
    if found & _T2:
        return "t2"
    return None
