"""multidigit: every handwritten digit in view, read as lines of numbers.

A built-in plugin, registered through the ``vidrec`` entry-point group exactly
as a third-party one is. Per frame: the shared segmenter
(:mod:`vidrec.segment`) finds candidate symbols and makes their 28x28 crops
with the one crop normalisation; ONE batched forward pass names them all; the
tracker (:mod:`vidrec.tracking`) votes each symbol's label over the recent
frames so a still digit does not flicker; what is not a digit (sheet edges,
fingers, clothing folds, printed text) is dropped by the segmenter's shape
tests, by a calibrated confidence threshold on the voted label, and by a
word test (a run of closely spaced symbols most of which are not confidently
digits is printed text, and all of it goes); :mod:`vidrec.reading` turns the
rest into the frame's ``text``.
"""

from __future__ import annotations

from vidrec.hookspecs import hookimpl

__version__ = "0.1.0"

# Chosen from measurements on the committed recordings and real handwriting
# (vidrec eval recordings; see the report in tests/test_multidigit.py): real
# digits' voted confidence sits above it, non-digit crops (clutter, folds, faces,
# printed letters) mostly below.
DEFAULT_MIN_CONFIDENCE = 0.8


def _factory(model: str = "mnist", min_confidence=None, **options):
    from vidrec_multidigit.recognizer import MultiDigit

    return MultiDigit(model=model, min_confidence=min_confidence, **options)


@hookimpl
def register_recognizers(register):
    register("multidigit", _factory,
             description="every handwritten digit in view, tracked and read as lines of numbers")
