"""Pages/s and CER of RapidOCR under different detection and recognition settings.

    .venv/bin/python -m benchmarks.rapid_tuning [--threads 1] [--rounds 1] [--pages GLOB]
        [--settings NAME,NAME...]

One engine per setting in this process (`threads` onnxruntime threads, as one service
worker has), every page of jobs/samples (and ../shared/corpus/pages when present) with a
`.gt.txt` (the 12 MP phone photos left out), every setting on each page in turn
(interleaved, so load from elsewhere on a shared machine falls on all alike; a setting
may still gain from running after another on the same page, so swap the order to check).
Printed per setting: seconds per page (best of `rounds`), the speed-up over the first
setting named, and the character-weighted CER, plain and as a bag of characters (reading
order ignored), with the text put in reading order the way the service does. "shipped"
is what the service runs (`pipeline.service.rapid`), "rapidocr-defaults" RapidOCR's own
settings; the others change one thing on top of "shipped". "openvino*" need `pip install
openvino`. Of onnxruntime's session options RapidOCR 3.10 already sets
graph_optimization_level ORT_ENABLE_ALL and the default sequential execution mode
(rapidocr/inference_engine/onnxruntime/main.py), with the CPU memory arena off
("ort-mem-arena" turns it on); threads per process against processes is the service's
`workers` (benchmarks/engines.py --layouts 2x1,1x2).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.engines import _sorted_chars, corpus_pages
from pipeline.service.backend import EngineRequest, to_blocks
from pipeline.service.images import load_page, to_bgr_array
from pipeline.service.rapid import RapidBackend
from pipeline.testing.cer import cer, normalize

ROOT = Path(__file__).resolve().parents[1]

SETTINGS: dict[str, Any] = {
    "shipped": {},
    "rapidocr-defaults": {"detection_max_side": None, "Rec.rec_batch_num": 6},
    "det-max-1600": {"detection_max_side": 1600},
    "det-max-1440": {"detection_max_side": 1440},
    "det-max-1280": {"detection_max_side": 1280},
    "det-max-1024": {"detection_max_side": 1024},
    "rec-batch-1": {"Rec.rec_batch_num": 1},
    "rec-batch-3": {"Rec.rec_batch_num": 3},
    "rec-batch-16": {"Rec.rec_batch_num": 16},
    "det-1280-rec-3": {"detection_max_side": 1280, "Rec.rec_batch_num": 3},
    "det-1280-rec-1": {"detection_max_side": 1280, "Rec.rec_batch_num": 1},
    "side-1600": {"Global.max_side_len": 1600},
    "no-dilation": {"Det.use_dilation": False},
    "ort-mem-arena": {"EngineConfig.onnxruntime.enable_cpu_mem_arena": True},
    "openvino": "openvino",  # filled in by openvino_setting(): needs the openvino package
    "openvino-det-1280": "openvino+det-max-1280",
}
"""Named settings: RapidOCR parameters over the service's, and `detection_max_side` (the
longer side text detection sees; None = RapidOCR's own rule, short side up to 736)."""


def openvino_setting(threads: int) -> dict[str, Any]:
    """RapidOCR on OpenVINO's CPU runtime, reading the same ONNX models from the wheel."""
    import rapidocr
    from rapidocr import EngineType

    models = Path(rapidocr.__file__).parent / "models"
    return {
        "Det.engine_type": EngineType.OPENVINO,
        "Rec.engine_type": EngineType.OPENVINO,
        "Cls.engine_type": EngineType.OPENVINO,
        "Det.model_path": str(models / "PP-OCRv6_det_small.onnx"),
        "Rec.model_path": str(models / "PP-OCRv6_rec_small.onnx"),
        "Cls.model_path": str(models / "ch_ppocr_mobile_v2.0_cls_mobile.onnx"),
        "EngineConfig.openvino.inference_num_threads": threads,
    }


def tuning(name: str, threads: int) -> dict[str, Any]:
    value = SETTINGS[name]
    if isinstance(value, dict):
        return value
    merged: dict[str, Any] = {}
    for part in value.split("+"):
        merged |= openvino_setting(threads) if part == "openvino" else tuning(part, threads)
    return merged


def make_backend(setting: dict[str, Any], threads: int) -> RapidBackend:
    params = dict(setting)
    if "detection_max_side" not in params:
        return RapidBackend(threads, tuning=params)
    side = params.pop("detection_max_side")
    return RapidBackend(threads, tuning=params, detection_max_side=side)


def measure(names: list[str], threads: int, rounds: int,
            pages: list[Path]) -> None:
    """Every setting on page 1, then every setting on page 2, ...: interleaved, so load from
    elsewhere on a shared machine falls on all settings alike."""
    backends = {name: make_backend(tuning(name, threads), threads) for name in names}
    images = [to_bgr_array(load_page(p.read_bytes())) for p in pages]
    for backend in backends.values():
        backend.recognize(images[0], EngineRequest())  # load the models
    best = {name: [float("inf")] * len(pages) for name in names}
    texts = {name: [""] * len(pages) for name in names}
    for _ in range(rounds):
        for i, image in enumerate(images):
            height, width = image.shape[:2]
            for name, backend in backends.items():
                started = time.perf_counter()
                recognized = backend.recognize(image, EngineRequest())
                best[name][i] = min(best[name][i], time.perf_counter() - started)
                texts[name][i] = "\n".join(
                    b.words for b in to_blocks(recognized, width, height)
                )
    references = [p.with_suffix(".gt.txt").read_text(encoding="utf-8") for p in pages]
    weights = [len(normalize(r)) for r in references]
    base = sum(best[names[0]])
    print(f"{'setting':20} {'s/page':>7} {'speed':>6} {'CER':>7} {'bag CER':>8}  "
          "s per page")
    for name in names:
        errors = sum(cer(t, r) * n for t, r, n in zip(texts[name], references, weights,
                                                        strict=True))
        bag = sum(cer(_sorted_chars(t), _sorted_chars(r)) * n
                  for t, r, n in zip(texts[name], references, weights, strict=True))
        total = sum(best[name])
        print(f"{name:20} {total / len(pages):7.3f} {base / total:5.2f}x "
              f"{errors / sum(weights):7.4f} {bag / sum(weights):8.4f}  "
              + " ".join(f"{s:.2f}" for s in best[name]), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--pages", default="*", help="glob on the page file names")
    parser.add_argument("--settings", default=",".join(SETTINGS),
                        help="comma-separated names of: " + ", ".join(SETTINGS))
    args = parser.parse_args()
    pages = corpus_pages(args.pages)
    if not pages:
        sys.exit(f"no pages with ground truth match {args.pages!r}")
    print(f"{len(pages)} pages, {args.threads} thread(s), best of {args.rounds}")
    names = args.settings.split(",")
    unknown = [n for n in names if n not in SETTINGS]
    if unknown:
        sys.exit(f"unknown settings {unknown}: choose from {', '.join(SETTINGS)}")
    measure(names, args.threads, args.rounds, pages)


if __name__ == "__main__":
    main()
