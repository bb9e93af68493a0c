"""benchmarks/heldout.py's own logic: seed lists, what counts as short of an aim, the A/B diff."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def heldout():
    spec = importlib.util.spec_from_file_location("heldout", ROOT / "benchmarks" / "heldout.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _row(clip="sheet_still", p=1.0, r=1.0, t=1.0, false=None):
    return {"set": "real7", "clip": clip, "frames": 45, "precision": p, "recall": r, "exact_text": t,
            "flicker_per_s": 0.0, "false_per_empty_frame": false}


def test_seed_lists_take_numbers_and_ranges(heldout):
    assert heldout.seeds(["7", "11", "301-303"]) == [7, 11, 301, 302, 303]
    with pytest.raises(ValueError):
        heldout.seeds(["3x"])


def test_a_clip_is_short_of_each_aim_it_misses_and_of_no_other(heldout):
    assert heldout.short_of(_row()) == []
    assert heldout.short_of(_row(p=0.98, r=0.979, t=0.95)) == ["recall"]
    assert heldout.short_of(_row(t=0.9)) == ["exact_text"]
    # an empty clip: only a false digit counts (its precision is 0 when it reports anything)
    assert heldout.short_of(_row("empty", p=0.0, false=0.0)) == []
    assert heldout.short_of(_row("empty", p=0.0, t=0.8, false=0.2)) == ["false"]


def test_compare_lists_only_the_clips_whose_scores_moved(heldout, tmp_path):
    before = [_row(), _row("sheet_moving", r=0.9), _row("empty", false=0.0)]
    path = tmp_path / "before.csv"
    heldout.write_csv(before, path)
    now = [_row(), _row("sheet_moving", r=0.95), _row("empty", false=0.0), {**_row(), "set": "mnist5"}]
    lines = heldout.compare(now, heldout.read_scores(path))
    assert len(lines) == 2
    assert lines[0].startswith("real7/sheet_moving:") and "recall=0.900" in lines[0] and "recall=0.950" in lines[0]
    assert lines[1].startswith("mnist5/sheet_still: new")
    # a CSV of something else is named as such, not a KeyError
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not a --csv of this script"):
        heldout.read_scores(other)


def test_clips_of_another_generator_are_made_again_and_current_ones_reused(heldout, tmp_path):
    import json

    said = []
    (name, folder), = heldout.make_sets(tmp_path, [], [], [7], said.append)
    sidecar = folder / "empty.json"
    assert said == ["made empty7"] and (folder / "empty.mp4").exists()
    made = sidecar.stat().st_mtime_ns
    heldout.make_sets(tmp_path, [], [], [7], said.append)
    assert said[-1] == "reused empty7" and sidecar.stat().st_mtime_ns == made
    # the same folder as an older generator left it
    meta = json.loads(sidecar.read_text())
    meta["made_with"]["generator"] = "0" * 12
    sidecar.write_text(json.dumps(meta))
    heldout.make_sets(tmp_path, [], [], [7], said.append)
    assert said[-1] == "made empty7"
    assert json.loads(sidecar.read_text())["made_with"]["generator"] != "0" * 12
