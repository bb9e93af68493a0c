"""multidigit on real frames and clips, plus the reading order and the tracker it relies on.

The bar of issue 3 is asserted by scoring the plugin (``vidrec eval recordings``,
Python API) on the committed recordings and on clips made at test time from the
real handwriting in ../shared/data/digits.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vidrec.reading import read_text
from vidrec.tracking import Tracker

ROOT = Path(__file__).resolve().parents[1]
RECORDINGS = ROOT / "recordings"

BAR = {"precision": 0.98, "recall": 0.98, "exact_text": 0.95, "flicker_per_s": 0.2}


@pytest.fixture(scope="module")
def model():
    from vidrec.modelstore import models_dir

    p = models_dir() / "digits.safetensors"
    if not p.exists():
        pytest.skip(f"the committed digit model {p} is missing")
    return "digits"


def _check_bar(res: dict) -> None:
    o = res["overall"]
    per = {c["clip"]: c for c in res["clips"]}
    msg = f"overall {o}; per clip {per}"
    assert o["precision"] >= BAR["precision"], msg
    assert o["recall"] >= BAR["recall"], msg
    assert o["exact_text"] >= BAR["exact_text"], msg
    assert o["flicker_per_s"] is None or o["flicker_per_s"] < BAR["flicker_per_s"], msg
    for c in res["clips"]:
        if c["empty_frames"] and c["digits"] == 0:
            assert c["false_per_empty_frame"] == 0.0, f"digits reported on empty frames of {c['clip']}"


# ------------------------------------------------------------------ reading order
def test_reading_lines_numbers_and_spaces():
    # row 1: "27" then a gap then "1"; row 2 (lower): "8"
    boxes = [(100, 100, 20, 30), (124, 101, 20, 30), (190, 99, 20, 30), (110, 160, 20, 30)]
    assert read_text(boxes, ["2", "7", "1", "8"]) == "27 1\n8"
    # order given does not matter
    assert read_text(boxes[::-1], ["8", "1", "7", "2"]) == "27 1\n8"


def test_reading_a_slanted_sheet_keeps_rows_apart():
    # two rows at 12 degrees: the end of row 1 is lower than the start of row 2
    import math

    boxes, labels = [], []
    for row, y0 in enumerate((100, 150)):
        for k in range(8):
            x = 100 + 40 * k
            boxes.append((x, y0 + math.tan(math.radians(12)) * (x - 100), 24, 32))
            labels.append(str((row * 8 + k) % 10))
    assert boxes[7][1] > boxes[8][1]
    assert read_text(boxes, labels) == "01234567\n89012345"


def test_line_angle_of_turned_lines_and_of_too_short_ones():
    import math

    from vidrec.reading import line_angle

    def row(y0, angle, n):  # a row of n digits falling to the right by ``angle`` degrees
        return [(100 + 55 * i, y0 + 55 * i * math.tan(math.radians(angle)), 30, 40) for i in range(n)]

    assert abs(line_angle(row(100, 15, 5) + row(250, 15, 4)) - 15) < 1e-6
    assert abs(line_angle(row(100, -12, 4)) + 12) < 1e-6
    assert line_angle(row(100, 15, 2) + row(250, 15, 2)) is None  # no line of three


def test_reading_a_turned_sheet_keeps_a_number_after_a_wide_gap_in_its_line():
    """Lines turned 16 degrees: the first digit, 2.5 heights before the next, lies too far below
    a level line's reach; the lines' own turn (read off the long lines) brings it back in."""
    import math

    from vidrec.reading import chains

    t = math.tan(math.radians(16))
    boxes = [(x, 100 + x * t, 30, 40) for x in (40, 160, 200, 240, 330)]
    boxes += [(x, 220 + x * t, 30, 40) for x in (40, 80, 120, 210, 250, 290)]
    labels = list("04543") + list("765908")
    assert read_text(boxes, labels) == "0 454 3\n765 908"
    assert [0] in chains(boxes)  # (a level start alone splits it off)


def test_reading_a_turned_sheet_orders_its_lines_across_their_direction():
    """Lines turned 25 degrees, a long one above a short one that starts at its left: the short
    line's centres lie higher on the frame than the long line's on average (its right end falls
    far), yet it is the second line of the sheet. Read as the README's turned sheet, where
    "0 6" came before "473 932 114" on 13 frames."""
    import math

    t = math.tan(math.radians(25))
    long_line = [(100 + 40 * k, 100 + 40 * k * t, 30, 34) for k in range(11)]
    short = [(100 + 60 * k, 170 + 60 * k * t, 30, 34) for k in range(2)]
    cy = [y + 17 for _, y, _, _ in long_line + short]
    assert sum(cy[11:]) / 2 < sum(cy[:11]) / 11  # (what the lines' heights alone would go by)
    assert read_text(long_line + short, list("47393211401") + ["0", "6"]) == "47393211401\n0 6"


def test_reading_a_turned_sheet_keeps_a_symbol_in_line_with_the_sheet_after_a_steep_pair():
    """The truth boxes of seed 3101's real-digit still sheet turned -20 degrees (its lines at
    -22): in "67 2" the 7 stands high beside the 6, so the pair's slope (-0.73) pulls the line's
    running direction far above the sheet's (-0.41), and the 2 after the gap fell outside it
    ("67" and "2" read as two lines). A symbol in line with the sheet's own direction joins."""
    boxes = [(96, 175, 32, 55), (134, 165, 22, 39), (152, 149, 48, 44), (261, 109, 38, 38), (300, 89, 40, 44),
             (350, 67, 52, 55), (139, 253, 32, 42), (184, 233, 30, 48), (279, 183, 38, 57), (324, 172, 50, 51),
             (437, 120, 38, 40), (168, 339, 32, 48), (200, 319, 34, 40), (312, 282, 39, 53)]
    assert read_text(boxes, list("41765041529672")) == "417 650\n41 52 9\n67 2"


def test_reading_a_short_1_between_two_numbers_keeps_the_line_whole():
    """A box skipped by its left neighbour (whose next-nearest was a little better in line
    with it) that then takes that neighbour's successor leaves the neighbour to link to it:
    the boxes of a frame whose sidecar reads "20 188 7" (a short 1 standing high in its row)
    were read as "20" and "188 7" on two lines."""
    boxes = [(136, 140, 33, 40), (177, 141, 29, 45), (271, 144, 4, 35), (281, 144, 28, 44),
             (317, 144, 29, 44), (424, 147, 32, 47), (147, 213, 44, 40), (252, 219, 35, 44),
             (289, 225, 27, 40)]
    assert read_text(boxes, list("201887540")) == "20 188 7\n5 40"


