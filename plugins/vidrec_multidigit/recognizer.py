"""The multidigit recogniser (imports torch; loaded only when the plugin is used)."""

from __future__ import annotations


import cv2
import numpy as np
import torch

from vidrec import crop, draw, reading
from vidrec.crop import median, to_model_input
from vidrec.gate import StillGate
from vidrec.modelstore import load
from vidrec.nets import for_inference
from vidrec.recognizer import Recognizer, option_flag, option_number
from vidrec.threads import torch_threads
from vidrec.segment import Segmenter, check_options
from vidrec.tracking import Tracker, iou_matrix
from vidrec.types import Frame, Prediction, Region


PALETTE = [(0, 200, 0), (255, 160, 0), (0, 160, 255), (200, 0, 200), (0, 220, 220), (60, 60, 255)]


class MultiDigit(Recognizer):
    name = "multidigit"
    nothing_read_hint = ("it looks for digits handwritten on a page in view, at least min_height px tall "
                         "(20 unless --option multidigit.min_height says otherwise) and not cut off by the picture's edge; "
                         "a photo cropped to one digit is read by `vidrec predict FILE...`")

    def __init__(self, model: str = "digits", min_confidence=None, history=8, max_missed=3,
                 space=0.6, word_reject=0.5, line_text=2.0, wide_mark=1.2, keep_confidence=None, reclassify_every=5, max_looks=6,
                 max_new_looks=0, still_frames=30, still_diff=24.0, still_share=3, settle_confidence=0.3,
                 split_keyframes=True, still_looks=3, swap_shape=0.25, deskew=10.0, cut_aspect=0.9, cut_whole=0.99,
                 cut_pieces=0.9, pair_model="pairs", pair_aspect=0.75, pair_confidence=0.9, **seg_options):
        from vidrec_multidigit import DEFAULT_KEEP_CONFIDENCE, DEFAULT_MIN_CONFIDENCE

        self.model, self.info, _ = load(model)
        self.model = for_inference(self.model)
        self.classes = list(self.info.classes)
        self.min_confidence = option_number("min_confidence", DEFAULT_MIN_CONFIDENCE if min_confidence is None
                                            else min_confidence, 0, 1)
        self.keep_confidence = min(self.min_confidence, option_number(
            "keep_confidence", DEFAULT_KEEP_CONFIDENCE if keep_confidence is None else keep_confidence))
        check_options(self, seg_options)
        self.segmenter = Segmenter(make_crops=False, **seg_options)
        self.reclassify_every = option_number("reclassify_every", reclassify_every, 1, kind=int)
        # at most this many crops per frame, new symbols first (0: no cap), so no frame pays
        # for every track at once (a sheet moving): see :meth:`_plan_looks`
        self.max_looks = option_number("max_looks", max_looks, 0, kind=int)
        # and at most this many new symbols (0: no cap); the rest are found again next frame
        self.max_new_looks = option_number("max_new_looks", max_new_looks, 0, kind=int)
        self.tracker = Tracker(history=option_number("history", history, 1, kind=int),
                               max_missed=option_number("max_missed", max_missed, 0, kind=int))
        self.space = option_number("space", space)
        self.word_reject = option_number("word_reject", word_reject)
        self.line_text = option_number("line_text", line_text)
        self.wide_mark = option_number("wide_mark", wide_mark)
        self.swap_shape = option_number("swap_shape", swap_shape, 0)  # see :meth:`_restart_swapped`; 0: off
        self.deskew = option_number("deskew", deskew, 0, 45)  # see :meth:`_upright`; 0: off
        # touching digits read as one mark: see :meth:`_cut_doubtful`; cut_aspect 0: off
        self.cut_aspect = option_number("cut_aspect", cut_aspect, 0)
        self.cut_whole = option_number("cut_whole", cut_whole, 0, 1)
        self.cut_pieces = option_number("cut_pieces", cut_pieces, 0, 1)
        self._one = self.classes.index("1") if "1" in self.classes else -1
        self.pair_aspect = option_number("pair_aspect", pair_aspect, 0)
        self.pair_confidence = option_number("pair_confidence", pair_confidence, 0, 1)
        # the reader of two touching digits (:mod:`vidrec.pairs`), asked about doubtful marks at
        # least ``pair_aspect`` heights wide; "none": not used, nor with a model whose classes are
        # not the digits (``--model greek``: a pair of digits means nothing there)
        self.pairs = self.pair_info = None
        digits = all(str(c) in self.classes for c in range(10))
        if digits and str(pair_model).lower() not in ("", "none", "0", "off"):
            from vidrec import pairs  # noqa: F401  (registers the architecture)

            model, self.pair_info, _ = load(pair_model)
            if list(self.pair_info.classes) != pairs.CLASSES:
                from vidrec.errors import VidrecError

                raise VidrecError(f"--option multidigit.pair_model={pair_model}: not a reader of digit pairs "
                                  f"(its classes are {', '.join(self.pair_info.classes[:12])}...)")
            self.pairs = for_inference(model)
            # where the digit network puts each digit (a pair's pieces are read in its classes)
            self._digit_columns = [self.classes.index(str(c)) for c in range(10)]
        self.last_candidates = self.last_looks = 0  # the last analysed frame's regions and fresh crops
        self._text_memo = None
        # keyframes: a frame showing the last analysed scene, at most shifted, carries its
        # results along instead of being analysed again, for up to ``still_frames`` frames
        # (0: analyse every frame); see :mod:`vidrec.gate` and :meth:`_carry`
        self.still_frames = option_number("still_frames", still_frames, 0, kind=int)
        self.gate = StillGate(pixel_diff=option_number("still_diff", still_diff, 0),
                              max_changed=option_number("still_share", still_share, 0, kind=int)) if self.still_frames else None
        self.settle_confidence = option_number("settle_confidence", settle_confidence, 0, 1)
        # a timed keyframe on a still, settled scene is spread over four frames (binarise;
        # group and test; plan and crop; name), so no frame pays for more than one of them
        self.split_keyframes = option_flag("split_keyframes", split_keyframes)
        # ... and looks again at no more than this many known tracks (0: max_looks)
        self.still_looks = option_number("still_looks", still_looks, 0, kind=int)
        self.reset()
        self._warm_up()

    def _warm_up(self) -> None:
        """Two synthetic frames through the whole path, then forgotten (:meth:`reset`).

        Why: much of the path costs more the first time it runs in a process
        (PyTorch sets up its convolutions, OpenCV its functions, numpy imports
        what a first call needs, the crop's cached operators are built): a video's
        first frame took 13-14 ms instead of 7, its second 12 instead of 5. Paid
        here, once, those costs no longer land on the frames a user waits for.
        Two synthetic frames cannot meet every crop size and batch size a real frame
        brings, so those are set up by range (:func:`vidrec.crop.warm_up`,
        :meth:`_warm_batches`): a run's first sheet frame went from 16.6 to 12.6 ms
        (median of 10 processes each, Dec 7), its second from 9.1 to 7.5.
        """
        crop.warm_up()  # the crop's reduction matrices for the usual sizes
        self._warm_batches()
        gray = np.full((480, 640), 200, np.uint8)
        for row, digits in enumerate(("0123456789", "4712 3856")):
            cv2.putText(gray, digits, (40, 150 + 120 * row), cv2.FONT_HERSHEY_SIMPLEX, 1.6, 40, 4, cv2.LINE_AA)
        frame = Frame(0, 0.0, cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), gray)
        self.keyframes = self.still_count = self.split_count = 0
        for _ in range(2):
            self.text(self.classify(frame, self.segment(frame, None), None))
        self.keyframes = self.still_count = self.split_count = 0  # analysed, carried, split frames
        self.last_candidates = self.last_looks = 0
        self.reset()

    _warm_shapes: set = set()  # ((architecture, its arguments), batch size): forward passes already set up in this process

    def _warm_batches(self, most: int = 32) -> None:
        """One forward pass per batch size up to ``most`` (once per process and architecture).

        PyTorch's CPU convolutions are set up per input shape: a batch size's first
        forward pass cost ~0.5 ms more (14 crops: 1.3 ms, then 0.75), and a frame's batch
        is its count of fresh looks, different from frame to frame.
        """
        arch = (self.info.arch, repr(self.info.arch_kwargs))
        sizes = [n for n in range(1, most + 1) if (arch, n) not in MultiDigit._warm_shapes]
        with torch.inference_mode(), torch_threads(1):
            for n in sizes:
                self.model(to_model_input(np.zeros((n, 28, 28), np.float32), self.info))
                MultiDigit._warm_shapes.add((arch, n))
            if self.pairs is not None and ("pairnet", 1) not in MultiDigit._warm_shapes:
                from vidrec import pairs

                for n in range(1, 5):  # (a frame rarely holds more doubtful wide marks than that)
                    self.pairs(to_model_input(np.zeros((n,) + pairs.SHAPE, np.float32), self.pair_info, pairs.SHAPE))
                    MultiDigit._warm_shapes.add(("pairnet", n))

    def reset(self) -> None:
        self.tracker.reset()
        if self.gate is not None:
            self.gate.reset()
        self._last = None  # the last analysed frame's results (what a still frame carries)
        self._still = None  # this frame's shift against the last analysed frame, when it is still
        self._was_still = False  # this frame shows the last analysed frame's scene (see :meth:`_kept`)
        self._split = None  # (step done, its result) of a timed keyframe spread over the next frames
        self._finish = None  # ((regions, plan), this frame's shift): the timed keyframe named now
        self._shown = None  # (track, label) pairs the last analysed frame showed

    def segment(self, frame: Frame, pre) -> list[Region]:
        """Candidate symbols; their crops are made in :meth:`classify`, only where needed.

        Nothing when the frame shows the last keyframe's scene (see :meth:`_carry`).
        """
        self._still = self._finish = None
        if self.gate is not None:
            shift = self.gate.compare(frame.gray)
            self._was_still = shift is not None
            split, self._split = self._split, None
            if split is not None:
                if shift is not None:  # still: the split keyframe's next step
                    step, work = split
                    if step == "binarised":  # grouped and tested now, planned next frame
                        key_frame, binarised = work
                        self._split = ("segmented", self.segmenter.segment(key_frame, binarised))
                        self._still = shift
                        return []
                    if step == "segmented":  # its looks planned and cropped now, named next frame
                        regions = self._reuse_cuts(work)
                        plan = self._plan(regions, timed=True)
                        turn = self._upright(regions)
                        for d in plan[2]:
                            regions[d].crop = self.segmenter.crop_of(regions[d], turn)
                        self._split = ("planned", (regions, plan))
                        self._still = shift
                        return []
                    self._finish = (work, shift)  # named now (classify)
                    return []
                # news: those regions are stale, this frame is analysed in full
            elif shift is not None and self._last is not None:
                last = self._last
                if last["settled"] and last["age"] < self.still_frames:
                    self._still = shift
                    return []
                if self.split_keyframes and last["settled"]:
                    # a timed keyframe on a still, settled scene: binarised now, its marks
                    # grouped and tested on the next frame, its looks planned and cropped on
                    # the one after, named on the fourth (while the scene holds still), so no
                    # frame pays for more than one of them; these frames carry the last
                    # results. (A frame confirming an unsettled one is analysed at once: what
                    # was undecided there is due on this frame.)
                    self._split = ("binarised", (frame, self.segmenter.binarise(frame.gray)))
                    self._still = shift
                    self.gate.key()
                    self.split_count += 1
                    return []
        return self.segmenter.segment(frame)

    def _carry(self, shift: tuple[float, float], counted: bool = False) -> list[Prediction]:
        """A still frame: the keyframe's predictions (and every track) moved by the shift.

        Nothing is voted: the frame holds no news, and a vote of the same look over
        and over would make the keyframe's view look surer than it is. Tracks' looks
        age as on any frame, so the next keyframe looks again at those due (at most
        ``still_looks`` of them at a timed keyframe, the oldest first): a label is never
        fixed once, it is re-examined at keyframes, and a keyframe comes at least every
        ``still_frames`` frames. The digits count as shown on this frame, for the display
        hysteresis.
        """
        key = self._last
        dx, dy = shift
        key["age"] += 1
        # ``counted``: the analysis just made (of the frame before, whose regions waited for this
        # one) already counted one shown frame for its digits; this frame is not a carried one
        shown = () if counted else key["ids"]
        self.still_count += not counted
        for t, b in zip(key["tracks"], key["boxes"]):
            t.box = b + (dx, dy, 0.0, 0.0)
            if t.memo is not None:
                t.memo["age"] += 1
            if t.id in shown:
                t.shown_run += 1  # shown on this frame too: the display hysteresis counts it
        ix, iy = int(round(dx)), int(round(dy))
        moved = key.get("moved")
        if moved is None or moved[0] != (ix, iy):
            # (a still sheet keeps its shift for many frames: the moved predictions are made
            # once per shift, not once per frame)
            preds = []
            for p in key["preds"]:
                x, y, w, h = p.region.box
                preds.append(Prediction(label=p.label, confidence=p.confidence, track_id=p.track_id, extra=p.extra,
                                        region=Region((x + ix, y + iy, w, h), crop=p.region.crop,
                                                      extra=p.region.extra)))
            # the reading of shifted boxes is the keyframe's
            moved = key["moved"] = ((ix, iy), preds, ([(p.region.box, p.label) for p in preds], key["text"]))
        self._text_memo = moved[2]
        return list(moved[1])

    # -- reuse across frames ---------------------------------------------------------
    @staticmethod
    def _signature(region: Region) -> np.ndarray:
        """The symbol's stroke mask reduced to 8x8: what its crop would look like, coarsely."""
        m = region.extra["_mask"].astype(np.float32)
        return cv2.resize(m, (8, 8), interpolation=cv2.INTER_AREA)

    SURE = 0.95  # a voted confidence no single shape test outweighs (see :meth:`_kept`)

    # why a region is looked at afresh, most urgent first (lower sorts first)
    NEW, CHANGED, DOUBTFUL, DUE = 0, 1, 2, 3

    def _need(self, t, region: Region, sig: np.ndarray | None) -> int | None:
        """Why the region must be looked at afresh, or None when the track's last look stands.

        The last look stands while its crop would come out the same (box size within
        10%, the 8x8 stroke layout within a tenth), it was sure, and it is not yet time
        to look again: every track is re-examined every ``reclassify_every`` frames, so
        a label is never fixed once (design.md), and a changed symbol at once.
        """
        memo = None if t is None else t.memo
        if memo is None or sig is None:
            return self.NEW
        w, h = region.box[2], region.box[3]
        mw, mh = memo["size"]
        if abs(w - mw) > 0.1 * mw or abs(h - mh) > 0.1 * mh or float(np.abs(sig - memo["sig"]).mean()) > 0.1:
            return self.CHANGED
        if memo["probs"].max() < self.min_confidence:
            return self.DOUBTFUL  # doubtful: every look counts
        if memo["age"] >= self.reclassify_every - 1:  # age: frames since the look
            return self.DUE
        return None

    def _plan(self, regions: list[Region], timed: bool = False):
        """Which track each region joins, its 8x8 layout, and the regions looked at afresh
        now or deferred: ``(match, sigs, fresh, deferred)`` (see :meth:`_plan_looks`)."""
        tracks = self.tracker.tracks
        match = self.tracker.match([r.box for r in regions]) if regions else {}
        sigs, needs = [], []
        for d, r in enumerate(regions):
            sig = self._signature(r) if "_mask" in r.extra else None
            sigs.append(sig)
            t = tracks[match[d]] if d in match else None
            why = self._need(t, r, sig)
            if why is not None:
                needs.append((why, t.memo["age"] if why != self.NEW else 0, d))
        return (match, sigs) + self._plan_looks(needs, timed)

    def _plan_looks(self, needs: list[tuple[int, int, int]], timed: bool = False) -> tuple[list[int], list[int]]:
        """Split the regions that want a look into those looked at now and those deferred.

        ``needs``: (why, frames since the track's last look, region index). A crop costs
        a quarter of a millisecond, and a moving sheet (every box changed) or a group of
        tracks due together would put a dozen on one frame: the latency spike a live
        view stutters at. So at most ``max_looks`` crops are made per frame (at least
        one for a known track): new symbols first, then tracks that already have a look,
        the most urgent first. A changed shape or a doubtful look counts as
        ``reclassify_every`` frames older than it is, so it goes before a timed re-look
        of the same age, yet a track due for its timed look is never starved by a sheet
        whose other symbols keep changing. A deferred track keeps its last look one
        frame more. New symbols are always looked at (nothing can be shown for them
        until they are), unless ``max_new_looks`` caps them too; the rest are found
        again next frame.
        """
        new = sorted(d for why, _, d in needs if why == self.NEW)
        old = [d for _, _, d in sorted(((-(age + (self.reclassify_every if why != self.DUE else 0)), d), why, d)
                                       for why, age, d in needs if why != self.NEW)]
        later = []
        if self.max_new_looks and len(new) > self.max_new_looks:
            new, later = new[: self.max_new_looks], new[self.max_new_looks:]
        cap = self.max_looks
        if timed and self.still_looks:
            # a timed keyframe of a still scene: the crops have hardly changed since the
            # tracks' last looks; a few of them (the oldest) are looked at again each time
            cap = min(cap, self.still_looks) if cap else self.still_looks
        if cap:
            # new symbols take their share first, yet one known track is always looked at,
            # so a scene making new candidates every frame (clutter) cannot starve them
            room = max(1, cap - len(new))
            old, later = old[:room], later + old[room:]
        return new + old, later

    @torch.inference_mode()
    def probabilities(self, regions: list[Region]) -> np.ndarray:
        """ONE batched forward pass for every region of the frame."""
        if not regions:
            return np.zeros((0, len(self.classes)), np.float32)
        x = to_model_input(np.stack([r.crop for r in regions]), self.info)
        with torch_threads(1):
            out = self.model(x)
        # SeedNet ends in log_softmax; other architectures may give logits
        probs = out.exp() if out.max() <= 0 else torch.softmax(out, 1)
        return probs.numpy()

    def classify(self, frame: Frame, regions: list[Region], pre) -> list[Prediction]:
        """Name the regions: a look reused from the track where it still stands, the rest
        cropped and named in ONE batched forward pass; then vote, test and read.

        A still frame carries the keyframe's predictions instead (:meth:`_carry`)."""
        if self._finish is not None:
            # the regions segmented on the last frame, named now and moved to this frame
            (split, plan), shift = self._finish
            preds = self._analyse(frame, split, plan)
            self._record(preds + self._kept(preds))
            return self._carry(shift, counted=True)
        if self._still is not None:
            return self._carry(self._still)
        preds = self._analyse(frame, regions)
        if self.gate is not None:
            if self._was_still:
                preds = preds + self._kept(preds)
            self.gate.key()
            self._record(preds)
        return preds

    def _kept(self, preds: list[Prediction]) -> list[Prediction]:
        """Digits shown before that this analysis of an unchanged scene did not find.

        The gate saw nothing change since the last analysed frame, so a digit that
        frame showed is still on the sheet: one the segmenter missed this time (a marginal
        stroke in codec noise) stays shown from its track, for as long as the track
        lives (``max_missed`` analyses). A digit covered, wiped or carried away changes
        the picture, and such a frame is analysed without this.
        Not a doubtful digit (voted below ``SURE``) whose place this analysis looked at and
        turned down (a mark there failed the segmenter's shape tests): a look just past
        ``min_confidence`` against a shape test is no miss but two opinions, and the second
        says no. (A button among a knit's knots, read as a 0 at 0.81 on the first frame of a
        clothing scene and turned down on the next, was kept and then carried for 12
        frames.) A sure digit is kept: the shape tests fail a real digit now and then on a
        noisy frame (two touching 8s of held-out real 43, read at 1.0 on one frame, were
        turned down on the next).
        """
        ids = {p.track_id for p in preds}
        before = self._last["ids"] if self._last is not None else set()
        down = np.asarray(getattr(self.segmenter, "rejected", []), np.float64).reshape(-1, 4)
        out = []
        for t in self.tracker.tracks:
            if (t.missed and t.id in before and t.id not in ids and t.shown_label is not None
                    and t.memo is not None
                    and not (t.confidence < self.SURE and iou_matrix(t.box[None], down).max(initial=0.0) >= 0.5)):
                x, y, w, h = (int(round(v)) for v in t.box)
                out.append(Prediction(label=self.classes[t.shown_label], confidence=t.confidence, track_id=t.id,
                                      region=Region((x, y, w, h), crop=t.memo["crop"]), extra={"kept": True}))
        return out

    def _record(self, preds: list[Prediction]) -> None:
        """Keep an analysed frame's results for the still frames after it.

        They are carried only once settled: the frame left no work for the next one
        (new symbols beyond the cap, a symbol not yet decided) and shows what the
        analysed frame before it showed (one analysis that missed a blurred digit is
        not carried on).
        """
        self.keyframes += 1
        shown = {(p.track_id, p.label) for p in preds}
        settled = not self._pending and shown == self._shown
        self._shown = shown
        self._last = {"age": 0, "settled": settled, "preds": preds, "ids": {tid for tid, _ in shown},
                      "text": self.text(preds),
                      "tracks": list(self.tracker.tracks), "boxes": [t.box.copy() for t in self.tracker.tracks]}

    def _analyse(self, frame: Frame, regions: list[Region], plan=None) -> list[Prediction]:
        """Reuse, crop, name, vote and test ``regions`` (of the last segmented frame, whose
        crops the segmenter still holds: ``frame`` is not read); ``plan`` from :meth:`_plan`
        when it was made (with the crops) on the frame the regions came from."""
        self._pending = False
        self.last_candidates = len(regions)
        if plan is None:
            regions = self._reuse_cuts(regions)
            plan = self._plan(regions)
        tracks = self.tracker.tracks
        match, sigs, fresh, deferred = plan
        probs = np.zeros((len(regions), len(self.classes)), np.float32)
        gone = set()  # deferred new symbols: not seen this frame
        for d in deferred:
            t = tracks[match[d]] if d in match else None
            if t is None or t.memo is None:
                gone.add(d)
        self._pending = bool(gone)  # new symbols left for the next frame
        looked = set(fresh)
        for d, r in enumerate(regions):
            if d not in looked and d not in gone:
                t = tracks[match[d]]
                probs[d] = t.memo["probs"]
                r.crop = t.memo["crop"]
        if any(regions[d].crop is None for d in fresh):
            turn = self._upright(regions)
            for d in fresh:
                if regions[d].crop is None:
                    regions[d].crop = self.segmenter.crop_of(regions[d], turn)
        fresh_all = set(fresh) | gone
        fresh = [d for d in fresh if regions[d].crop.any()]  # nothing there after all
        self.last_looks = len(fresh_all)
        replaced: set[int] = set()  # regions read as two touching digits (their pieces appended)
        if fresh:
            probs[fresh] = self.probabilities([regions[d] for d in fresh])
            if self.swap_shape:
                self._restart_swapped(fresh, probs, sigs, match, tracks)
            if self.cut_aspect:
                regions, probs, sigs, replaced = self._cut_doubtful(regions, probs, sigs, match, fresh)
                fresh = fresh + list(range(len(probs) - 2 * len(replaced), len(probs)))
        fresh_set = set(fresh)
        alive = [d for d in range(len(regions)) if (d in fresh_set or d not in fresh_all) and d not in replaced]
        gone_tracks = {id(tracks[match[d]]) for d in replaced if d in match}
        for r in regions:
            r.extra.pop("_mask", None)
            r.extra.pop("_work", None)
            r.extra.pop("_pieces", None)
        if len(alive) < len(regions):
            index = {d: k for k, d in enumerate(alive)}
            match = {index[d]: ti for d, ti in match.items() if d in index}
            regions = [regions[d] for d in alive]
            probs, sigs = probs[alive], [sigs[d] for d in alive]
            fresh_set = {index[d] for d in fresh_set if d in index}
        if len(regions) == 0:
            self.tracker.update(np.zeros((0, 4)), probs)
            return []
        boxes = [r.box for r in regions]
        sure = probs.max(axis=1) >= self.min_confidence
        context = self._context(boxes)  # read once, for the printed-text and number tests
        drop = self._printed_words(regions, boxes, sure, context)
        # pieces cut from one touching run stand or fall together: if one of them is not
        # surely a digit, the run was letters or a scribble, not digits that touch
        # (a pair the network was sure of when it cut it, :meth:`_cut_doubtful`, is held to
        # ``keep_confidence`` after that, as a shown digit is: one look of its 1 at 0.78
        # dropped both digits, their tracks died and the mark was read as one 4 again)
        runs: dict[int, list[int]] = {}
        run_sure = sure.copy()
        for k, r in enumerate(regions):
            if r.extra.get("split"):
                runs.setdefault(r.extra.get("group", -1), []).append(k)
                if r.extra.get("cut"):
                    run_sure[k] = probs[k].max() >= self.keep_confidence
        for ks in runs.values():
            if not run_sure[ks].all():
                drop[ks] = True
        keep = np.flatnonzero(~drop)
        sub = {int(j): match[int(k)] for j, k in enumerate(keep) if int(k) in match}
        tracks = self.tracker.update(np.asarray(boxes, np.float64)[keep], probs[keep], match=sub)
        if gone_tracks:
            # a mark read as two digits: its track as one symbol ends here (it is not missed,
            # and must not be shown again from its votes: see :meth:`_kept`)
            self.tracker.tracks = [t for t in self.tracker.tracks if id(t) not in gone_tracks]
        preds = []
        backed = None
        for k, t in zip(keep, tracks):
            if int(probs[k].argmax()) != t.label and probs[k].max() >= self.settle_confidence:
                # this frame's look says another symbol than the vote: the vote is moving,
                # and the frames after this one (each adding the look again) must be analysed
                # until it has moved, not carry the old label (a 6 swapped for a 5 that the
                # network still gives the 6 some of)
                self._pending = True
            if k in fresh_set:
                # stagger the next look by track id, so tracks born together are not all
                # re-examined on the same frame (a frame-time spike)
                t.memo = {"probs": probs[k], "crop": regions[k].crop, "sig": sigs[k], "size": regions[k].box[2:],
                          "age": t.id % self.reclassify_every if t.hits <= 1 else 0,
                          "cut": bool(regions[k].extra.get("cut")), "pair": regions[k].extra.get("pair_of")}
            elif t.memo is not None:
                t.memo["age"] += 1
            # hysteresis: a digit already shown under this label stays while its voted
            # confidence holds above ``keep_confidence``; a doubtful look (a 1 with a foot
            # that the model half takes for a 2) then does not make it blink. Not when this
            # frame surely saw another symbol there (a card swapped): that is news, not doubt
            # Only for a digit shown a few frames running: a letter of printed text read as
            # a sure 7 once must not hold on through its doubtful looks.
            shown = t.shown_label == t.label and t.disagree == 0 and t.shown_run >= 3
            wavers = t.label_changes and t.steady < self.tracker.history  # (changes all out of its window: no more)
            if not shown and not wavers and self.keep_confidence <= t.confidence < self.min_confidence:
                # doubtful, but written inside a number whose other digits are sure: see
                # :meth:`_within_numbers` (worked out once per frame, only when asked)
                if backed is None:
                    backed = self._within_numbers(boxes, sure, drop, context)
                shown = bool(backed[k])
            if t.confidence < (self.keep_confidence if shown else self.min_confidence):
                t.shown_label, t.shown_run = None, 0
                if t.confidence >= self.settle_confidence:
                    self._pending = True  # undecided: the next frames' looks may show it
                continue
            t.shown_run = t.shown_run + 1 if t.shown_label == t.label else 1
            t.shown_label = t.label
            r = regions[k]
            preds.append(Prediction(label=self.classes[t.label], confidence=t.confidence, region=r,
                                    track_id=t.id, extra={"frame_confidence": float(probs[k].max())}))
        return preds

    def _cut_of(self, r: Region):
        """The two pieces a region would be as two touching digits taken as one mark, or None
        (see :meth:`_cut_doubtful`): worked out once per region (both :meth:`_reuse_cuts` and
        :meth:`_cut_doubtful` may ask on one frame)."""
        if "_pieces" not in r.extra:
            x, y, w, h = r.box
            lo, hi = self.cut_aspect, self.segmenter.cfg.max_aspect
            if self.pairs is not None:  # (marks the pair reader reads, see :meth:`_read_pairs`)
                lo, hi = min(lo, self.pair_aspect), self.segmenter.cfg.max_wide_aspect
            cuttable = not r.extra.get("split") and "_mask" in r.extra and lo * h <= w <= hi * h
            r.extra["_pieces"] = self.segmenter.cut_in_two(r) if cuttable else None
        return r.extra["_pieces"]

    NARROW_PIECE = 0.45  # see :meth:`_cut_doubtful`

    def _cut_doubtful(self, regions, probs, sigs, match, fresh):
        """Read a doubtful mark as wide as two narrow digits also as the two, and keep the two
        when the network is sure of both: ``(regions, probs, sigs, replaced)``, the pieces
        appended and ``replaced`` the indices of the marks they stand for.

        Why: two digits written touching, with a 1 or a narrow 7 among them, are no wider
        than one wide digit (a "41" 0.96 heights wide, a 0 1.17), and the segmenter cuts
        only marks wider than ``max_aspect``: "41" was read 4 at 0.68-0.86. On the crops of
        seeds 3101-3108's sheets (tight and normal spacing, 36 clips, every third frame),
        of the marks ``cut_aspect`` to ``max_aspect`` heights wide (324 touching pairs,
        1,057 single digits), those read under ``cut_whole`` whose two pieces
        (:meth:`vidrec.segment.Segmenter.cut_in_two`) the network reads at ``cut_pieces``
        or more and surer than the whole (a piece under ``NARROW_PIECE`` heights wide only
        as a 1) were 148 pairs read right, 10 pairs misread (a 1 or 7 with part of its
        neighbour) and 1 single digit (without the narrow rule: 31 pairs misread and 8
        single digits cut, and a 5 on another seed's moving sheet became "65"; without
        "surer than the whole", the same on those crops, but a wide 2 on squared paper,
        read 2 at 0.989, became a 6 and a 3).
        The pieces stand or fall together as any cut run does (``split``), become tracks of
        their own (flagged ``cut``, so the next frames take the mark as its two pieces at
        once: :meth:`_reuse_cuts`), and the whole mark's track ends. It costs two crops for
        each doubtful mark this wide on a frame that looks at it afresh; a sure one costs
        nothing.
        A mark the pair reader reads surely as two digits (:meth:`_read_pairs`) is taken as
        the two first, with the reader's digits for its pieces, and not cut again here.
        """
        taken = self._read_pairs(regions, probs, fresh)  # {mark: (its two pieces, their probabilities)}
        hi = self.segmenter.cfg.max_aspect
        cuts = [(d, self._cut_of(regions[d])) for d in fresh if probs[d].max() < self.cut_whole and d not in taken
                and self.cut_aspect * regions[d].box[3] <= regions[d].box[2] <= hi * regions[d].box[3]]
        cuts = [(d, pair) for d, pair in cuts if pair is not None]
        if cuts:
            turn = self._upright(regions)
            pieces = [p for _, pair in cuts for p in pair]
            for p in pieces:
                p.crop = self.segmenter.crop_of(p, turn)
            pp = self.probabilities(pieces)
            # a piece narrower than NARROW_PIECE heights is only believed as a 1: the curl of a
            # 5's tail cut off (0.32 heights) was a sure 6
            narrow = np.array([p.box[2] < self.NARROW_PIECE * p.box[3] for p in pieces])
            sure = (pp.max(axis=1) >= self.cut_pieces) & (~narrow | (pp.argmax(axis=1) == self._one))
            for k, (d, pair) in enumerate(cuts):
                # both pieces read surer than the whole (a wide 2 read 2 at 0.989, cut into a
                # sure 6 and 3 at 0.977 and 0.953, on squared paper)
                if sure[2 * k] and sure[2 * k + 1] and pp[2 * k: 2 * k + 2].max(axis=1).min() > probs[d].max():
                    taken[d] = (pair, list(pp[2 * k: 2 * k + 2]))
        regions, replaced, new_probs = list(regions), set(taken), []
        sigs = list(sigs)
        for d, (pair, pair_probs) in taken.items():
            for p in pair:
                p.extra["cut"] = True
                regions.append(p)
                sigs.append(self._signature(p))
            new_probs.extend(pair_probs)
        if replaced:
            n = len(probs)
            probs = np.concatenate([probs, np.asarray(new_probs, np.float32)])
            # pieces tracked as such before (one of them missed on the last frame, so the
            # mark came whole) keep their tracks, as do pieces the segmenter itself cut apart on
            # the last frame (a touching "88" split there, whole here: read as two again, its
            # first 8 got a new track while its old one was still shown, and was shown twice)
            tracks, used = self.tracker.tracks, set(match.values())
            for i, ti in self.tracker.match([r.box for r in regions[n:]]).items():
                if ti not in used and tracks[ti].memo is not None:
                    match[n + i] = ti
                    used.add(ti)
        return regions, probs, sigs, replaced

    def _read_pairs(self, regions, probs, fresh) -> dict:
        """Doubtful marks wide enough for two digits that the pair reader surely reads as two:
        ``{region index: ((piece, piece), their two probability rows)}``.

        Why: two digits that touch or overlap are one mark, and where they overlap no
        column cut separates them (a 9's stem through the 2's foot, a 0 reaching under a 4);
        the digit network reads the pieces, or the whole, wrong. The pair reader
        (:mod:`vidrec.pairs`) reads the whole mark. It is asked about a mark the digit
        network reads under ``cut_whole`` that is ``pair_aspect`` to ``max_wide_aspect``
        heights wide and that :meth:`_cut_of` can cut in two (the pieces' boxes and crops
        are those of the cut), and believed when its pair reading is at least
        ``pair_confidence`` and surer than the digit network's reading of the whole, in a
        line with a sure digit (:meth:`_in_a_number`). Each piece gets that reading's
        probabilities for its place (the pair classes summed over the other digit), so the
        two are tracked and voted as any cut pieces are.
        On the whole marks of seeds 3101-3108's sheets written with touching digits (2,083
        marks, 500 of them two digits; every third frame), asked as here but without the line
        test: 301 pairs read right, 15 wrong, 2 single digits read as two; on the same layouts
        with normal spacing (6,070 marks): 17 pairs right, no single digit read as two.
        """
        if self.pairs is None:
            return {}
        from vidrec import pairs

        # (:meth:`_cut_of` turns down a mark already cut or wider than ``max_wide_aspect``)
        cand = [d for d in fresh if probs[d].max() < self.cut_whole
                and regions[d].box[2] >= self.pair_aspect * regions[d].box[3] and self._cut_of(regions[d]) is not None]
        if not cand:
            return {}
        x = np.stack([crop.render_wide(self.segmenter.stroke_of(regions[d])) for d in cand])
        with torch.inference_mode(), torch_threads(1):
            q = self.pairs(to_model_input(x, self.pair_info, pairs.SHAPE)).exp().numpy()
        turn = None
        out = {}
        sure = np.flatnonzero(probs.max(axis=1) >= self.min_confidence)
        for d, qd in zip(cand, q):
            k = int(qd.argmax())
            if k < 10 or qd[k] < self.pair_confidence or qd[k] <= probs[d].max():
                continue
            if not self._in_a_number(regions, d, sure):
                continue
            two = np.zeros((2, len(self.classes)), np.float32)
            two[:, self._digit_columns] = np.stack(pairs.marginals(qd))
            pair = self._cut_of(regions[d])
            if turn is None:
                turn = self._upright(regions)
            for p in pair:
                p.crop = self.segmenter.crop_of(p, turn)
                p.extra["pair_of"] = (tuple(regions[d].box), bool(probs[d].max() >= self.min_confidence))
            out[d] = (pair, list(two))
        return out

    def _in_a_number(self, regions: list[Region], d: int, sure: np.ndarray) -> bool:
        """Does a sure digit stand in mark ``d``'s line, within 4 of its heights and of about its
        height (0.6-1.6 times)? The line may slant by up to ~22 degrees.

        Why: the pair reader knows digits only, and reads two touching printed letters as
        two digits just as surely ("No" of a bold "Invoice No." as 40, "OI" of "OIL" as 01:
        three of 200 empty scenes gained false digits). Handwritten numbers come on a sheet of
        them; a label's letters stand alone, or beside letters.
        """
        x, y, w, h = regions[d].box
        cx, cy = x + w / 2, y + h / 2
        for k in sure:
            if k == d or k >= len(regions):
                continue
            bx, by, bw, bh = regions[k].box
            dx, dy = bx + bw / 2 - cx, by + bh / 2 - cy
            if abs(dx) <= 4 * h and abs(dy) <= 0.5 * h + 0.4 * abs(dx) and 0.6 * h <= bh <= 1.6 * h:
                return True
        return False

    def _reuse_cuts(self, regions: list[Region]) -> list[Region]:
        """Marks already read as two touching digits, taken as their two pieces at once.

        A mark :meth:`_cut_doubtful` cut comes back whole from the segmenter on every frame.
        Where both its pieces join tracks that came from such a cut, the pieces replace it
        before the tracks are matched, and each keeps its track's look like any symbol
        (re-examined when due): without this the whole would be read again, and cut again,
        on every frame. A mark whose pieces are not both tracked stays whole.
        """
        tracks = self.tracker.tracks
        if not self.cut_aspect or not any(t.memo is not None and t.memo.get("cut") for t in tracks):
            return regions
        cand = [(d, pair) for d, pair in enumerate(map(self._cut_of, regions)) if pair is not None]
        if not cand:
            return regions
        boxes = [p.box for _, pair in cand for p in pair]
        m = self.tracker.match(boxes)
        swap = {}
        for k, (d, pair) in enumerate(cand):
            ts = [m.get(2 * k + i) for i in (0, 1)]
            if all(ti is not None and tracks[ti].memo is not None and tracks[ti].memo.get("cut") for ti in ts):
                whole = tracks[ts[0]].memo.get("pair")
                for p in pair:
                    p.extra["cut"] = True
                    if whole is not None:  # (read by the pair reader: see :meth:`_printed_words`)
                        p.extra["pair_of"] = (tuple(regions[d].box), whole[1])
                swap[d] = pair
        if not swap:
            return regions
        return [p for d, r in enumerate(regions) for p in (swap[d] if d in swap else (r,))]

    def _upright(self, regions: list[Region]) -> float:
        """Degrees to turn the crops of ``regions`` by, upright when their lines are turned (else 0).

        The network learnt upright digits: on a sheet held turned by 20 degrees it gave
        two of fourteen digits the wrong label (an 8 as 9 at 0.56, a 9 as 4 at 0.60),
        both right, and surer, turned back. The turn is read off the frame's lines
        (:func:`vidrec.reading.line_angle`: lines of three symbols or more) and applied
        from ``deskew`` degrees on: a handwritten line drifts a few degrees by itself,
        and below that the digits are as upright as the network needs.
        """
        angle = reading.line_angle([r.box for r in regions]) if self.deskew and len(regions) >= 3 else None
        return angle if angle is not None and abs(angle) >= self.deskew else 0.0

    def _restart_swapped(self, fresh, probs, sigs, match, tracks) -> None:
        """Forget the votes of a track whose symbol was swapped for another in its place.

        A card held in the same spot with another digit on it keeps the box; only its
        stroke layout changes. When the layout differs from the track's last look by
        more than ``swap_shape`` (mean 8x8 difference; a symbol that merely moves,
        blurs or turns a little changes it by a fraction of that) and the new look gives
        the track's label almost nothing, the old votes are about what is gone: without
        this a new digit read at 0.88 waited for eight frames of votes for the old one
        to fade before it was shown.
        """
        for d in fresh:
            ti = match.get(d)
            t = tracks[ti] if ti is not None else None
            if t is None or t.memo is None or t.label < 0 or sigs[d] is None:
                continue
            p = probs[d]
            if (int(p.argmax()) != t.label and p[t.label] < 0.05
                    and float(np.abs(sigs[d] - t.memo["sig"]).mean()) > self.swap_shape):
                t.probs.clear()
                t.disagree = 0

    def _context_marks(self, boxes: list) -> list:
        """The marks the segmenter turned down that may be letters among ``boxes``: those at
        most twice their median height. (A sheet's edge with the room behind it, turned down
        as one mark 250 px tall, made a row of 40-px digits beside it a "printed word" of short
        letters and a tall one, and the row was dropped.)"""
        rejected = list(getattr(self.segmenter, "rejected", []))
        if not boxes or not rejected:
            return rejected
        limit = 2.0 * float(median(np.array([b[3] for b in boxes], np.float32)))
        return [r for r in rejected if r[3] <= limit]

    def _context(self, boxes: list) -> tuple[list, list[list[list[int]]]]:
        """The context both word tests read: the marks the segmenter turned down that may be
        letters among ``boxes`` (:meth:`_context_marks`), and the words of each line of
        ``boxes`` followed by those marks (:func:`vidrec.reading.line_words`; an index past
        the boxes is a mark). Worked out once per frame and handed to both tests."""
        marks = self._context_marks(boxes)
        return marks, reading.line_words(list(boxes) + marks, self.space)

    def _within_numbers(self, boxes: list, sure: np.ndarray, drop: np.ndarray, context=None) -> np.ndarray:
        """Which regions sit inside a number whose other digits are all surely digits.

        The mirror of :meth:`_printed_text`: a doubtful mark among letters is a
        letter, and a doubtful mark closely spaced between sure digits, with no
        turned-down mark in the run, is a digit written less clearly than its
        neighbours (a faint or hurried 7 in "473"). Such a mark is held to the
        ``keep_confidence`` a shown digit is held to, instead of ``min_confidence``,
        as long as its voted label has not changed within the tracker's history (a mark
        the network wavers on between two digits, a 1 with a flag half read as a 4, gets
        no such credit; one whose vote moved only while it came into view, and has held
        for a full history since, does: a 1 of "41" on a sheet sliding in, voted 3, then
        1, and held at 0.6-0.8 for 20 frames, was lost all that time);
        a mark alone, or beside letters or other doubtful marks, is not.
        """
        n = len(boxes)
        out = np.zeros(n, bool)
        _, lines = context or self._context(boxes)
        for w in (w for ws in lines for w in ws):
            if len(w) < 2 or any(k >= n or drop[k] for k in w):
                continue
            doubtful = [k for k in w if not sure[k]]
            if len(doubtful) == 1:
                out[doubtful[0]] = True
        return out

    TURNED_WORD = 0.18  # a word's centres rising or falling this much of its run (10 degrees): turned

    @classmethod
    def _level(cls, boxes: list, word: list[int]) -> bool:
        """Whether the marks ``word`` of ``boxes`` run level: the slope of a straight line
        through their centres (:func:`vidrec.reading.line_slope`) is under ``TURNED_WORD``."""
        slope = reading.line_slope(boxes, word)
        return slope is None or abs(slope) < cls.TURNED_WORD

    def _printed_words(self, regions: list[Region], boxes: list, sure: np.ndarray, context) -> np.ndarray:
        """:meth:`_printed_text` with the pieces of a mark the pair reader read as two digits
        taken back as that one mark, as sure as the digit network read it whole.

        Why: the word tests count a word's doubtful and turned-down marks, and a printed
        word's touching letters are such marks ("OI" of a bold "OIL", read doubtfully as
        one digit, is one of them). Read as two sure digits by the pair reader ("01"), they
        would turn a printed word into a number: 0.6 false digits per frame on three of
        the empty scenes' printed labels. A pair of digits in a handwritten number is a
        mark of the number either way.
        """
        wholes: dict = {}
        for k, r in enumerate(regions):
            whole = r.extra.get("pair_of")
            if whole is not None:
                wholes.setdefault(tuple(whole[0]), (bool(whole[1]), []))[1].append(k)
        if not wholes:
            return self._printed_text(boxes, sure, context)
        single = [k for k, r in enumerate(regions) if r.extra.get("pair_of") is None]
        marks = [boxes[k] for k in single] + [list(b) for b in wholes]
        marks_sure = np.array([bool(sure[k]) for k in single] + [s for s, _ in wholes.values()], bool)
        word_drop = self._printed_text(marks, marks_sure)
        drop = np.zeros(len(boxes), bool)
        drop[single] = word_drop[:len(single)]
        for j, (_, ks) in enumerate(wholes.values()):
            drop[ks] = word_drop[len(single) + j]
        return drop

    def _printed_text(self, boxes: list, sure: np.ndarray, context=None) -> np.ndarray:
        """Which regions belong to a word that is mostly not digits (printed text, a logo).

        Words are runs of closely spaced marks, counting the symbol-sized marks the
        segmenter turned down; in a word where at least ``word_reject`` of the marks
        are turned down or doubtful (more than half, for a word of two) the "digits"
        are letters too, and all of them go. A turned-down mark wider than
        ``wide_mark`` heights (letters touching in a bold font) counts as two marks:
        the "ta" of a bold "Total" is 1.29 heights wide, and counted as one mark it left
        "Total ISO" a word of three letters and four sure "digits" (l, I, S, O read 1150).
        Printed text also comes in lines: a word of sure "digits" within ``line_text``
        heights of a printed word in its line, and of its height, is text as well
        (handwriting next to a printed label would go too; a number written apart, or
        larger than the print, stays).

        The heights test is made on level words only (centres rising or falling by less than
        ``TURNED_WORD`` of their run): in a turned word the box heights do not tell letters'
        heights, a box growing with its mark's width times the sine of the turn. (The real
        digits' sheet of the README turned 20 degrees and moving: "932", at 25-28 degrees, had
        boxes 34, 31 and 48 px tall, the wide 2's the tallest, where upright they are 35, 36
        and 41; the number went as a printed word, and its whole line "473 932 114" with it,
        on 30 of 45 frames.)
        """
        rejected, lines = context or self._context(boxes)
        allb = list(boxes) + rejected
        bad = np.concatenate([~sure, np.ones(len(rejected), bool)])
        drop = np.zeros(len(boxes), bool)
        n = len(boxes)
        heights = np.array([b[3] for b in allb], float)
        weight = np.ones(len(allb))
        if self.wide_mark > 0:
            weight[n:] = [2.0 if b[2] > self.wide_mark * b[3] else 1.0 for b in rejected]
        printed = []  # per line, per word: judged a printed word
        for ws in lines:
            printed.append([])
            for w in ws:
                is_text = False
                # a turned-down mark wider than one symbol can be (a run of touching
                # letters, "SAL" of a bold "SALT") stands for at least two marks
                size = float(weight[w].sum())
                if size >= 2:
                    share = float((bad[w] * weight[w]).sum()) / size
                    # printed words mix x-height letters with taller ones (o, r beside l, d, H);
                    # the digits of a handwritten number are about one height
                    hw = heights[w]
                    short = int((hw < 0.72 * hw.max()).sum())
                    mixed = (len(w) >= 3 and short >= 2 and int((hw >= 0.9 * hw.max()).sum()) >= 1
                             and short >= 0.3 * len(w) and self._level(allb, w))
                    # half turned down is text only when the sure "digits" stand as level as
                    # type does (l, I, S, O of a "Total ISO" all 24 px); handwritten digits vary
                    # (a row whose 5 was turned down in two pieces beside 1s of 43 and 36 px)
                    level = True
                    sure_h = [heights[k] for k in w if k < n and not bad[k]]
                    if len(sure_h) >= 2:
                        level = max(sure_h) <= 1.12 * min(sure_h)
                    is_text = share > 0.5 or (size >= 3 and share >= self.word_reject and level) or mixed
                    if not is_text and len(w) >= 4 and any(k >= n for k in w):
                        # type stands on one baseline: four or more marks, one of them turned
                        # down, whose feet lie on a straight line to a twentieth of their height
                        # (a printed "OIL and SALT" coming into view, 4 of its 10 marks turned
                        # down); handwritten digits' feet wander more
                        xs = np.array([allb[k][0] + 0.5 * allb[k][2] for k in w], float)
                        feet = np.array([allb[k][1] + allb[k][3] for k in w], float)
                        fit = np.polyval(np.polyfit(xs, feet, 1), xs)
                        is_text = float(np.abs(feet - fit).max()) <= max(1.0, 0.05 * float(median(hw)))
                printed[-1].append(is_text)
        if self.line_text > 0:
            # printed text comes in lines of words: a short run of "digits" (a bold O and I
            # merged into a 2, an L read as a 6, a T as a 7) set in the same line as a printed
            # word, close by and of its height, is more of that text
            for ws, pr in zip(lines, printed):
                changed = True
                while changed:
                    changed = False
                    for i, w in enumerate(ws):
                        if pr[i]:
                            continue
                        for j in (i - 1, i + 1):
                            if not 0 <= j < len(ws) or not pr[j] or len(ws[j]) < 2:
                                continue
                            a, b = (ws[j][-1], w[0]) if j < i else (w[-1], ws[j][0])
                            gap = allb[b][0] - (allb[a][0] + allb[a][2])
                            ratio = float(median(heights[w]) / median(heights[ws[j]]))
                            if gap <= self.line_text * 0.5 * (heights[a] + heights[b]) and 0.7 <= ratio <= 1.43:
                                pr[i] = changed = True
                                break
        for ws, pr in zip(lines, printed):
            for w, is_text in zip(ws, pr):
                if is_text:
                    for k in w:
                        if k < n:
                            drop[k] = True
        return drop

    def render(self, canvas: np.ndarray, frame: Frame, predictions: list[Prediction]) -> None:
        # labels go where they cover neither another label nor another digit
        taken: list = [(x, y, x + w, y + h) for x, y, w, h in (p.region.box for p in predictions)]
        for p in predictions:
            color = PALETTE[(p.track_id or 0) % len(PALETTE)]
            # a sheet of digits leaves little room: the confidence is shown where it says
            # something (below 0.95); every value is in the JSON Lines output
            label = p.label if p.confidence >= 0.95 else f"{p.label} {p.confidence:.2f}"
            draw.box_label(canvas, p.region.box, label, color=color, taken=taken)
        txt = self.text(predictions)
        if txt:
            draw.text_lines(canvas, txt.split("\n"), origin="tl")

    def text(self, predictions: list[Prediction]) -> str:
        # render and the frame loop both ask for the same frame's text: read it once
        key = [(p.region.box, p.label) for p in predictions]
        if self._text_memo is not None and self._text_memo[0] == key:
            return self._text_memo[1]
        txt = reading.read_text([b for b, _ in key], [lab for _, lab in key], self.space)
        self._text_memo = (key, txt)
        return txt
