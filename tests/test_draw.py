"""Labels on a crowded sheet: none covers another label or another digit when there is room."""

import numpy as np

from vidrec import draw


def _apart(a, b):
    return a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


def test_labels_of_side_by_side_boxes_do_not_cover_each_other_or_the_digits():
    canvas = np.full((240, 320, 3), 255, np.uint8)
    boxes = [(40, 80, 22, 30), (64, 80, 22, 30), (88, 80, 22, 30)]  # digits written close together
    taken = [(x, y, x + w, y + h) for x, y, w, h in boxes]
    colors = [(0, 0, 200), (0, 200, 0), (200, 0, 0)]
    rects = [draw.box_label(canvas, b, "7 0.88", color=c, taken=taken) for b, c in zip(boxes, colors)]
    for i, r in enumerate(rects):
        x0, y0, x1, y1 = r
        # drawn where it says: its fill colour is there
        assert (canvas[y0:y1, x0:x1] == colors[i]).all(axis=2).mean() > 0.3
        for other in rects[i + 1:] + [(x, y, x + w, y + h) for x, y, w, h in boxes]:
            assert _apart(r, other), (r, other)


def test_without_taken_the_label_sits_above_the_box_and_below_at_the_top_edge():
    canvas = np.full((200, 200, 3), 255, np.uint8)
    assert draw.box_label(canvas, (50, 100, 30, 40), "3")[3] <= 100
    assert draw.box_label(canvas, (50, 0, 30, 40), "3")[1] >= 40