def test_reading_nothing():
    assert read_text([], []) == ""


# ------------------------------------------------------------------ tracker
def _p(label, conf=0.9):
    p = np.full(10, (1 - conf) / 9)
    p[label] = conf
    return p


def test_tracker_votes_out_a_one_frame_mistake_and_rereads_every_frame():
    tr = Tracker(history=6)
    box = [[100, 100, 20, 30]]
    labels = []
    for k in range(12):
        lab = 3 if k == 4 else 7  # one bad frame
        (t,) = tr.update(box, [_p(lab)])
        labels.append(t.label)
    assert labels == [7] * 12
    for _ in range(6):  # the sheet is swapped for another: the label follows, it is not fixed
        (t,) = tr.update(box, [_p(1, 0.99)])
    assert t.label == 1


def test_tracker_forgets_what_left_and_follows_a_moving_sheet():
    tr = Tracker(max_missed=2)
    a = tr.update([[100, 100, 20, 30], [140, 100, 20, 30]], [_p(1), _p(2)])
    ids = [t.id for t in a]
    for step in range(1, 6):  # the sheet moves 30 px a frame: more than the digit spacing allows by overlap
        out = tr.update([[100 + 30 * step, 100, 20, 30], [140 + 30 * step, 100, 20, 30]], [_p(1), _p(2)])
        assert [t.id for t in out] == ids
        assert [t.label for t in out] == [1, 2]
    for _ in range(3):
        assert tr.update(np.zeros((0, 4)), np.zeros((0, 10))) == []
    assert tr.tracks == []


# ------------------------------------------------------------------ the plugin
def test_plugin_is_registered_and_rejects_bad_options(model):
    from vidrec.errors import VidrecError
    from vidrec.plugins import make_recognizers

    ((name, rec),) = make_recognizers(["multidigit"], {})
    assert name == "multidigit" and rec.min_confidence > 0
    with pytest.raises(VidrecError, match="no option 'bogus'"):
        make_recognizers(["multidigit"], {"bogus": "1"})
    with pytest.raises(VidrecError, match="min_confidence"):
        make_recognizers(["multidigit"], {"min_confidence": "2"})
    with pytest.raises(VidrecError, match="still_frames='-3' must be at least 0"):
        make_recognizers(["multidigit"], {"still_frames": "-3"})
    with pytest.raises(VidrecError, match="split_keyframes='maybe' must be true or false"):
        make_recognizers(["multidigit"], {"split_keyframes": "maybe"})
    for key, bad, want in (("max_looks", "-1", "at least 0"), ("max_new_looks", "-2", "at least 0"),
                           ("reclassify_every", "0", "at least 1"), ("history", "0", "at least 1"),
                           ("max_missed", "2.5", "a whole number"), ("deskew", "60", "between 0 and 45"),
                           ("still_share", "2.5", "a whole number"), ("cut_whole", "1.5", "between 0 and 1"),
                           ("cut_pieces", "-0.1", "between 0 and 1"), ("cut_aspect", "-1", "at least 0"),
                           ("pair_confidence", "2", "between 0 and 1"), ("pair_aspect", "-1", "at least 0")):
        with pytest.raises(VidrecError, match=f"{key}='{bad}' must be {want}"):
            make_recognizers(["multidigit"], {key: bad})
    ((_, off),) = make_recognizers(["multidigit"], {"still_frames": "0", "split_keyframes": "off"})
    assert off.gate is None and off.split_keyframes is False


def test_a_doubtful_mark_between_sure_digits_is_held_like_a_shown_digit(model):
    """The mirror of the printed-word test: one doubtful mark in a run of sure digits is
    a digit written less clearly; a doubtful mark alone, two in a run, or a run with a
    turned-down mark in it get no such credit. One short digit among three does not make
    a run printed text; two short marks beside a tall one do."""
    from vidrec.plugins import make_recognizers

    ((_, rec),) = make_recognizers(["multidigit"], {})
    rec.segmenter.rejected = []
    run = [(16, 148, 25, 31), (56, 151, 19, 24), (81, 152, 23, 36)]  # "473": the 7 faint and short
    alone = [(300, 150, 22, 34)]
    boxes = run + alone
    sure = np.array([True, False, True, False])
    drop = rec._printed_text(boxes, sure)
    assert not drop.any()
    assert rec._within_numbers(boxes, sure, drop).tolist() == [False, True, False, False]
    assert not rec._within_numbers(boxes, np.array([True, False, False, True]), drop).any()
    rec.segmenter.rejected = [(108, 160, 20, 22)]  # a turned-down mark closes the run
    assert not rec._within_numbers(boxes, sure, rec._printed_text(boxes, sure))[:3].any()
    rec.segmenter.rejected = []
    # "Box": x-height letters beside a capital, all read surely, are a printed word
    word = [(100, 100, 24, 36), (128, 112, 22, 24), (154, 112, 22, 24)]
    assert rec._printed_text(word, np.ones(3, bool)).all()


def test_sure_digits_in_a_line_of_printed_words_are_letters(model):
    """A bold printed "OIL and SALT" as the segmenter saw it on a hand-held card: the O and
    I merged read as a sure 2, the L as a sure 6; "and S" is a printed word (turned-down
    marks and a doubtful one). "OIL" stands as a word of its own (the "a" was lost, so the
    gap is 1.7 heights), yet it is set in the same line, at the same height: text too.
    A handwritten number farther off, or of another height, in that line keeps its digits."""
    from vidrec.plugins import make_recognizers

    ((_, rec),) = make_recognizers(["multidigit"], {})
    rec.segmenter.rejected = [(239, 201, 63, 27), (211, 205, 20, 24)]  # "nd S", "a"
    oil = [(116, 209, 31, 27), (148, 209, 19, 27)]
    s_ = [(299, 199, 21, 25)]
    drop = rec._printed_text(oil + s_, np.array([True, True, True]))
    assert drop.tolist() == [True, True, True]
    # the same two sure digits with the printed word 3 heights away, or half their height
    far = [(116 - 60, 209, 31, 27), (148 - 60, 209, 19, 27)]
    assert not rec._printed_text(far + s_, np.array([True, True, True]))[:2].any()
    tall = [(60, 180, 44, 54), (106, 180, 40, 54)]
    assert not rec._printed_text(tall + s_, np.array([True, True, True]))[:2].any()
    # the rule can be turned off
    ((_, off),) = make_recognizers(["multidigit"], {"line_text": 0})
    off.segmenter.rejected = rec.segmenter.rejected
    assert not off._printed_text(oil + s_, np.array([True, True, True]))[:2].any()


