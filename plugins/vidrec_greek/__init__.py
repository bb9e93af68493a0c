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

# The model's own "none of these" score already takes the probability mass of
# symbols unlike every letter; on 10 new writers 0.5 keeps 91% of alpha/beta/gamma
# right and turns down 88% of their other letters (vidrec eval greek).
DEFAULT_MIN_CONFIDENCE = 0.5


def _factory(model: str = "greek", min_confidence=None, **options):
    from vidrec_greek.recognizer import GreekLetters

    return GreekLetters(model=model, min_confidence=min_confidence, **options)


@hookimpl
def register_recognizers(register):
    register("greek", _factory, description="handwritten Greek letters (alpha, beta, gamma, ...) in view, tracked")
