"""Detection runs on its own Celery queue, and only a worker that takes it loads the registry."""

from __future__ import annotations

from types import SimpleNamespace

from celery import Celery

from config.celery_app import DETECTION_QUEUE, app
from detection.tasks import DETECTION_QUEUE as TASKS_QUEUE
from detection.tasks import consumes_detection_queue


def test_detection_tasks_go_to_their_own_queue_and_others_do_not():
    assert DETECTION_QUEUE == TASKS_QUEUE
    router = app.amqp.router
    assert router.route({}, "detection.run_detection")["queue"].name == DETECTION_QUEUE
    for other in ("jobs.reap_stale", "audit.checkpoint_and_verify"):
        assert router.route({}, other)["queue"].name == app.conf.task_default_queue


def _worker(*queues: str) -> SimpleNamespace:
    """A worker's app after `-Q queues` (celery's own queue selection, on a fresh app)."""
    fresh = Celery("queues-test", set_as_current=False)
    fresh.conf.task_routes = app.conf.task_routes
    if queues:
        fresh.amqp.queues.select(list(queues))
    return SimpleNamespace(app=fresh)


def test_only_a_worker_taking_the_detection_queue_loads_the_registry():
    assert consumes_detection_queue(_worker(DETECTION_QUEUE))
    assert consumes_detection_queue(_worker("celery", DETECTION_QUEUE))
    assert not consumes_detection_queue(_worker("celery"))
    assert not consumes_detection_queue(_worker())  # no -Q: the default queue only