def test_a_turned_number_of_uneven_heights_is_no_printed_word(model):
    """Box heights tell letters' heights only in a level word: "932" of the README's real-digit
    sheet turned 20 degrees and moving (25 degrees on that frame) had boxes 36, 32 and 51 px tall,
    the wide 2's grown by its width, and was taken for a printed word of x-height letters and a
    capital, with its whole line. The same boxes set level are still such a word."""
    from vidrec.plugins import make_recognizers

    ((_, rec),) = make_recognizers(["multidigit"], {})
    rec.segmenter.rejected = []
    turned = [(296, 139, 39, 36), (323, 155, 35, 32), (356, 163, 37, 51)]
    assert not rec._printed_text(turned, np.ones(3, bool)).any()
    level = [(296, 160, 39, 36), (323, 164, 35, 32), (356, 145, 37, 51)]  # the same feet line
    assert rec._printed_text(level, np.ones(3, bool)).all()


@pytest.mark.slow
def test_a_moving_sheet_held_turned_keeps_its_lines(model, shared_data, mnist_ready, tmp_path):
    """The README's real-digit moving sheet turned 20 degrees (its own turn on top): the line
    "473 932 114" went as printed text on 30 of 45 frames (recall 56.6%), and on 13 more the
    short line below it was read first. Every digit is found, and the lines come in order."""
    from vidrec.evalvideo import evaluate_recordings
    from vidrec.recordings import make_recordings

    # (the README's command makes the clips in this order, each from its own random stream)
    make_recordings(tmp_path, source=str(shared_data / "digits"), names=["single_digit", "sheet_still", "sheet_moving"],
                    seed=2502, turn=20)
    o = evaluate_recordings([tmp_path / "sheet_moving.mp4"], plugin="multidigit")["overall"]
    assert o["precision"] >= 0.99 and o["recall"] >= 0.98 and o["exact_text"] >= 0.85, o


def test_a_sure_digit_beside_a_run_of_touching_letters_is_a_letter(model):
    """The T of a bold "SALT" read as a sure 7, beside "SAL" turned down as one mark too
    wide for a symbol: that mark stands for two or more, so the word is mostly not digits.
    Beside a turned-down mark of one symbol's width the 7 keeps the benefit of the doubt."""
    from vidrec.plugins import make_recognizers

    ((_, rec),) = make_recognizers(["multidigit"], {})
    t = [(237, 276, 13, 20)]
    rec.segmenter.rejected = [(196, 277, 41, 20)]
    assert rec._printed_text(t, np.array([True])).tolist() == [True]
    rec.segmenter.rejected = [(214, 277, 18, 20)]
    assert rec._printed_text(t, np.array([True])).tolist() == [False]
    ((_, off),) = make_recognizers(["multidigit"], {"wide_mark": 0})
    off.segmenter.rejected = [(196, 277, 41, 20)]
    assert off._printed_text(t, np.array([True])).tolist() == [False]


def test_a_printed_word_of_letters_that_look_like_digits_is_text(model):
    """A bold "Total ISO" (OpenCV 5's putText, generated empty seed 320): the l, I, S and O read
    as sure 1, 1, 5 and 0; "To" and "ta" were turned down, each a pair of touching letters.
    "ta" is 1.29 heights wide: counted as one mark, the word was three letters and four
    "digits", and all four were shown; counted as the two letters it is, the word is text."""
    from vidrec.plugins import make_recognizers

    ((_, rec),) = make_recognizers(["multidigit"], {})
    digits = [(183, 207, 7, 24), (199, 207, 7, 24), (207, 205, 19, 24), (225, 204, 23, 24)]
    rec.segmenter.rejected = [(117, 211, 33, 24), (151, 209, 31, 24)]
    sure = np.ones(4, bool)
    assert rec._printed_text(digits, sure).all()
    # (the word stands on one baseline, which makes it text by itself too: with the turned-down
    # marks' feet moved off that line, the count of marks alone decides)
    rec.segmenter.rejected = [(117, 214, 33, 24), (151, 206, 31, 24)]
    assert rec._printed_text(digits, sure).all()
    ((_, old),) = make_recognizers(["multidigit"], {"wide_mark": 1.3})
    old.segmenter.rejected = rec.segmenter.rejected
    assert not old._printed_text(digits, sure).any()


def test_half_turned_down_is_text_only_when_the_sure_marks_are_level_as_type(model):
    """A handwritten row whose 5 was turned down in two pieces (its bar stood off to the right),
    beside 1s of 43 and 36 px: half the word turned down, but digits of a hand, not type (held-out
    mnist seed 9's moving sheet lost its top row for 16 frames). Type stands level: the same
    word with its sure marks of one height is printed."""
    from vidrec.plugins import make_recognizers

    ((_, rec),) = make_recognizers(["multidigit"], {})
    rec.segmenter.rejected = [(213, 168, 27, 32), (240, 167, 17, 28)]
    hand = [(265, 169, 29, 43), (297, 168, 12, 36)]
    sure = np.ones(2, bool)
    assert not rec._printed_text(hand, sure).any()
    typeset = [(265, 169, 12, 36), (285, 168, 12, 36)]
    assert rec._printed_text(typeset, sure).all()


def test_a_printed_line_on_one_baseline_is_text_even_when_most_of_it_reads_as_digits(model):
    """A bold "OIL and SALT" on the frame it came into view (generated empty seed 208): O I L S
    L T read as sure digits, A doubtful, "a", "n", "d" turned down: 4 of 10 marks, under the
    share that makes a word printed, and it was shown, then kept for as long as the sheet held
    still. Type stands on one baseline; the same marks with the feet of a hand are not text."""
    from vidrec.plugins import make_recognizers

    ((_, rec),) = make_recognizers(["multidigit"], {})
    marks = [(119, 211, 20, 24), (140, 211, 9, 23), (149, 209, 17, 24), (236, 203, 20, 25), (256, 203, 23, 24),
             (279, 201, 19, 24), (292, 200, 20, 24)]
    sure = np.array([True, True, True, True, False, True, True])
    rec.segmenter.rejected = [(172, 213, 19, 19), (192, 212, 8, 19), (200, 205, 28, 24)]
    assert rec._printed_text(marks, sure).all()
    jitter = [4, -3, 2, -4, 3, -2, 4]  # feet a few px off the line, as a hand writes
    hand = [(x, y + dy, w, h) for (x, y, w, h), dy in zip(marks, jitter)]
    assert not rec._printed_text(hand, sure).any()


