"""nanoBragg's file formats: structure factors, orientation matrices, images (float, integer, PGM, SMV and
the Poisson noise image) and source lists.

Every reader and writer here matches the C program byte for byte or value for value (the
module docstrings list the C quirks that are kept). Functions take and return numpy arrays;
the simulator converts them to torch tensors.

Example:
    >>> from nanobrag_torch.io import format_c_g
    >>> format_c_g(6.45), format_c_g(1e10)
    ('6.45', '1e+10')
"""

from .._c_numbers import c_cast_unsigned, format_c_g
from .hkl import FdumpFormatError, HKLFormatError, HKLTable, read_fdump, read_hkl, write_fdump
from .images import (
    ImageStatistics,
    float_to_int_image,
    float_to_pgm_image,
    image_statistics,
    read_float_image,
    resolve_intfile_scale,
    resolve_pgm_scale,
    roi_mask,
    write_float_image,
    write_pgm,
)
from .matrix import MatrixFormatError, read_mosflm_matrix, reciprocal_vectors
from .noise import NoiseImage, poisson_noise_image
from .smv import (
    SMVFormatError,
    SMVImage,
    machine_byte_order,
    nanobragg_header_values,
    read_smv,
    value_of,
    write_smv,
)
from .sourcefile import SourceFileError, read_sourcefile, read_text_columns

__all__ = [
    "FdumpFormatError",
    "HKLFormatError",
    "HKLTable",
    "ImageStatistics",
    "MatrixFormatError",
    "NoiseImage",
    "SMVFormatError",
    "SMVImage",
    "SourceFileError",
    "c_cast_unsigned",
    "float_to_int_image",
    "float_to_pgm_image",
    "format_c_g",
    "image_statistics",
    "machine_byte_order",
    "nanobragg_header_values",
    "poisson_noise_image",
    "read_fdump",
    "read_float_image",
    "read_hkl",
    "read_mosflm_matrix",
    "read_smv",
    "read_sourcefile",
    "read_text_columns",
    "reciprocal_vectors",
    "resolve_intfile_scale",
    "resolve_pgm_scale",
    "roi_mask",
    "value_of",
    "write_fdump",
    "write_float_image",
    "write_pgm",
    "write_smv",
]
