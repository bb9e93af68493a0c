"""greek: handwritten Greek letters in live or recorded video.

A built-in plugin, registered through the ``vidrec`` entry-point group exactly
as a third-party one is. It shares the video machinery with ``multidigit``
through the core, not by copying or importing that plugin: the symbol-agnostic
segmenter (:mod:`vidrec.segment`) finds the symbols and makes their crops with
the one crop normalisation, the tracker (:mod:`vidrec.tracking`) votes each
symbol's label over recent frames so it does not flicker, and the letter model
(``models/greek``, made by ``vidrec train greek``) names them in one batched
pass. Its "none of these" score (calibrated on MNIST digits) and the confidence
threshold turn down what is not one of its letters. Labels are drawn as the
Greek letters themselves (Pillow with the DejaVu font matplotlib ships), or as
their names where that font is missing.
"""

from __future__ import annotations

from vidrec.hookspecs import hookimpl

__version__ = "0.1.0"

# The model's "none of these" score already takes the probability mass of symbols
# unlike every letter. In video the crops are rougher and there is more that is no
# letter: measured with `vidrec run --plugin greek --min-confidence C`, 0.5 reported
# an alpha on 11 of 60 frames of recordings/empty.mp4 (printed text) and 5 "letters"
# per frame on recordings/sheet_still.mp4 (digits); 0.7 reported 1 and 1, and kept
# 124 of 180 letter sightings on a generated clip of real alpha/beta/gamma (142 at 0.5).
DEFAULT_MIN_CONFIDENCE = 0.7


def _factory(model: str = "greek", min_confidence=None, **options):
    from vidrec_greek.recognizer import GreekLetters

    return GreekLetters(model=model, min_confidence=min_confidence, **options)


@hookimpl
def register_recognizers(register):
    register("greek", _factory, description="handwritten Greek letters (alpha, beta, gamma, ...) in view, tracked")