def test_a_turned_down_mark_far_taller_than_the_digits_is_no_letter_among_them(model):
    """The sheet's edge with the room behind it, turned down as one mark 249 px tall beside a
    row of handwritten "35 947" (new layouts of the real digits, moving sheet): as a "letter"
    of the word it was the tall one among short ones, a printed word, and the row was dropped
    for 4 frames. A mark over twice the digits' height is no letter; one of their size still is."""
    from vidrec.plugins import make_recognizers

    ((_, rec),) = make_recognizers(["multidigit"], {})
    row = [(65, 126, 33, 42), (108, 131, 37, 39), (215, 143, 20, 40), (241, 141, 26, 48), (282, 148, 25, 46)]
    sure = np.ones(5, bool)
    rec.segmenter.rejected = [(330, 43, 248, 249)]
    assert not rec._printed_text(row, sure).any()
    # the same place held by turned-down marks of the digits' size: a word of letters after all
    rec.segmenter.rejected = [(312, 150, 24, 44), (340, 148, 26, 45), (370, 151, 22, 43), (396, 149, 25, 44)]
    assert rec._printed_text(row, sure)[2:].all()


def _card_with_print(digits, words, number_at, number_h):
    """A grey card with bold printed lines (cv2's Hershey font, thick) and a handwritten
    number of four MNIST test digits ``number_h`` px tall at ``number_at``."""
    import cv2

    im = np.full((480, 640), 215, np.uint8)
    for i, w in enumerate(words):
        cv2.putText(im, w, (60, 120 + 70 * i), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 40, 4, cv2.LINE_AA)
    x0, y0 = number_at
    for d in digits:
        d = cv2.resize(d, (number_h, number_h))
        roi = im[y0:y0 + number_h, x0:x0 + number_h]
        np.minimum(roi, (215 - d.astype(np.float32) * 0.7).astype(np.uint8), out=roi)
        x0 += int(0.95 * number_h)
    return cv2.cvtColor(cv2.GaussianBlur(im, (3, 3), 0), cv2.COLOR_GRAY2BGR)


def test_bold_printed_lines_give_no_digits_beside_a_handwritten_number(model, mnist_ready):
    """Rendered bold print, read by the old word test as a 2 (O and I merged) and a 7 (a T
    standing apart from "otal"): every mark of the printed lines is text, while the
    handwritten number below, and one written larger at the end of a printed line, are read."""
    import cv2
    import torch

    from vidrec import datasets
    from vidrec.plugins import make_recognizers
    from vidrec.types import Frame

    x, y = datasets.load_arrays("mnist", False)
    truth = "".join(str(int(v)) for v in y[:4])
    cases = [(["OIL and SALT", "Total ISO", "Invoice No."], (60, 380), 40, 380),
             (["OIL and SALT", "Total ISO"], (215, 152), 44, 150)]  # after "Total ISO"
    for words, at, h, number_y in cases:
        im = _card_with_print(x[:4], words, at, h)
        ((_, rec),) = make_recognizers(["multidigit"], {})
        with torch.inference_mode():
            for k in range(4):
                f = Frame(k, k / 15, im, cv2.cvtColor(im, cv2.COLOR_BGR2GRAY))
                preds = rec.classify(f, rec.segment(f, None), None)
        rows = {}
        for p in sorted(preds, key=lambda p: p.region.box[0]):
            rows.setdefault(abs(p.region.box[1] - number_y) < h, []).append(p.label)
        assert rows.get(False) is None, f"printed letters read as digits: {rows}, words {words}"
        assert "".join(rows.get(True, [])) == truth, f"the handwritten number: {rows}, words {words}"


def test_tracker_counts_label_changes():
    tr = Tracker(history=4)
    box = [[100, 100, 20, 30]]
    for lab in (1, 1, 1):
        (t,) = tr.update(box, [_p(lab, 0.7)])
    assert t.label == 1 and t.label_changes == 0
    for lab in (4, 4, 4, 1, 1, 1, 1):  # a 1 the network half takes for a 4
        (t,) = tr.update(box, [_p(lab, 0.7)])
    assert t.label == 1 and t.label_changes == 2
    # looks since the vote last moved: the 1's fifth and later looks (the vote came back to
    # 1 on its second), and on from there while it holds
    steady = t.steady
    assert 0 < steady < 4
    (t,) = tr.update(box, [_p(1, 0.7)])
    assert t.steady == steady + 1 and t.label_changes == 2
    (t,) = tr.update(box, [_p(4, 0.99)])
    (t,) = tr.update(box, [_p(4, 0.99)])
    assert t.label == 4 and t.steady <= 1 and t.label_changes == 3


def test_one_forward_pass_per_frame_and_nothing_left_drawn(model):
    """A sheet frame, then empty frames: every digit named in one batch, then nothing."""
    import cv2
    import torch

    from vidrec.plugins import make_recognizers
    from vidrec.types import Frame

    from vidrec.datasets import load_arrays
    from vidrec.recordings import Glyph, _tight, draw_glyph

    ((_, rec),) = make_recognizers(["multidigit"], {})
    calls = []
    rec.model.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    x, y = load_arrays("mnist", False)
    # the first MNIST test digits of each class, written as "27 18" in dark blue
    first = {str(int(lab)): i for i, lab in reversed(list(enumerate(y[:200])))}
    sheet = np.full((280, 440, 3), 235, np.float32)
    rng = np.random.default_rng(0)
    left = 40.0
    for d, gap in zip("2718", (12, 80, 12, 0)):  # gaps in px at a digit height of 60
        g = Glyph(d, _tight(x[first[d]].astype(np.float32) / 255))
        left = draw_glyph(sheet, g, left, 100, 60, (120, 40, 20), rng)[:, 0].max() + gap
    img = np.full((480, 640, 3), 60, np.uint8)
    img[100:380, 100:540] = sheet.astype(np.uint8)
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    with torch.inference_mode():
        regions = rec.segment(Frame(0, 0.0, img, gray), None)
        preds = rec.classify(Frame(0, 0.0, img, gray), regions, None)
    assert calls == [len(regions)] and len(regions) == 4
    assert rec.text(preds) == "27 18"
    blank = np.full_like(img, 60)
    for k in range(1, 3):
        f = Frame(k, k / 15, blank, cv2.cvtColor(blank, cv2.COLOR_BGR2GRAY))
        assert rec.classify(f, rec.segment(f, None), None) == []


@pytest.mark.slow
def test_bar_on_committed_recordings(model):
    from vidrec.evalvideo import evaluate_recordings

    if not any(RECORDINGS.glob("*.json")):
        pytest.skip("no committed recordings")
    _check_bar(evaluate_recordings([RECORDINGS], plugin="multidigit"))


@pytest.fixture(scope="module")
def real_clips(tmp_path_factory, shared_data, mnist_ready):
    digits = shared_data / "digits"
    if not digits.is_dir():
        pytest.skip(f"no real digits at {digits}")
    from vidrec.recordings import make_recordings

    out = tmp_path_factory.mktemp("real_clips")
    make_recordings(out, source=str(digits), seed=2502)
    return out


