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
# unlike every letter; in video the crops are rougher and more is in view that is no
# letter. Measured with `vidrec run --plugin greek --min-confidence C` (models/greek,
# soft-kNN, one network): on a generated clip of six real alpha/beta/gamma (30 frames,
# 180 sightings, none named wrong at any C) 0.5 / 0.6 / 0.7 reported 151 / 143 / 121;
# on recordings/sheet_still.mp4 (14 digits, no letters) 4.0 / 3.1 / 1.4 "letters" a
# frame (digits are the most letter-like things there are: a 2 passes for an alpha);
# on recordings/empty.mp4 nothing at any of them.
DEFAULT_MIN_CONFIDENCE = 0.6


def _factory(model: str = "greek", min_confidence=None, **options):
    from vidrec_greek.recognizer import GreekLetters

    return GreekLetters(model=model, min_confidence=min_confidence, **options)


@hookimpl
def register_recognizers(register):
    register("greek", _factory, description="handwritten Greek letters (alpha, beta, gamma, ...) in view, tracked")
