"""A recognised table as a real Word table (python-docx): one Word cell per grid slot,
spanning cells merged, the "Table Grid" style so its lines show."""

from __future__ import annotations

from docx.document import Document as DocxDocument

from pipeline.tables import Table


def add_table(document: DocxDocument, table: Table) -> None:
    if table.rows == 0 or table.columns == 0:
        return
    grid = table.grid()
    word = document.add_table(rows=table.rows, cols=table.columns)
    word.style = document.styles["Table Grid"]
    for cell in table.cells:
        if cell.row_span > 1 or cell.column_span > 1:
            corner = word.cell(cell.row + cell.row_span - 1, cell.column + cell.column_span - 1)
            word.cell(cell.row, cell.column).merge(corner)
    for row, texts in enumerate(grid):
        for column, text in enumerate(texts):
            if text:
                word.cell(row, column).text = text