@pytest.mark.slow
def test_bar_on_clips_from_real_handwriting(model, real_clips):
    from vidrec.evalvideo import evaluate_recordings

    _check_bar(evaluate_recordings([real_clips], plugin="multidigit"))


def test_still_digits_reuse_their_look_but_each_is_looked_at_again_within_the_window(model):
    """A still sheet: after the first frame only a few crops per frame are named, and no
    track goes longer than ``reclassify_every`` frames without a fresh look (labels are
    never fixed once); a digit that changes shape is looked at on the very next frame.
    (Every frame analysed: ``still_frames=0``; keyframes are tested below.)"""
    import cv2
    import torch

    from vidrec.plugins import make_recognizers
    from vidrec.types import Frame

    ((_, rec),) = make_recognizers(["multidigit"], {"still_frames": "0"})
    every = rec.reclassify_every
    sizes = []
    rec.model.register_forward_hook(lambda m, i, o: sizes.append(i[0].shape[0]))
    sheet_with = _sheet

    img = sheet_with("2718")
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    n_frames = 4 * every
    with torch.inference_mode():
        for k in range(n_frames):
            f = Frame(k, k / 15, img, gray)
            preds = rec.classify(f, rec.segment(f, None), None)
            assert rec.text(preds) == "2718"
            assert all(t.memo is not None and t.memo["age"] < every for t in rec.tracker.tracks)
    assert sizes[0] == 4
    # after the first frame: about one look per track every ``every`` frames, not one per frame
    expected = (n_frames - 1) * 4 / every
    assert abs((sum(sizes) - 4) - expected) <= 4, sizes
    # the 1 becomes a 4 (another shape in its place): named afresh at once
    sizes.clear()
    img2 = sheet_with("2748")
    f = Frame(n_frames, n_frames / 15, img2, cv2.cvtColor(img2, cv2.COLOR_BGR2GRAY))
    with torch.inference_mode():
        rec.classify(f, rec.segment(f, None), None)
    assert sizes and sizes[0] >= 1


def test_known_tracks_looked_at_again_at_most_max_looks_a_frame_new_ones_at_once(model):
    """Digits redrawn a size larger or smaller every frame (a sheet brought nearer and
    back) change every box by more than the reuse tolerance, so every track wants a fresh
    look each frame: at most ``max_looks`` get one (the frame-time spike a live view
    stutters at is bounded), the others keep their last look, the oldest go first so none
    is starved, and the text stays right. New symbols are all named on their first frame."""
    import cv2
    import torch

    from vidrec.datasets import load_arrays
    from vidrec.plugins import make_recognizers
    from vidrec.recordings import Glyph, _tight, draw_glyph
    from vidrec.types import Frame

    ((_, rec),) = make_recognizers(["multidigit"], {"max_looks": "2", "still_frames": "0"})
    assert rec.max_looks == 2
    sizes = []
    rec.model.register_forward_hook(lambda m, i, o: sizes.append(i[0].shape[0]))
    x, y = load_arrays("mnist", False)
    first = {str(int(lab)): i for i, lab in reversed(list(enumerate(y[:200])))}
    glyphs = [Glyph(d, _tight(x[first[d]].astype(np.float32) / 255)) for d in "271845"]

    def frame_at(k: int, height: float) -> Frame:
        sheet = np.full((280, 440, 3), 235, np.float32)
        rng = np.random.default_rng(0)
        for j, g in enumerate(glyphs):  # same centres, another size
            draw_glyph(sheet, g, 50 + 68 * j - height / 3, 140 - height / 2, height, (120, 40, 20), rng)
        img = np.full((480, 640, 3), 60, np.uint8)
        img[100:380, 100:540] = sheet.astype(np.uint8)
        return Frame(k, k / 15, img, cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))

    max_age = 0
    with torch.inference_mode():
        for k in range(12):
            f = frame_at(k, 44.0 if k % 2 == 0 else 50.0)
            preds = rec.classify(f, rec.segment(f, None), None)
            assert rec.text(preds).replace(" ", "") == "271845", k
            if k >= 3:
                max_age = max(max_age, max(t.memo["age"] for t in rec.tracker.tracks))
    assert sizes[0] == 6  # every new symbol named on its first frame
    assert all(s <= 2 for s in sizes[1:]), sizes
    assert sum(sizes[1:]) >= 2 * 10  # the cap is used, not left idle
    assert max_age <= 2 * rec.reclassify_every  # no track starves while others keep changing


def _sheet(text: str, shift: tuple[int, int] = (0, 0)) -> np.ndarray:
    """MNIST test digits written on a sheet held in a darker scene (the sheet moved by ``shift``)."""
    from vidrec.datasets import load_arrays
    from vidrec.recordings import Glyph, _tight, draw_glyph

    x, y = load_arrays("mnist", False)
    first = {str(int(lab)): i for i, lab in reversed(list(enumerate(y[:200])))}
    sheet = np.full((280, 440, 3), 235, np.float32)
    rng = np.random.default_rng(0)
    left = 40.0
    for d in text:
        g = Glyph(d, _tight(x[first[d]].astype(np.float32) / 255))
        left = draw_glyph(sheet, g, left, 100, 60, (120, 40, 20), rng)[:, 0].max() + 14
    img = np.full((480, 640, 3), 60, np.uint8)
    dx, dy = shift
    img[100 + dy:380 + dy, 100 + dx:540 + dx] = sheet.astype(np.uint8)
    return img


