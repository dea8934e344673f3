"""/v1/schedules on a real loopback job API over a real SQLite state store: make, list
(next due time in the schedule's zone), pause and resume, run now, delete; project tokens
see their own project only; bad keys are named."""

from __future__ import annotations

from datetime import datetime

from pipeline.store import JobQueue, ScheduleStore
from tests.integration.api.test_jobs_api import Api, api  # noqa: F401 (the fixture)


async def test_make_list_pause_resume_run_and_delete(api: Api) -> None:  # noqa: F811
    token = await api.token("finance")
    body = api.job("nightly", schedule="0 2 * * *", timezone="Asia/Shanghai")
    status, made, headers = await api.call("POST", "/v1/schedules", token, body=body)
    assert status == 201, made
    assert headers["Location"] == "/v1/schedules/nightly"
    assert (made["name"], made["enterprise_project"], made["schedule"], made["timezone"],
            made["overlap"], made["misfire"], made["paused"], made["origin"]) == (
        "nightly", "finance", "0 2 * * *", "Asia/Shanghai", "skip", "run_once", False, "api")
    due = datetime.fromisoformat(made["next_due"])
    assert (due.hour, due.minute, due.utcoffset().total_seconds()) == (2, 0, 8 * 3600)  # type: ignore[union-attr]
    assert made["last_run"] is None

    status, again, _ = await api.call("POST", "/v1/schedules", token, body=body)
    assert status == 409 and again["code"] == "schedule_exists"

    status, paused, _ = await api.call("PATCH", "/v1/schedules/nightly", token,
                                       body={"paused": True})
    assert status == 200 and paused["paused"] is True and paused["next_due"] is None
    status, listing, _ = await api.call("GET", "/v1/schedules", token)
    assert [(s["name"], s["paused"]) for s in listing["schedules"]] == [("nightly", True)]
    status, resumed, _ = await api.call("PATCH", "/v1/schedules/nightly", token,
                                        body={"paused": False})
    assert status == 200 and resumed["paused"] is False and resumed["next_due"]

    status, queued, headers = await api.call("POST", "/v1/schedules/nightly/run", token)
    assert status == 202 and headers["Location"] == f"/v1/jobs/{queued['job_id']}"
    job = await JobQueue(api.store).get(queued["job_id"])
    assert job is not None and (job.name, job.enterprise_project, job.status) == (
        "nightly", "finance", "queued")
    status, shown, _ = await api.call("GET", "/v1/schedules/nightly", token)
    assert shown["last_run"]["outcome"] == "run_now"
    assert shown["last_run"]["job_id"] == queued["job_id"]
    assert shown["last_run"]["job_status"] == "queued"

    status, _, _ = await api.call("DELETE", "/v1/schedules/nightly", token)
    assert status == 204
    assert await ScheduleStore(api.store).list_schedules() == []
    status, gone, _ = await api.call("GET", "/v1/schedules/nightly", token)
    assert status == 404 and gone["code"] == "schedule_not_found"


async def test_project_tokens_see_their_own_schedules(api: Api) -> None:  # noqa: F811
    finance, legal = await api.token("finance"), await api.token("legal")
    admin = await api.token(None, admin=True)
    for token in (finance, legal):
        status, made, _ = await api.call("POST", "/v1/schedules", token,
                                         body=api.job("nightly", schedule="@daily"))
        assert status == 201, made
    status, listing, _ = await api.call("GET", "/v1/schedules", legal)
    assert [s["enterprise_project"] for s in listing["schedules"]] == ["legal"]
    status, _, _ = await api.call("PATCH", "/v1/schedules/nightly", legal,
                                  body={"paused": True})
    assert status == 200
    assert [(s.enterprise_project, s.paused) for s in
            await ScheduleStore(api.store).list_schedules()] == [("finance", False),
                                                                 ("legal", True)]
    status, other, _ = await api.call(
        "POST", "/v1/schedules", legal,
        body=api.job("x", schedule="@daily", ocr={"enterprise_project_id": "finance"}))
    assert status == 403 and other["code"] == "forbidden"
    status, both, _ = await api.call("GET", "/v1/schedules/nightly", admin)
    assert status == 409 and "?enterprise_project=" in both["message"]
    status, one, _ = await api.call("GET", "/v1/schedules/nightly?enterprise_project=finance",
                                    admin)
    assert status == 200 and one["enterprise_project"] == "finance"


async def test_bad_schedules_are_named(api: Api) -> None:  # noqa: F811
    token = await api.token("finance")
    for extra, says in (({}, "schedule: required"),
                        ({"schedule": "0 2 * *"}, "schedule: '0 2 * *': a cron line has five"),
                        ({"schedule": "@daily", "timezone": "Berlin"}, "timezone: 'Berlin'"),
                        ({"schedule": "@daily", "misfire": "later"}, "misfire: ")):
        status, error, _ = await api.call("POST", "/v1/schedules", token,
                                          body=api.job("nightly", **extra))
        assert status == 400 and error["code"] == "invalid_schedule", error
        assert says in error["message"], error["message"]
    await api.call("POST", "/v1/schedules", token, body=api.job("nightly", schedule="@daily"))
    status, error, _ = await api.call("PATCH", "/v1/schedules/nightly", token,
                                      body={"schedule": "@hourly"})
    assert status == 400 and error["code"] == "invalid_patch"
