"""Word, Markdown and TXT of corpus pages with known structure, through `ocrpipe run`
with the embedded OCR service and layout regions, checked against their ground truth;
LibreOffice renders each DOCX and its text matches the TXT.

The pages stay in ../shared/corpus (licences: MANIFEST.md); these tests skip without it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from pipeline.export import load_result
from pipeline.running_heads import document_layout
from tests.support.docx_structure import DocxContent, read_docx
from tests.support.paths import CORPUS_DIR, REPO_ROOT

PAGES = {
    "amt.pdf": "pdfs/docling_amt_handbook_sample.pdf",  # two columns, figures, captions
    "report.jpg": "pages/omni_zh_research_report.jpg",  # Chinese report: header, tables
    "statement.png": "pages/scribe_table_02.png",  # a ruled table (a bank statement)
    "article.png": "edge/docling_multiframe_2206.01062.tif",  # its page 2: a paper's columns
    "journal.png": "pages/scribe_table_08.png",  # a table set without column rules
}
ARTICLE_PAGE = 1
"""The DocLayNet paper's second page (the TIFF's second frame): two columns of prose, a
pie chart, a caption, a section heading and a footnote under a running head."""


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not CORPUS_DIR.is_dir():
        pytest.skip(f"the shared corpus is not present at {CORPUS_DIR}")
    tmp = tmp_path_factory.mktemp("layout")
    inputs = tmp / "in"
    inputs.mkdir()
    for name, relative in PAGES.items():
        if name == "article.png":
            with Image.open(CORPUS_DIR / relative) as tiff:
                tiff.seek(ARTICLE_PAGE)
                tiff.convert("RGB").save(inputs / name)
        else:
            shutil.copyfile(CORPUS_DIR / relative, inputs / name)
    job = tmp / "job.toml"
    job.write_text(
        f'name = "layout"\n[source]\nurl = "{inputs}"\n[ocr]\nembedded_workers = 2\n'
        f'[output]\nurl = "{tmp / "out"}"\nformats = ["txt", "json", "docx", "md"]\n'
        "txt_lines = false\n"
    )
    env = dict(os.environ, OCRPIPE_DB=str(tmp / "state.db"), HOME=str(tmp),
               PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", str(job), "--no-progress"],
        env=env, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return tmp / "out"


def docx(outputs: Path, name: str) -> DocxContent:
    return read_docx((outputs / f"{name}.docx").read_bytes())


def truth_blocks(relative: str) -> list[str]:
    """The ground truth's paragraphs and headings (docling / OmniDocBench markdown),
    without pictures, tables and stray punctuation."""
    text = (CORPUS_DIR / relative).with_suffix(".gt.md").read_text(encoding="utf-8")
    text = re.sub(r"<table>.*?</table>", "", text, flags=re.S)
    return [b.strip() for b in text.split("\n\n")
            if len(b.strip()) > 1 and not b.strip().startswith(("<!--", "!["))]


def test_book_page_paragraphs_headings_figures_captions(outputs: Path) -> None:
    content = docx(outputs, "amt.pdf")
    truth = [b for b in truth_blocks(PAGES["amt.pdf"]) if not b.startswith("Figure")]
    body = [text for style, text in content.paragraphs if style != "Caption"]
    assert abs(len(body) - len(truth)) <= 0.2 * len(truth), (len(body), len(truth))
    styles = {text: style for style, text in content.paragraphs}
    for heading in ("Boots Self-Locking Nut", "Stainless Steel Self-Locking Nut",
                    "Elastic Stop Nut"):
        assert styles.get(heading, "").startswith("Heading"), (heading, styles.get(heading))
    captions = [text for style, text in content.paragraphs if style == "Caption"]
    assert [c[:12] for c in captions] == ["Figure 7-26.", "Figure 7-27."]
    assert not any("Figure 7-2" in text and style != "Caption"
                   for style, text in content.paragraphs if text.startswith("Figure 7-2"))
    assert all("Self-locking nuts." not in text for text in body)
    assert len(content.pictures) == 2
    assert content.soft_breaks == 0
    assert 2 in content.columns
    assert content.footers == ["7-45"]


def test_report_table_and_header(outputs: Path) -> None:
    content = docx(outputs, "report.jpg")
    truth = (CORPUS_DIR / PAGES["report.jpg"]).with_suffix(".gt.md").read_text(encoding="utf-8")
    first = re.search(r"<table>(.*?)</table>", truth, re.S)
    assert first is not None
    rows = re.findall(r"<tr>(.*?)</tr>", first.group(1), re.S)
    heads = [re.sub(r"<[^>]+>|\s", "", re.split(r"</t[hd]>", row)[0]) for row in rows]
    # The annotation lists its last row, 资产负债率(%), twice (the values shifted down a
    # row from 总市值 on): the scan has one such row.
    unique = [h for n, h in enumerate(heads) if n == 0 or h != heads[n - 1]]
    assert len(unique) == len(rows) - 1
    shape = (len(unique), len(re.findall(r"<t[hd]>", rows[0])))
    tables = [t for t in content.tables if t and t[0][0] == "行业"]
    assert tables, [t[0] for t in content.tables]
    assert (len(tables[0]), len(tables[0][0])) == shape
    assert any("2023" in h for h in content.headers)
    assert content.soft_breaks == 0
    markdown = (outputs / "report.jpg.md").read_text(encoding="utf-8")
    assert "| 行业 | 银行 |\n|---|---|" in markdown


def test_report_second_table_is_its_ruled_grid(outputs: Path) -> None:
    """The report's second table: the model's region runs under the analysts' sidebar
    on its left; the table's rules (one under each row, no vertical ones) span only the
    table, so the sidebar's lines are paragraphs again and the table has the scan's
    9 rows of 6 columns (the ground truth's second table)."""
    truth = (CORPUS_DIR / PAGES["report.jpg"]).with_suffix(".gt.md").read_text(encoding="utf-8")
    second = re.findall(r"<table>(.*?)</table>", truth, re.S)[1]
    rows = re.findall(r"<tr>(.*?)</tr>", second, re.S)
    shape = (len(rows), len(re.findall(r"<t[hd]>", rows[0])))
    assert shape == (9, 6)
    content = docx(outputs, "report.jpg")
    tables = [t for t in content.tables if any("2021A" in cell for cell in t[0])]
    assert tables, [t[0] for t in content.tables]
    assert (len(tables[0]), len(tables[0][0])) == shape
    assert tables[0][0][1:] == ["2021A", "2022A", "2023E", "2024E", "2025E"]
    assert [row[0] for row in tables[0][1:3]] == ["营业收入(百万元)", "YOY(%)"]
    texts = [text for _, text in content.paragraphs]
    assert "研究助理" in texts  # the sidebar, out of the table
    assert not any("研究助理" in cell for table in content.tables for row in table
                   for cell in row)


def test_report_paragraphs_within_a_fifth_of_the_truth(outputs: Path) -> None:
    """The ground truth's blocks (19: headings, lines, list items, the analysts'
    entries, the body). Once 23: the report's vertical side tabs (公司报告, 公司半年报点评,
    证券研究报告) were headings, a chart's axis labels were five paragraphs, list items
    ran together. The body's three bullet paragraphs are one block of the truth."""
    content = docx(outputs, "report.jpg")
    truth = truth_blocks(PAGES["report.jpg"])
    assert len(truth) == 19
    assert abs(len(content.paragraphs) - len(truth)) <= 0.2 * len(truth), content.paragraphs
    texts = [text for _, text in content.paragraphs]
    assert sum(text.startswith("【平安证券】") for text in texts) == 3  # one per list item
    assert not any(text in ("公司报告", "证券研究报告") for text in texts)
    assert not any(text.startswith("10%") for text in texts)  # the chart is a picture


def test_ruled_table_rows_and_columns(outputs: Path) -> None:
    """The statement's ground truth lists its cells column by column under the headings
    Date, Description, Number, Debits, Credits, Balance; a row per date. (The model takes
    this table for a figure: a "figure" that is mostly text is read as a table.)"""
    truth = (CORPUS_DIR / PAGES["statement.png"]).with_suffix(".gt.txt").read_text()
    lines = truth.splitlines()
    columns = [h for h in ("Date", "Description", "Number", "Debits", "Credits", "Balance")
               if h in lines]
    dates = [line for line in lines if re.fullmatch(r"\d{2}[A-Z][a-z]{2}\d{4}", line)]
    content = docx(outputs, "statement.png")
    tables = [t for t in content.tables if len(t) >= len(dates)]
    assert tables, [len(t) for t in content.tables]
    body = [row for row in tables[0] if re.fullmatch(r"\d{2}[A-Z][a-z]{2}\d{4}", row[0])]
    assert [row[0] for row in body] == dates
    assert len(tables[0][0]) == len(columns) == 6
    # its heading row, set above the table's dashed top rule (the model boxed it as a
    # header), read as one box over four columns: the table's first row, cut per column
    assert tables[0][0] == columns
    assert content.pictures == []  # not cropped as a picture


def test_table_without_column_rules_is_cut_at_its_gutter(outputs: Path) -> None:
    """The journal's Table I: a rule above, under the headings and below, none between
    the columns, and the OCR reads most rows as one box ("MDHINC Median household
    income"). The white gutter between the columns parts them: each variable's
    definition is in the second column, as the ground truth's lines pair them."""
    truth = (CORPUS_DIR / PAGES["journal.png"]).with_suffix(".gt.txt").read_text()
    pairs = [line.split(" ", 1) for line in truth.splitlines()
             if re.fullmatch(r"(ADIR|MDHINC2?|PERPHH|POPDEN) .+", line)]
    assert len(pairs) == 5
    content = docx(outputs, "journal.png")
    tables = [t for t in content.tables if t and t[0][:2] == ["Variable", "Definitions"]]
    assert tables, [t[:2] for t in content.tables]
    assert all(len(row) == 2 for row in tables[0])
    cells = {row[0]: row[1] for row in tables[0]}
    for name, definition in pairs:
        assert cells.get(name, "").startswith(definition[:12]), (name, cells.get(name))


def test_two_column_article_page(outputs: Path) -> None:
    """The DocLayNet paper's page 2, counted by hand from the scan: column 1 holds the
    pie chart, its caption (Caption style, not counted), four paragraphs (the first one
    carried over from page 1: "to a minimum, ...") and a footnote ("2 e.g. AAPL from
    ..."); column 2 three paragraphs ("Table 1 shows", "In order to accommodate",
    "Despite being cost-intense"), the heading "4 ANNOTATION CAMPAIGN" and a paragraph
    running on to page 3: 10 with the heading. The running head (the paper's title and
    the conference) goes to Word's header. Column 2 is read after column 1 entirely."""
    content = docx(outputs, "article.png")
    body = [(style, text) for style, text in content.paragraphs if style != "Caption"]
    assert abs(len(body) - 10) <= 0.2 * 10, body
    styles = {text: style for style, text in content.paragraphs}
    assert styles.get("4 ANNOTATION CAMPAIGN", "").startswith("Heading"), styles
    assert not any(text.startswith("DocLayNet: A Large") for _, text in body)  # the running head
    assert any("DocLayNet" in h for h in content.headers)
    assert 2 in content.columns
    text = re.sub(r"\s+", " ", " ".join(text for _, text in content.paragraphs))
    first, last_of_one = text.find("to a minimum"), text.find("in equal proportions")
    first_of_two, last = text.find("Table 1 shows"), text.find("carried out in four phases")
    assert -1 not in (first, last_of_one, first_of_two, last), text
    assert first < last_of_one < first_of_two < last


def pdf_text(docx_path: Path, tmp: Path) -> str:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        pytest.skip("LibreOffice is not installed (apt-get install libreoffice-writer-nogui; "
                    ".ci/run installs it)")
    subprocess.run(
        [soffice, "--headless", f"-env:UserInstallation=file://{tmp}/profile",
         "--convert-to", "pdf", "--outdir", str(tmp), str(docx_path)],
        capture_output=True, timeout=180, check=True,
    )
    pdf = tmp / docx_path.with_suffix(".pdf").name
    return subprocess.run(["pdftotext", "-raw", "-enc", "UTF-8", str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout


def words(text: str) -> list[str]:
    """Words, with every CJK character a word of its own (no spaces to split them)."""
    return re.findall(r"[\u3400-\u9fff\uf900-\ufaff]|[^\s\u3400-\u9fff\uf900-\ufaff]+", text)


def in_order(expected: list[str], text: str, window: int = 200) -> int:
    """How many of `expected` appear in `text` in that order (spaces ignored: LibreOffice
    wraps long words and hyphenated ones where its lines end). A word not found within
    `window` characters ahead counts as missing and the search goes on from where it was."""
    joined = re.sub(r"\s+", "", text)
    position = found = 0
    for word in expected:
        at = joined.find(word, position, position + window + len(word))
        if at >= 0:
            found += 1
            position = at + len(word)
    return found


@pytest.mark.parametrize("name", list(PAGES))
def test_libreoffice_text_matches_the_txt(outputs: Path, name: str, tmp_path: Path) -> None:
    """At least 99 % of the TXT's words, in order, in the PDF LibreOffice renders from the
    DOCX (pdftotext -raw: the order the text was laid out in). Text inside figures is in
    the TXT but only in the picture in Word: left out; running heads are in Word's header
    and footer, at the top and foot of the page, and a table's cells wrap inside their
    cells (pdftotext reads the wrapped pieces of cells side by side): every character of
    those is found somewhere in the page."""
    text = pdf_text(outputs / f"{name}.docx", tmp_path)
    layout = document_layout(load_result(outputs / f"{name}.json"))
    txt = words((outputs / f"{name}.txt").read_text(encoding="utf-8"))
    paragraphs = [p for page in layout for p in page.paragraphs]
    body = [p for p in paragraphs if p.kind not in ("figure", "header", "footer", "table")]
    anywhere = [p.text for p in paragraphs if p.kind in ("header", "footer")]
    anywhere += [cell for p in paragraphs if p.kind == "table" for row in p.rows for cell in row]
    expected = words(" ".join(p.text for p in body))
    # the TXT holds what the check expects (the statement has no body text: a table
    # under its running head)
    assert set(expected) <= set(txt) and (expected or name == "statement.png")
    # a table between two paragraphs puts its cells' text between them
    tables = [sum(len(cell) for row in p.rows for cell in row)
              for p in paragraphs if p.kind == "table"]
    found = in_order(expected, text, window=200 + max(tables, default=0))
    assert found >= 0.99 * len(expected), (found, len(expected))
    missing = Counter(re.sub(r"\s+", "", "".join(anywhere))) - Counter(re.sub(r"\s+", "", text))
    assert not missing, missing
