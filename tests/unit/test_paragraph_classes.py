"""The kinds of lines and loose text that made the Chinese report's paragraphs come out
wrong (pipeline/paragraphs.py, pipeline/chart_labels.py, pipeline/page_layout.py):
list items, short CJK lines, mixed scripts, chart labels, margin tabs, a name and the
details beside it, a bullet the model left out of its item."""

# ruff: noqa: RUF001  (Chinese text, its full-width punctuation included, is the point)

from __future__ import annotations

from pipeline.chart_labels import chart_groups, is_label, is_margin_text
from pipeline.layout import Line, group_lines
from pipeline.models import Block, OcrResult, PageResult, Region
from pipeline.page_layout import page_layout
from pipeline.paragraphs import split_paragraphs


def block(text: str, x: int, y: int, w: int = 600, h: int = 30) -> Block:
    return Block.rect(text, x, y, w, h, 0.9)


def lines_of(*blocks: Block) -> list[Line]:
    return group_lines(blocks)


def test_each_list_item_is_a_paragraph() -> None:
    """Items opening with the bracket the first one opened with, or with a bullet; an
    item's second line (no bracket, flush left) stays with it."""
    rows = [
        block("【平安证券】常熟银行（601128.SH）*季报点评*息差", 100, 100),
        block("表现优于同业，看好微贷复苏*强烈推荐20230420", 100, 136, w=540),
        block("【平安证券】常熟银行（601128.SH）*事项点评*盈利", 100, 172),
        block("维持快增，存贷扩张积极*强烈推荐20230410", 100, 208, w=500),
    ]
    assert [len(p) for p in split_paragraphs(lines_of(*rows))] == [2, 2]
    bullets = [block("• Operation is similar to a tape recorder with", 100, 100),
               block("PLAY and RECORD keys on the panel", 130, 136, w=500),
               block("• Each of the sequences holds 32 tracks of", 100, 172),
               block("notes and controller data", 130, 208, w=400)]
    assert [len(p) for p in split_paragraphs(lines_of(*bullets))] == [2, 2]


def test_a_short_cjk_line_ends_its_paragraph_a_short_latin_line_need_not() -> None:
    """Chinese is set justified: only a paragraph's last line ends short. A ragged Latin
    line that does not end a sentence goes on."""
    cjk = [block("资产质量优异，风险抵补能力夯实。2季度末不良率", 100, 100),
           block("环比持平，保持近年来最优。", 100, 136, w=300),
           block("拨备方面，2季度拨备覆盖率550%，环比提升3pct", 100, 172)]
    assert [len(p) for p in split_paragraphs(lines_of(*cjk))] == [2, 1]
    latin = [block("the annotation campaign was carried", 100, 100, w=600),
             block("out in four phases by the team", 100, 136, w=420),
             block("that prepared the data sources for it.", 100, 172, w=600)]
    assert [len(p) for p in split_paragraphs(lines_of(*latin))] == [3]


def test_a_latin_line_taller_than_the_cjk_lines_around_it_stays_in_the_paragraph() -> None:
    """An e-mail address's box (descenders, @) is taller than the Chinese lines' boxes of
    the same type: not a change of type size."""
    rows = [block("投资咨询资格编号", 300, 100, w=160, h=25),
            block("S1060520080003", 300, 127, w=160, h=25),
            block("YUANZHEQI052@pingan.com.cn", 300, 150, w=290, h=35)]
    assert [len(p) for p in split_paragraphs(lines_of(*rows))] == [3]


def test_chart_labels_and_margin_tabs_are_told_apart_from_text() -> None:
    assert is_label("10% 5% 0% -5%") and is_label("2022-08-24 2023-01-05")
    assert not is_label("常熟银行沪深300指数") and not is_label("Figure 7-26.")
    pieces = [((200.0, 1150.0, 255.0, 1330.0), "10% 5% 0% -5%"),
              ((195.0, 1330.0, 250.0, 1390.0), "-10% -15%"),
              ((200.0, 1380.0, 550.0, 1410.0), "2022-08-24 2023-01-05 2023-05-19"),
              ((275.0, 1137.0, 530.0, 1166.0), "常熟银行沪深300指数"),  # the legend
              ((700.0, 300.0, 1500.0, 330.0), "2023年6月末总资产3178亿元")]
    assert chart_groups(pieces, 30.0) == [[0, 1, 2, 3]]
    assert is_margin_text([(22.0, 110.0, 80.0, 338.0)], ["公司报告"], 1655)
    assert not is_margin_text([(300.0, 110.0, 360.0, 338.0)], ["公司报告"], 1655)
    assert not is_margin_text([(22.0, 110.0, 300.0, 140.0)], ["a wide line"], 1655)


def test_page_layout_gathers_a_chart_joins_labels_and_bullets_to_their_text() -> None:
    """No layout region for the chart, the side tab, the bullet or the analyst's name:
    the chart is one figure, the tab a header, the bullet opens its item's paragraph,
    the name opens the paragraph of the details set beside it."""
    blocks = (
        block("公司报告", 22, 110, w=58, h=228),  # vertical side tab
        block("10% 5%", 200, 1250, w=55, h=30), block("0% -5%", 200, 1290, w=55, h=30),
        block("-10% -15%", 195, 1330, w=55, h=60),
        block("2022-08-24 2023-01-05 2023-05-19", 200, 1400, w=350),
        block("■", 674, 1148, w=17, h=18),
        block("息差小幅收窄，看好微贷持续复苏。公司上半年年化净息差", 729, 1142, w=800),
        block("保持相对稳定，我们按期初期末余额测算2季度单季净息差", 729, 1180, w=800),
        block("袁喆奇", 169, 1764, w=87, h=40),
        block("投资咨询资格编号", 301, 1774, w=155, h=25),
        block("S1060520080003", 297, 1800, w=160, h=26),
    )
    regions = (Region("text", (729, 1140, 1535, 1215)), Region("text", (297, 1770, 590, 1830)))
    layout = page_layout(PageResult(0, OcrResult(blocks, 1655, 2340), regions=regions))
    kinds = {p.text: p.kind for p in layout.paragraphs}
    assert kinds["公司报告"] == "header"
    figures = [p for p in layout.paragraphs if p.kind == "figure"]
    assert len(figures) == 1 and "2022-08-24" in figures[0].text
    texts = [p.text for p in layout.paragraphs if p.kind == "text"]
    assert any(t.startswith("■") and "息差小幅收窄" in t for t in texts)
    assert "袁喆奇投资咨询资格编号S1060520080003" in texts
    assert "袁喆奇" not in texts
