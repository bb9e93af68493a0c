"""The flicker rule of `vidrec eval recordings`."""

from vidrec.evalvideo import label_changes


def test_late_first_report_is_not_flicker():
    assert label_changes([None, None, "5", "5", "5"]) == 0


def test_label_changes_count():
    assert label_changes(["5", "6", "5", "5"]) == 2


def test_dropping_out_and_back_counts_twice():
    assert label_changes([None, "7", None, "7"]) == 2


def test_never_reported():
    assert label_changes([None, None]) == 0
