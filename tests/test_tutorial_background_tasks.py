"""Tutorial, "Background Tasks": tasks added by the endpoint and by its
dependencies run after the response, in the order they were added, with
their arguments; sync and async callables alike.
"""

from typing import Annotated

from trioapi import BackgroundTasks, Depends, TrioAPI
from trioapi.testclient import TestClient


def test_a_task_added_by_the_endpoint_runs_after_the_response_with_its_arguments():
    app = TrioAPI()
    notifications: list[str] = []

    def write_notification(email: str, message: str = "") -> None:  # sync: a worker thread
        notifications.append(f"notification for {email}: {message}")

    @app.post("/send-notification/{email}")
    async def send_notification(email: str, background_tasks: BackgroundTasks):
        background_tasks.add_task(write_notification, email, message="some notification")
        return {"message": "Notification sent in the background", "log": list(notifications)}

    response = TestClient(app).post("/send-notification/foo@example.com")
    # The endpoint saw an empty log: the task had not run yet.
    assert response.json() == {"message": "Notification sent in the background", "log": []}
    assert notifications == ["notification for foo@example.com: some notification"]


def test_tasks_from_a_dependency_and_the_endpoint_share_one_queue_in_order():
    app = TrioAPI()
    log: list[str] = []

    async def write_log(message: str) -> None:  # async: awaited in the request's task
        log.append(message)

    def get_query(background_tasks: BackgroundTasks, q: str | None = None):
        if q:
            background_tasks.add_task(write_log, f"found query: {q}")
        return q

    @app.post("/send-notification/{email}")
    async def send_notification(
        email: str, background_tasks: BackgroundTasks, q: Annotated[str | None, Depends(get_query)]
    ):
        background_tasks.add_task(write_log, f"message to {email}")
        return {"message": "Message sent"}

    client = TestClient(app)
    assert client.post("/send-notification/a@b.c?q=some-query").json() == {
        "message": "Message sent"
    }
    assert log == ["found query: some-query", "message to a@b.c"]
    client.post("/send-notification/x@y.z")
    assert log[2:] == ["message to x@y.z"]
