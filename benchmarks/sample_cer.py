"""CER of `make run`'s outputs against the ground truth shipped beside the samples.

    make run && .venv/bin/python -m benchmarks.sample_cer [OUTPUT_DIR]

Pages are compared one by one (form-feed separated); CER = edit distance / reference
characters after the normalisation in pipeline/testing/cer.py. "bag CER" compares the words
sorted, so reading-order differences (table cells listed column by column in a
pdftotext ground truth) do not count. Prints a table and character-weighted means.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pipeline.testing.cer import cer, normalize

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    samples = ROOT / "jobs" / "samples"
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "out" / "sample"
    total_chars = total_errors = total_bag = 0.0
    print(f"{'document':52} {'page':>4} {'chars':>6} {'CER':>7} {'bag CER':>8}")
    for gt_file in sorted(samples.rglob("*.gt.txt")):
        doc = gt_file.with_name(gt_file.name.removesuffix(".gt.txt"))
        matches = [p for p in doc.parent.glob(doc.name + ".*") if not p.name.endswith(".txt")]
        if not matches:
            continue
        key = matches[0].relative_to(samples).as_posix()
        result = output / f"{key}.txt"
        if not result.exists():
            print(f"{key:52} missing output {result}")
            continue
        hyp_pages = result.read_text(encoding="utf-8").rstrip("\n").split("\f")
        ref_pages = gt_file.read_text(encoding="utf-8").split("\f")
        for index, ref in enumerate(ref_pages):
            if not normalize(ref):
                continue
            hyp = hyp_pages[index] if index < len(hyp_pages) else ""
            rate, bag = cer(hyp, ref), cer(_bag(hyp), _bag(ref))
            chars = len(normalize(ref))
            total_chars += chars
            total_errors += rate * chars
            total_bag += bag * chars
            print(f"{key:52} {index + 1:>4} {chars:>6} {rate:>7.3f} {bag:>8.3f}")
    if total_chars:
        print(f"{'all pages (character-weighted)':52} {'':>4} {int(total_chars):>6} "
              f"{total_errors / total_chars:>7.3f} {total_bag / total_chars:>8.3f}")


def _bag(text: str) -> str:
    return " ".join(sorted(normalize(text).split()))


if __name__ == "__main__":
    main()
