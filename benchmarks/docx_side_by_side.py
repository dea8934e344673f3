"""A screenshot of one page of the Word output beside the original scan: the artefact to
look at before trusting the DOCX writer.

    .venv/bin/python -m benchmarks.docx_side_by_side [DOCUMENT] [--page N] [-o PNG]

DOCUMENT defaults to the aviation handbook page of the team's corpus
(../shared/corpus/pdfs/docling_amt_handbook_sample.pdf, docling test data, MIT), else the
sample job's docling_multi_page.pdf (shipped in jobs/samples). It is run through
`ocrpipe run` (the embedded OCR service, layout regions on, formats docx and json) in a
temporary folder; LibreOffice (`soffice --headless --convert-to pdf`) renders the DOCX and
pdftoppm rasterises the page; the original page is rendered as the pipeline renders it.
Both are scaled to one height and put side by side, original on the left, with the time
each step took printed. Default output: benchmarks/artefacts/docx_side_by_side.png.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

from pipeline.render import render_page

ROOT = Path(__file__).resolve().parents[1]
CORPUS_PAGE = ROOT.parent / "shared" / "corpus" / "pdfs" / "docling_amt_handbook_sample.pdf"
SAMPLE = ROOT / "jobs" / "samples" / "pdfs" / "docling_multi_page.pdf"
HEIGHT = 1100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("document", nargs="?", type=Path,
                        default=CORPUS_PAGE if CORPUS_PAGE.is_file() else SAMPLE)
    parser.add_argument("--page", type=int, default=1, help="1-based page number")
    parser.add_argument("-o", "--output", type=Path,
                        default=ROOT / "benchmarks" / "artefacts" / "docx_side_by_side.png")
    args = parser.parse_args()
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None or shutil.which("pdftoppm") is None:
        sys.exit("needs LibreOffice and poppler-utils: apt-get install libreoffice-writer-nogui "
                 "poppler-utils")
    with tempfile.TemporaryDirectory(prefix="ocrpipe-side-") as folder:
        tmp = Path(folder)
        (tmp / "in").mkdir()
        shutil.copyfile(args.document, tmp / "in" / args.document.name)
        job = tmp / "job.toml"
        job.write_text(f'name = "side"\n[source]\nurl = "{tmp / "in"}"\n'
                       f'[output]\nurl = "{tmp / "out"}"\nformats = ["docx", "json"]\n')
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pipeline", "run", str(job), "--no-progress"],
                       env=dict(os.environ, OCRPIPE_DB=str(tmp / "state.db")), check=True,
                       stdout=subprocess.DEVNULL)
        print(f"ocrpipe run (OCR + layout + writers): {time.perf_counter() - start:.1f} s")
        docx = tmp / "out" / (args.document.name + ".docx")
        start = time.perf_counter()
        subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp}/profile",
                        "--convert-to", "pdf", "--outdir", str(tmp), str(docx)],
                       check=True, capture_output=True)
        print(f"LibreOffice DOCX -> PDF: {time.perf_counter() - start:.1f} s")
        pdf = tmp / (docx.stem + ".pdf")
        subprocess.run(["pdftoppm", "-r", "100", "-png", "-f", str(args.page), "-l",
                        str(args.page), "-singlefile", str(pdf), str(tmp / "word")], check=True)
        word = Image.open(tmp / "word.png").convert("RGB")
        original, _ = render_page(str(args.document), args.page - 1, dpi=100)
        picture = side_by_side(original.convert("RGB"), word)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    picture.quantize(128).save(args.output, optimize=True)  # a screenshot: 128 colours do
    print(f"wrote {args.output} ({picture.width}x{picture.height}): original left, Word right")


def side_by_side(left: Image.Image, right: Image.Image) -> Image.Image:
    left, right = (
        im.resize((round(im.width * HEIGHT / im.height), HEIGHT)) for im in (left, right)
    )
    canvas = Image.new("RGB", (left.width + right.width + 30, HEIGHT + 40), "white")
    canvas.paste(left, (0, 40))
    canvas.paste(right, (left.width + 30, 40))
    draw = ImageDraw.Draw(canvas)
    draw.text((10, 10), "original scan", fill="black")
    draw.text((left.width + 40, 10), "ocrpipe DOCX rendered by LibreOffice", fill="black")
    draw.line([(left.width + 15, 0), (left.width + 15, HEIGHT + 40)], fill="grey", width=2)
    return canvas


if __name__ == "__main__":
    main()