def _run(rec, images, start: int = 0):
    import cv2
    import torch

    from vidrec.types import Frame

    out = []
    with torch.inference_mode():
        for k, img in enumerate(images, start):
            f = Frame(k, k / 15, img, cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
            preds = rec.classify(f, rec.segment(f, None), None)
            out.append((rec.text(preds), sorted((p.track_id, p.label, tuple(int(v) for v in p.region.box))
                                                for p in preds)))
    return out


def test_a_still_sheet_is_analysed_on_keyframes_and_a_new_digit_on_its_first_frame(model):
    """Frames that show the last analysed scene carry its digits instead of being analysed
    again: two frames to settle, then one keyframe every ``still_frames``, spread over four
    frames (binarise; group and test; plan and crop at most ``still_looks`` looks; name) so no
    frame pays for more than one; a digit written on the sheet is news, read on the very frame
    it appears;
    what the carried frames report is what analysing every frame reports."""
    from vidrec.plugins import make_recognizers

    ((_, rec),) = make_recognizers(["multidigit"], {"still_frames": "10"})
    ((_, every),) = make_recognizers(["multidigit"], {"still_frames": "0"})
    sizes = []
    rec.model.register_forward_hook(lambda m, i, o: sizes.append(i[0].shape[0]))
    images = [_sheet("2718")] * 25 + [_sheet("27184")] * 16
    got, want = _run(rec, images), _run(every, images)
    assert [t for t, _ in got] == ["2718"] * 25 + ["27184"] * 16
    assert got == want  # the same digits, tracks and boxes as analysing every frame
    # analysed: frames 0-1 (settle), 25-26 (news, settle) in full; a timed keyframe binarised
    # on 12 (still_frames after the last analysis), grouped on 13, cropped on 14, named on 15;
    # after the news, one binarised on 37 and named on 40
    assert (rec.keyframes, rec.split_count, rec.still_count) == (6, 2, 35)
    # every symbol named on the first frame; later looks (the timed keyframes' too: a label is
    # never fixed once) stay within still_looks
    assert sizes[0] == 4 and len(sizes) == 5 and sizes[2] <= rec.still_looks and sizes[4] <= rec.still_looks, sizes
    # a carried frame shows its digits too: the display hysteresis (a shown digit is held to
    # keep_confidence after 3 frames shown) counts it, else one doubtful look at a timed keyframe
    # hid a digit shown for a second (held-out real seed 29, mnist seed 21)
    runs = sorted(t.shown_run for t in rec.tracker.tracks)
    assert runs == [16] + [41] * 4, runs
    assert every.keyframes == 0 and every.gate is None


def test_a_sheet_moving_a_little_carries_its_boxes_along(model):
    """A sheet shifted a few pixels (a hand's tremor) is the same scene: its digits are
    carried, their boxes moved by the measured shift, within the gate's slack (a
    thumbnail pixel, 4 px at 640x480) of where analysing the frame puts them; a bigger
    jump is analysed afresh."""
    from vidrec.plugins import make_recognizers

    ((_, rec),) = make_recognizers(["multidigit"], {})
    ((_, every),) = make_recognizers(["multidigit"], {"still_frames": "0"})
    shifts = [(0, 0), (0, 0), (2, 1), (4, 2), (5, 4), (3, 5), (40, 10), (40, 10), (41, 12)]
    images = [_sheet("2718", s) for s in shifts]
    got, want = _run(rec, images), _run(every, images)
    # 0, 1 (settle), the jump (it shows the tracks the frame before showed: settled at once)
    assert rec.keyframes == 3
    for k, ((tg, pg), (tw, pw)) in enumerate(zip(got, want)):
        assert tg == tw == "2718", k
        for (_, lg, bg), (_, lw, bw) in zip(pg, pw):
            assert lg == lw and max(abs(a - b) for a, b in zip(bg, bw)) <= 4, (k, bg, bw)


@pytest.mark.parametrize("old,new", [("7", "4"), ("3", "8")])
def test_a_card_swapped_in_place_shows_the_new_digit_on_its_first_frame(model, old, new):
    """Another digit in the same box (a card swapped): its stroke layout differs from the
    track's last look by far more than a moved or blurred digit's, so the old digit's votes
    are dropped and the new one is shown at once, not after a blank frame while they fade."""
    from vidrec.plugins import make_recognizers

    images = [_sheet(old)] * 8 + [_sheet(new)] * 4
    ((_, rec),) = make_recognizers(["multidigit"], {})
    assert [t for t, _ in _run(rec, images)] == [old] * 8 + [new] * 4
    ((_, before),) = make_recognizers(["multidigit"], {"swap_shape": "0"})  # without: a blank frame
    assert [t for t, _ in _run(before, images)][8] == ""


def test_a_look_that_disagrees_with_the_vote_is_not_carried_over(model):
    """A 6 swapped for a 5 that the network still gives the 6 some of: no vote restart, so
    the vote moves over several frames. Those frames are analysed (each adds the look again),
    not carried: carrying the keyframe showed the old 6 for as long as the sheet held still."""
    from vidrec.plugins import make_recognizers

    ((_, rec),) = make_recognizers(["multidigit"], {})
    texts = [t for t, _ in _run(rec, [_sheet("6")] * 8 + [_sheet("5")] * 16)]
    assert texts[:8] == ["6"] * 8
    assert "6" not in texts[8 + 3:] and texts[-8:] == ["5"] * 8, texts


def _sheet_2718(grey_of_7: int) -> np.ndarray:
    """MNIST test digits "2718" on a sheet in a dark room, the 7 in grey ``grey_of_7``."""
    from vidrec.datasets import load_arrays
    from vidrec.recordings import Glyph, _tight, draw_glyph

    x, y = load_arrays("mnist", False)
    first = {str(int(lab)): i for i, lab in reversed(list(enumerate(y[:200])))}
    s = np.full((280, 440, 3), 235, np.float32)
    rng = np.random.default_rng(0)
    left = 40.0
    for d in "2718":
        color = (grey_of_7,) * 3 if d == "7" else (120, 40, 20)
        g = Glyph(d, _tight(x[first[d]].astype(np.float32) / 255))
        left = draw_glyph(s, g, left, 100, 60, color, rng)[:, 0].max() + 14
    img = np.full((480, 640, 3), 60, np.uint8)
    img[100:380, 100:540] = s.astype(np.uint8)
    return img


def _run_2718(rec, images, before_classify=None):
    import cv2
    import torch

    from vidrec.types import Frame

    texts, preds = [], []
    with torch.inference_mode():
        for k, img in enumerate(images):
            f = Frame(k, k / 15, img, cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
            regions = rec.segment(f, None)
            if before_classify is not None:
                before_classify(rec)
            preds = rec.classify(f, regions, None)
            texts.append(rec.text(preds))
    return texts, preds


def test_a_digit_the_segmenter_misses_in_an_unchanged_scene_stays_shown(model):
    """The 7 fades by a few grey levels: too faint for the segmenter now (analysing every
    frame reads "2 18"), too little for the gate to call news. A timed keyframe of that
    unchanged scene does not find the 7, yet the 7 was there and nothing changed: it stays
    shown from its track (marked ``kept``), instead of vanishing until the next keyframe."""
    from vidrec.plugins import make_recognizers

    ((_, every),) = make_recognizers(["multidigit"], {"still_frames": "0"})
    assert [t for t, _ in _run(every, [_sheet_2718(175)] * 2)] == ["2 18"] * 2  # the faint 7 is missed
    ((_, rec),) = make_recognizers(["multidigit"], {"still_frames": "5"})
    texts, preds = _run_2718(rec, [_sheet_2718(150)] * 6 + [_sheet_2718(175)] * 10)
    assert texts == ["2718"] * 16
    assert rec.keyframes >= 3  # a keyframe analysed the faint 7's scene...
    assert [p.label for p in preds if p.extra.get("kept")] == ["7"]  # ...and kept the 7 it missed


@pytest.mark.parametrize("sure", [True, False])
def test_a_doubtful_digit_turned_down_where_it_stood_in_an_unchanged_scene_is_not_kept(model, sure):
    """The same unchanged scene, but the keyframe's segmentation looked at the 7's place and
    turned a mark there down (it failed a shape test). For a doubtful digit that is a second
    opinion, not a miss, and it is not kept (a button among a knit's knots read as a 0 at 0.81
    on the first frame of a clothing scene, turned down on the next, was kept and then carried
    for 12 frames); a sure one is kept (the shape tests fail a real digit on a noisy frame now
    and then). The 7 here is read surely: ``SURE`` above 1 makes every look doubtful."""
    from vidrec.plugins import make_recognizers

    ((_, rec),) = make_recognizers(["multidigit"], {"still_frames": "5"})
    if not sure:
        rec.SURE = 1.01
    seven = {}

    def turned_down_at_the_7(r):
        if "box" not in seven and r._last is not None:  # the 7's box, from the first analysis
            seven["box"] = next(p.region.box for p in r._last["preds"] if p.label == "7")
        if "box" in seven:
            r.segmenter.rejected = list(r.segmenter.rejected) + [tuple(seven["box"])]

    texts, preds = _run_2718(rec, [_sheet_2718(150)] * 6 + [_sheet_2718(175)] * 10, turned_down_at_the_7)
    assert texts[:6] == ["2718"] * 6 and rec.keyframes >= 3
    if sure:
        assert texts[-1] == "2718" and [p.label for p in preds if p.extra.get("kept")] == ["7"], texts
    else:
        assert texts[-1] == "2 18", texts


def test_the_warm_up_runs_the_whole_path_and_leaves_nothing_behind(model):
    """A recogniser runs two synthetic frames when it is made (first-use costs paid there, not on
    a video's first frame): they must reach the crops and the network, and leave no track, count
    or carried result behind."""
    from vidrec.plugins import make_recognizers

    def clean(rec):
        assert rec.tracker.tracks == [] and rec._last is None and rec.gate._key is None
        assert (rec.keyframes, rec.still_count, rec.split_count, rec.last_looks) == (0, 0, 0, 0)

    ((_, rec),) = make_recognizers(["multidigit"], {})
    clean(rec)
    sizes = []
    rec.model.register_forward_hook(lambda m, i, o: sizes.append(i[0].shape[0]))
    rec._warm_up()
    assert sizes and sizes[0] >= 10, sizes  # its printed digits segmented, cropped and named at once
    clean(rec)


@pytest.mark.slow
@pytest.mark.parametrize("ruling", ["ruled", "squared"])
def test_bar_on_a_notebooks_ruled_and_squared_paper(model, mnist_ready, tmp_path, ruling):
    """People write on lined and squared paper: its lines run under and through the digits
    (a grid touches every one of them) and must neither glue digits together nor cut them,
    and a blank ruled sheet in the empty clip must give no 1s. (Seed 2502's MNIST layout on
    squared paper also has a sprawling 4, its stem high on the right of a long diagonal and
    bar, that was cut into "4" and "1", on the same layout drawn without lines too: see
    ``Segmenter._sprawling``.)"""
    from vidrec.evalvideo import evaluate_recordings
    from vidrec.recordings import Stationery, make_recordings

    make_recordings(tmp_path, names=["sheet_still", "empty"], seed=2502, style=Stationery(ruling))
    _check_bar(evaluate_recordings([tmp_path], plugin="multidigit"))


@pytest.mark.slow
def test_a_wide_digit_whose_cut_fails_is_read_whole(model, shared_data, mnist_ready, tmp_path):
    """A run wider than a symbol is cut into symbols, and when one piece failed a shape test the
    run was turned down in pieces. On seed 3102's moving real-digit sheet in six inks a 5 written
    1.34 of its height wide was cut so on one frame; its two turned-down pieces beside a 0 made
    the word test take "50" for print, and with it the whole line "616 50 03": 7 digits lost on
    that frame (recall 98.4%, exact text 97.7%). Tried whole, the 5 passes: every digit, every
    frame."""
    from vidrec.evalvideo import evaluate_recordings
    from vidrec.recordings import Stationery, make_recordings

    six = ("black", "blue", "red", "darkblue", "pencil", "green")
    make_recordings(tmp_path, source=str(shared_data / "digits"), names=["sheet_moving"], seed=3102,
                    style=Stationery(inks=six))
    o = evaluate_recordings([tmp_path], plugin="multidigit")["overall"]
    assert o["precision"] == 1.0 and o["recall"] == 1.0 and o["exact_text"] == 1.0, o


@pytest.mark.slow
def test_touching_digits_no_wider_than_one_are_read_as_two_where_the_network_is_sure_of_both(
        model, shared_data, mnist_ready, tmp_path):
    """Digits written touching (``--spacing tight``): a pair with a 1 in it is no wider than
    a wide single digit and was read as one digit ("41" as 4 at 0.68-0.86). A doubtful mark
    that wide is also read as its two pieces, and they are kept when both are sure: on seed
    3101's still sheet recall went 70% -> 78%, every digit reported still right. The cut
    must not cost precision, and the tracks of its pieces must carry it across frames: the
    frames after the first read the pieces from their tracks, not the whole mark again."""
    from vidrec.evalvideo import evaluate_recordings
    from vidrec.recordings import Stationery, make_recordings

    from vidrec.plugins import make_recognizers
    from vidrec.sources import open_source

    (clip,) = make_recordings(tmp_path, source=str(shared_data / "digits"), names=["sheet_still"], seed=3101,
                              style=Stationery(spacing="tight"))
    # (the pair reader, which reads such marks too, is left out: test_a_touching_pair_...)
    on = evaluate_recordings([tmp_path], plugin="multidigit", options={"pair_model": "none"})["overall"]
    off = evaluate_recordings([tmp_path], plugin="multidigit",
                              options={"cut_aspect": "0", "pair_model": "none"})["overall"]
    assert on["recall"] >= off["recall"] + 0.05, (on, off)
    assert on["precision"] >= off["precision"] - 0.005, (on, off)
    # every frame analysed (no keyframes): the pieces keep their tracks from frame to frame
    ((_, rec),) = make_recognizers(["multidigit"], {"still_frames": "0", "pair_model": "none"})
    first_seen, last = {}, set()
    for frame in open_source(str(clip)):
        rec.classify(frame, rec.segment(frame, None), None)
        last = {t.id for t in rec.tracker.tracks if t.memo is not None and t.memo.get("cut")}
        for tid in last:
            first_seen.setdefault(tid, frame.index)
    assert len(last) >= 2, last
    assert all(first_seen[tid] <= 10 for tid in last), (first_seen, last, frame.index)


@pytest.mark.slow
def test_a_touching_pair_no_column_separates_is_read_whole_by_the_pair_reader(model, shared_data, mnist_ready,
                                                                               tmp_path):
    """Seed 3102's still sheet written with touching digits: where two digits overlap ("32"
    of "323", "04") no column cut leaves two digits, and the pieces were read wrong or not
    at all (recall 85.7%, exact text 0%). The pair reader reads the whole marks: every digit
    found and every frame's text right, nothing reported that is not there."""
    from vidrec.evalvideo import evaluate_recordings
    from vidrec.recordings import Stationery, make_recordings

    make_recordings(tmp_path, source=str(shared_data / "digits"), names=["sheet_still"], seed=3102,
                    style=Stationery(spacing="tight"))
    on = evaluate_recordings([tmp_path], plugin="multidigit")["overall"]
    off = evaluate_recordings([tmp_path], plugin="multidigit", options={"pair_model": "none"})["overall"]
    assert on["recall"] >= off["recall"] + 0.08, (on, off)
    assert on["precision"] >= max(0.98, off["precision"]), (on, off)
    assert on["exact_text"] >= 0.9 > off["exact_text"], (on, off)


@pytest.mark.slow
def test_a_doubtful_digit_in_a_number_is_credited_once_its_vote_has_held(model, shared_data, mnist_ready, tmp_path):
    """A doubtful mark inside a number of sure digits is held to keep_confidence, unless the
    network wavers on it. On seed 3101's moving real-digit sheet in six inks, the 1 of "41"
    came in at the frame's edge read 3, then 1, and then held at 0.6-0.8: counted as wavering
    for good, it was lost for 24 frames (recall 92.2%). Once its vote has held for the whole
    history window, the changes are out of it and the credit is given."""
    from vidrec.evalvideo import evaluate_recordings
    from vidrec.recordings import Stationery, make_recordings

    six = ("black", "blue", "red", "darkblue", "pencil", "green")
    make_recordings(tmp_path, source=str(shared_data / "digits"), names=["sheet_moving"], seed=3101,
                    style=Stationery(inks=six))
    o = evaluate_recordings([tmp_path], plugin="multidigit")["overall"]
    assert o["precision"] >= 0.99 and o["recall"] >= 0.95, o


def test_a_sheet_held_turned_is_read_from_upright_crops(model):
    """The committed still sheet turned by 14 degrees: its lines say how far it is turned, and
    the crops are turned back before the network sees them (it learnt upright digits); without
    that, one of its fourteen digits (an 8) was read as 9."""
    import json

    import cv2

    from vidrec.plugins import make_recognizers
    from vidrec.reading import line_angle

    cap = cv2.VideoCapture(str(RECORDINGS / "sheet_still.mp4"))
    for _ in range(11):
        ok, img = cap.read()
    cap.release()
    assert ok
    truth = json.loads((RECORDINGS / "sheet_still.json").read_text())["truth"][10]["text"]
    h, w = img.shape[:2]
    turned = cv2.warpAffine(img, cv2.getRotationMatrix2D((w / 2, h / 2), 14, 1.0), (w, h),
                            borderMode=cv2.BORDER_REPLICATE)
    ((_, rec),) = make_recognizers(["multidigit"], {})
    ((_, plain),) = make_recognizers(["multidigit"], {"deskew": "0"})
    got = _run(rec, [turned] * 3)
    assert [t for t, _ in got] == [truth] * 3
    # the turn read off the lines (the sheet's own few degrees added to the 14)
    angle = line_angle([b for _, _, b in got[-1][1]])
    assert -22 < angle < -8, angle
    assert [t for t, _ in _run(plain, [turned] * 3)][-1] != truth


@pytest.mark.parametrize("seed", [208, 216, 247, 320])
def test_no_digit_on_generated_empty_frames_that_once_gave_some(model, tmp_path, seed):
    """Seed 216: a thin thread on a blue knit shirt was read as a 1 (the shirt is no paper: no
    sheet is exposed that dark). Seed 247: the T of a small printed "SALT" was read as a 7, its
    other letters cut from their word below the symbol height and not counted as context.
    Seed 320: a bold printed "Total ISO" read as 1150 (see the test of ``wide_mark`` above;
    the clip has that font with OpenCV 5's putText). Seed 208: a printed "OIL and SALT" shown
    on the frame it came into view, then kept (see the baseline test above)."""
    from vidrec.evalvideo import evaluate_recordings
    from vidrec.recordings import make_recordings

    make_recordings(tmp_path, names=["empty"], reader=None, seed=seed)
    (clip,) = evaluate_recordings([tmp_path], plugin="multidigit")["clips"]
    assert clip["false_per_empty_frame"] == 0.0, clip


def test_photos_cropped_to_one_digit_read_nothing_and_the_summary_says_what_reads_them(model, mnist_ready, tmp_path,
                                                                                      runner, cli):
    import cv2

    from vidrec.datasets import load_arrays

    x, y = load_arrays("mnist", False)
    folder = tmp_path / "crops"
    folder.mkdir()
    for i in (0, 1):  # MNIST test digits as photos cropped to the dark digit on its light paper
        ys, xs = np.nonzero(x[i])
        tight = 255 - x[i][ys.min():ys.max() + 1, xs.min():xs.max() + 1]
        cv2.imwrite(str(folder / f"{y[i]}_{i}.png"), cv2.resize(tight, None, fx=8, fy=8, interpolation=cv2.INTER_CUBIC))
    env = {"COLUMNS": "250"}
    r = runner.invoke(cli, ["run", str(folder), "--plugin", "multidigit", "--jsonl", str(tmp_path / "r.jsonl")], env=env)
    assert r.exit_code == 0, r.output
    assert all(not json.loads(line)["predictions"] for line in (tmp_path / "r.jsonl").read_text().splitlines())
    assert "multidigit read nothing in 2 frames" in r.output and "vidrec predict" in r.output
    # what the note points to reads them
    r = runner.invoke(cli, ["predict", str(folder)], env=env)
    assert r.exit_code == 0 and "accuracy 2/2" in r.output, r.output
    # a clip it reads gets no such note
    r = runner.invoke(cli, ["run", str(Path(__file__).parent.parent / "recordings" / "sheet_still.mp4"),
                            "--plugin", "multidigit"], env=env)
    assert r.exit_code == 0 and "read nothing" not in r.output, r.output
