
from pipeline.models import Block, OcrResult, PageGeometry, PageResult, SourceObject, UsageRecord
from pipeline.store import AttemptEnd, open_store


def record(page: int, attempt: int = 1, project: str = "default") -> UsageRecord:
    return UsageRecord(
        job="j", doc_key="d.pdf", page_index=page, enterprise_project=project,
        api="general-text", attempt=attempt, bytes_sent=100,
    )


RESULT = OcrResult((Block("hi", ((0, 0), (5, 0), (5, 5), (0, 5)), 0.5),), 10, 10, -1, "r1")
PAGE = PageResult(0, RESULT, PageGeometry(10, 10, 20, 20, 144.0))


async def test_ledger_outcomes_and_report(store_url: str) -> None:
    store = await open_store(store_url)
    run = await store.start_run("j")
    doc = await store.begin_document("j", SourceObject("d.pdf", "/d.pdf", 1, change_token="t1"))
    # page 0: throttled once, then billed (committed with the result)
    a = await store.start_attempt(record(0), run)
    await store.finish_attempt(a, AttemptEnd("failed", 429, "APIG.0308"))
    b = await store.start_attempt(record(0, 2), run)
    await store.save_page(doc, PAGE, change_token="t1",
                          attempt=(b, AttemptEnd("billed", 200, None, "r1", 12.0)))
    # page 1: sent, then the process died: stays pending until the next run
    await store.start_attempt(record(1), run)
    # another project
    c = await store.start_attempt(record(5, project="finance"), run)
    await store.finish_attempt(c, AttemptEnd("unknown", None, None, None, 60000.0))

    rows = {r["enterprise_project"]: r for r in await store.usage_summary("j")}
    assert rows["default"]["billed"] == 1
    assert rows["default"]["failed"] == 1
    assert rows["default"]["unknown"] == 1  # pending counts as unknown
    assert rows["default"]["pages"] == 1
    assert rows["finance"]["unknown"] == 1 and rows["finance"]["billed"] == 0
    assert await store.saved_pages(doc) == {0: PAGE}
    await store.close()

    # a new run turns leftovers into "unknown" and keeps finished pages
    store = await open_store(store_url)
    await store.start_run("j")
    rows = {r["enterprise_project"]: r for r in await store.usage_summary("j")}
    assert rows["default"]["unknown"] == 1
    assert list((await store.saved_pages(doc)).keys()) == [0]
    await store.close()


async def test_changed_input_drops_saved_pages(store_url: str) -> None:
    store = await open_store(store_url)
    doc = await store.begin_document("j", SourceObject("d.pdf", "/d.pdf", 1, change_token="t1"))
    await store.save_page(doc, PAGE, change_token="t1")
    await store.finish_document(doc, status="done", page_count=1, outputs=["/o/d.pdf.txt"])
    state = await store.document("j", "d.pdf")
    assert state is not None and state.status == "done" and state.outputs == ("/o/d.pdf.txt",)
    same = await store.begin_document("j", SourceObject("d.pdf", "/d.pdf", 1, change_token="t1"))
    assert same == doc and len(await store.saved_pages(doc)) == 1
    await store.begin_document("j", SourceObject("d.pdf", "/d.pdf", 2, change_token="t2"))
    assert await store.saved_pages(doc) == {}
    await store.close()
