"""singledigit: the digit held inside a box in the middle of the view (the seed's extension C).

A built-in plugin, registered through the ``vidrec`` entry-point group like any
third-party one. The user holds one digit inside the central box (or, with
``--option largest=1``, the largest symbol anywhere in view is taken). The
label and its confidence are drawn, and the 28x28 input the network saw is
shown in a corner, so a wrong answer can be traced to what the model was given.
A box holding several symbols says "several symbols" instead of guessing one.
"""

from __future__ import annotations

from vidrec.hookspecs import hookimpl

__version__ = "0.1.0"

DEFAULT_MIN_CONFIDENCE = 0.85


def _factory(model: str = "digits", min_confidence=None, **options):
    from vidrec_singledigit.recognizer import SingleDigit

    return SingleDigit(model=model, min_confidence=min_confidence, **options)


@hookimpl
def register_recognizers(register):
    register("singledigit", _factory,
             description="the digit held in the central box (largest=1: the largest symbol in view)")
