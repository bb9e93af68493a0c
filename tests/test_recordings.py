"""The clip generator and the clip evaluation: real MP4 files, real sidecars, real decoding."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from vidrec import recordings
from vidrec.errors import VidrecError


@pytest.fixture(scope="module")
def empty_clip(tmp_path_factory, mnist_ready):
    out = tmp_path_factory.mktemp("clips")
    recordings.make_recordings(out, names=["empty"], reader=None, seed=7)
    return out / "empty.mp4"


def test_clip_decodes_and_sidecar_matches_it(empty_clip):
    meta = recordings.load_truth(empty_clip)
    cap = cv2.VideoCapture(str(empty_clip))
    n = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        assert frame.shape == (480, 640, 3)
        n += 1
    cap.release()
    assert n == meta["frames"] == len(meta["truth"]) > 0
    assert [t["frame"] for t in meta["truth"]] == list(range(n))
    assert all(t["digits"] == [] and t["text"] == "" for t in meta["truth"])
    # the command that makes this clip again: the one clip, all its MNIST digits, seed 7
    assert meta["command"].startswith("vidrec recordings make") and meta["command"].endswith(
        "--seed 7 --clip empty --reader none")
    # what made the pixels (the same command makes other pixels with another OpenCV)
    assert meta["made_with"] == {"opencv": cv2.__version__, "numpy": np.__version__,
                                 "generator": recordings.generator_version()}
    assert empty_clip.stat().st_size < 600_000


def test_same_seed_same_frames(empty_clip, tmp_path):
    recordings.make_recordings(tmp_path, names=["empty"], reader=None, seed=7)
    a, b = cv2.VideoCapture(str(empty_clip)), cv2.VideoCapture(str(tmp_path / "empty.mp4"))
    for _ in range(5):
        fa, fb = a.read()[1], b.read()[1]
        assert np.array_equal(fa, fb)


def test_sheet_truth_reads_rows_and_numbers(mnist_ready, tmp_path):
    recordings.make_recordings(tmp_path, names=["sheet_still"], reader=None, seed=3)
    meta = json.loads((tmp_path / "sheet_still.json").read_text())
    assert meta["still"] and "multidigit" in meta["plugins"]
    t = meta["truth"][0]
    assert len(t["digits"]) >= 10
    # the text holds exactly the visible digits, rows joined by newlines
    assert sorted(t["text"].replace("\n", "").replace(" ", "")) == sorted(d["label"] for d in t["digits"])
    assert t["text"].count("\n") >= 1
    for d in t["digits"]:
        x, y, w, h = d["box"]
        assert 0 <= x and 0 <= y and x + w <= 640 and y + h <= 480 and 15 < h < 120


def test_a_turned_sheet_is_the_same_sheet_turned(mnist_ready, tmp_path):
    """``--turn``: the same sheet (same seed, same digits, same text), its lines turned by the
    given degrees more; 0 leaves the clip as before."""
    from vidrec.reading import line_angle

    recordings.make_recordings(tmp_path / "a", names=["sheet_still"], reader=None, seed=3)
    recordings.make_recordings(tmp_path / "b", names=["sheet_still"], reader=None, seed=3, turn=15)
    a, b = (json.loads((tmp_path / d / "sheet_still.json").read_text()) for d in "ab")
    assert "turn" not in a and b["turn"] == 15 and b["command"].endswith("--turn 15")
    ta, tb = a["truth"][0], b["truth"][0]
    assert ta["text"] == tb["text"]
    turned = line_angle([d["box"] for d in tb["digits"]]) - line_angle([d["box"] for d in ta["digits"]])
    assert 12 < turned < 18, turned


def test_ruled_and_squared_paper_draw_their_lines_and_plain_paper_draws_nothing():
    """Ruled paper darkens rows only, squared paper rows and columns, each line by about a
    fifth; plain paper is left alone and takes no random numbers (the committed clips, made
    before paper had a ruling, remake as they were)."""
    flat = np.full((200, 300, 3), 230.0, np.float32)
    rng = np.random.default_rng(1)
    state = rng.bit_generator.state
    assert recordings.rule_paper(flat, rng, "plain") is flat and rng.bit_generator.state == state
    for ruling, across in (("ruled", False), ("squared", True)):
        img = recordings.rule_paper(flat.copy(), np.random.default_rng(1), ruling, digit_h=40.0)
        g = img.mean(axis=2)
        rows, cols = g.mean(axis=1), g.mean(axis=0)
        darkest = g.min() / 230.0
        assert 0.7 < darkest < 0.9, darkest
        lined_rows = int((rows < 228).sum())
        assert 200 / (1.7 * 40) - 1 <= lined_rows <= 2 * 200 / (0.55 * 40) + 2, lined_rows
        assert ((cols < 228).sum() > 0) == across
    with pytest.raises(VidrecError, match="unknown paper 'dotted'"):
        recordings.rule_paper(flat, rng, "dotted")


def test_a_clip_on_squared_paper_in_pencil_says_so_and_draws_in_those_inks(mnist_ready, tmp_path):
    style = recordings.Stationery("squared", ("pencil",))
    recordings.make_recordings(tmp_path / "p", names=["sheet_still"], reader=None, seed=3, style=style)
    meta = json.loads((tmp_path / "p" / "sheet_still.json").read_text())
    assert meta["paper"] == "squared" and meta["inks"] == ["pencil"]
    assert meta["command"].endswith("--paper squared --ink pencil")
    recordings.make_recordings(tmp_path / "b", names=["sheet_still"], reader=None, seed=3)
    assert "inks" not in json.loads((tmp_path / "b" / "sheet_still.json").read_text())

    def darkest_ink(path):  # the darkest grey inside the digits' boxes, frame 0
        ok, img = cv2.VideoCapture(str(path / "sheet_still.mp4")).read()
        gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        truth = json.loads((path / "sheet_still.json").read_text())["truth"][0]["digits"]
        return np.median([gray[y:y + h, x:x + w].min() for x, y, w, h in (d["box"] for d in truth)])

    # pencil (grey 120) leaves lines far less dark than the ballpoints (grey 30-80)
    assert darkest_ink(tmp_path / "p") > darkest_ink(tmp_path / "b") + 25
    for bad, match in ((recordings.Stationery("dotted"), "unknown paper 'dotted'"),
                       (recordings.Stationery("plain", ("gold",)), "unknown ink 'gold'"),
                       (recordings.Stationery("plain", ()), "no inks given")):
        with pytest.raises(VidrecError, match=match):
            recordings.make_recordings(tmp_path / "x", names=["sheet_still"], reader=None, seed=3, style=bad)


def test_reading_text_of_visible_digits():
    P = recordings.Placed
    pts = np.zeros((1, 2), np.float32)
    digits = [P("2", 0, 0, pts), P("7", 0, 0, pts), P("1", 0, 0, pts), P("8", 0, 1, pts), P("4", 1, 0, pts)]
    assert recordings.reading_text(digits, [True] * 5) == "271 8\n4"
    assert recordings.reading_text(digits, [True, True, True, False, False]) == "271"
    assert recordings.reading_text(digits, [False] * 5) == ""


def test_glyph_from_photo_either_polarity():
    img = np.full((200, 160), 200, np.uint8)
    cv2.putText(img, "7", (30, 170), cv2.FONT_HERSHEY_SIMPLEX, 5, 40, 12)
    dark = recordings.glyph_from_image(img)
    light = recordings.glyph_from_image(255 - img)
    assert dark.shape == light.shape and dark.max() == pytest.approx(1.0)
    assert np.abs(dark - light).mean() < 0.02
    assert 0.1 < (dark > 0.5).mean() < 0.6  # strokes, not the paper


def test_folder_source_errors(tmp_path):
    with pytest.raises(VidrecError, match="digit folder not found"):
        recordings.folder_glyphs(tmp_path / "nope")
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "notes.txt").write_text("x")
    with pytest.raises(VidrecError, match="no digit images"):
        recordings.folder_glyphs(tmp_path)


def test_cli_errors_are_one_line(runner, tmp_path):
    import vidrec.cli.recordings  # noqa: F401  (registers the commands)
    from vidrec.cli import app

    r = runner.invoke(app, ["recordings", "make", "--out", str(tmp_path), "--source", str(tmp_path / "nope")])
    assert r.exit_code == 1 and "error:" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["eval", "recordings", str(tmp_path)])
    assert r.exit_code == 1 and "no clips with a ground-truth sidecar" in r.output
    r = runner.invoke(app, ["recordings", "make", "--out", str(tmp_path), "--clip", "bogus", "--reader", "none"])
    assert r.exit_code == 1 and "unknown clip 'bogus'" in r.output
    r = runner.invoke(app, ["recordings", "make", "--out", str(tmp_path), "--paper", "dotted"])
    assert r.exit_code == 1 and "--paper must be one of plain, ruled, squared" in r.output
    r = runner.invoke(app, ["recordings", "make", "--out", str(tmp_path), "--ink", "gold"])
    assert r.exit_code == 1 and "unknown ink 'gold'; known: black, blue, red, darkblue, pencil, green" in r.output


def test_eval_counts_false_digits_on_empty_frames(empty_clip):
    """A recogniser that sees a digit everywhere is caught by the scores (the metric can fail)."""
    from vidrec.evalvideo import evaluate_clip
    from vidrec.recognizer import Recognizer
    from vidrec.types import Prediction, Region

    class Liar(Recognizer):
        def classify(self, frame, regions, pre):
            return [Prediction("7", 0.99, Region((10, 10, 20, 30)))]

        def text(self, predictions):
            return "7"

    r = evaluate_clip(empty_clip, [("liar", Liar())]).counts.scores()
    assert r["false_per_empty_frame"] == 1.0 and r["precision"] == 0.0 and r["exact_text"] == 0.0

    class Honest(Recognizer):
        nothing_read_hint = "it reads nothing anywhere"

    # a clip's notes are what its decoding said, not a recogniser's "read nothing" hint: on an
    # empty clip that is the right answer
    res = evaluate_clip(empty_clip, [("honest", Honest())])
    assert res.counts.scores()["false_per_empty_frame"] == 0.0 and res.notes == []


def test_rows_of_a_sheet_never_run_into_each_other():
    """Each row drifts its own way; where two rows would come together, the lower one is set
    down, so no digit comes within ROW_CLEAR digit heights of one in the row above (a row
    written into the one above made a layout no reader has to read: a sheet of fresh
    real-digit layouts lost a whole row to it)."""
    glyphs = []
    for k, d in enumerate("0123456789"):
        img = np.full((120, 90), 220, np.uint8)
        cv2.putText(img, d, (12, 100), cv2.FONT_HERSHEY_SIMPLEX, 3, 30, 9)
        glyphs.append(recordings.Glyph(d, recordings.glyph_from_image(img)))
    h = 40.0
    closest = np.inf
    for seed in range(40):
        sheet = recordings.make_sheet(np.random.default_rng(seed), glyphs, [[3, 3, 3], [3, 3, 3], [3, 3, 3]], h)
        boxes = [(p.row, p.points[:, 0].min(), p.points[:, 0].max(), p.points[:, 1].min(), p.points[:, 1].max())
                 for p in sheet.digits]
        for ra, a0, a1, _, a_bottom in boxes:
            for rb, b0, b1, b_top, _ in boxes:
                if rb == ra + 1 and b0 <= a1 and a0 <= b1:  # the row below, overlapping in x
                    closest = min(closest, (b_top - a_bottom) / h)
        assert sheet.image.shape[0] >= max(b[4] for b in boxes)
    assert closest >= recordings.ROW_CLEAR - 0.05, closest


def test_tight_spacing_makes_the_digits_of_a_number_touch(shared_data, tmp_path, runner):
    """--spacing tight: the digits of one number touch or nearly (many people write so); normal
    keeps the committed clips' gaps. The sidecar and its command say which."""
    import vidrec.cli.recordings  # noqa: F401
    from vidrec.cli import app
    from vidrec.recordings import Stationery, folder_glyphs, load_truth, make_recordings, make_sheet

    glyphs = folder_glyphs(shared_data / "digits")
    gaps = {}
    for spacing in ("normal", "tight"):
        gaps[spacing] = []
        for seed in range(4):
            sheet = make_sheet(np.random.default_rng(seed), glyphs[seed * 10:], [[3, 2], [4]], 40.0,
                               style=Stationery(spacing=spacing))
            for a, b in zip(sheet.digits[:-1], sheet.digits[1:]):
                if (a.row, a.group) == (b.row, b.group):
                    gaps[spacing].append((b.points[:, 0].min() - a.points[:, 0].max()) / 40.0)
    assert max(gaps["tight"]) <= 0.08 and np.median(gaps["tight"]) <= 0.0, gaps["tight"]
    assert min(gaps["normal"]) >= 0.06 and np.median(gaps["normal"]) >= 0.15, gaps["normal"]
    (clip,) = make_recordings(tmp_path, source=str(shared_data / "digits"), names=["sheet_still"], seed=5,
                              style=Stationery(spacing="tight"))
    meta = load_truth(clip)
    assert meta["spacing"] == "tight" and "--spacing tight" in meta["command"]
    r = runner.invoke(app, ["recordings", "make", "--out", str(tmp_path), "--spacing", "wide"])
    assert r.exit_code == 1 and "unknown spacing 'wide'; known: normal, tight" in r.output
