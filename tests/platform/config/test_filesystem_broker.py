"""The embedded broker (`make run`'s filesystem queue) delivers every message exactly once.

kombu's own filesystem transport let a polling worker claim a message file before its producer
had written it; the message was read empty and lost (a job then stayed queued for ever).
"""

import multiprocessing
import os
import queue
import subprocess
import sys
import time
from pathlib import Path

from kombu import Connection

REPO = Path(__file__).resolve().parents[3]
TRANSPORT = "config.filesystem_broker:Transport"


def _options(folder: str) -> dict:
    return {
        "data_folder_in": folder,
        "data_folder_out": folder,
        "processed_folder": os.path.join(folder, "processed"),
        "control_folder": os.path.join(folder, "control"),
        "store_processed": False,
        "polling_interval": 0.0,  # poll as fast as possible: the widest race window
    }


def _produce(folder: str, count: int) -> None:
    with Connection("filesystem://", transport=TRANSPORT, transport_options=_options(folder)) as c:
        outbox = c.SimpleQueue("celery")
        for index in range(count):
            outbox.put({"index": index})


def test_a_worker_polling_while_messages_are_written_receives_every_one_whole(tmp_path):
    folder = str(tmp_path)
    count = 2000  # kombu's transport lost ~9% of these on this machine
    producer = multiprocessing.get_context("spawn").Process(target=_produce, args=(folder, count))
    producer.start()
    received, failures = [], []
    with Connection("filesystem://", transport=TRANSPORT, transport_options=_options(folder)) as c:
        inbox = c.SimpleQueue("celery")
        deadline = time.monotonic() + 120
        while len(received) + len(failures) < count and time.monotonic() < deadline:
            try:
                message = inbox.get(block=True, timeout=1)
            except queue.Empty:
                if not producer.is_alive() and not _pending(folder):
                    break
            except Exception as error:  # an empty or torn file: what kombu's transport did
                failures.append(repr(error))
            else:
                received.append(message.payload["index"])
                message.ack()
    producer.join(timeout=60)

    assert producer.exitcode == 0
    assert failures == []
    assert sorted(received) == list(range(count))
    assert not [name for name in os.listdir(folder) if name.endswith(".partial")]


def _pending(folder: str) -> list[str]:
    return [name for name in os.listdir(folder) if name.endswith(".msg")]


def test_make_run_s_embedded_settings_use_it(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}
    env.update(VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="config.settings")
    probe = (
        "from config.celery_app import app\n"
        "with app.connection_for_write() as connection:\n"
        "    print(type(connection.transport).__module__)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO / "platform", env=env,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["config.filesystem_broker"]
