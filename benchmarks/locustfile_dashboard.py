"""Viewers of a dashboard for ``benchmarks/dashboard.py``: locust headless, one server at a time.

    DASH_KIND=tunesmith DASH_STUDY=bench DASH_TRIALS=100000 \\
        locust -f benchmarks/locustfile_dashboard.py --headless -u 10 -r 10 -t 30s --host http://127.0.0.1:8080

A tunesmith viewer opens the study (summary), a page of the trials table (a random page)
and the history plot, then waits 0.5-1.5 s and does it again. An optuna-dashboard viewer
makes what its page makes: the study list, and the study refresh its page polls
(``/api/studies/1?after=N``, N its first unfinished trial), with the same waits.
"""

from __future__ import annotations

import os
import random

from locust import HttpUser, between, task

KIND = os.environ.get("DASH_KIND", "tunesmith")
STUDY = os.environ.get("DASH_STUDY", "bench")
TRIALS = int(os.environ.get("DASH_TRIALS", "100000"))
AFTER = int(os.environ.get("DASH_AFTER", str(max(0, TRIALS - 4))))


class Viewer(HttpUser):
    wait_time = between(0.5, 1.5)

    @task
    def view(self) -> None:
        if KIND == "tunesmith":
            base = f"/api/studies/{STUDY}"
            self.client.get(base, name="study")
            offset = random.randrange(0, max(1, TRIALS - 50), 50)
            self.client.get(f"{base}/trials?offset={offset}&limit=50", name="trials page")
            self.client.get(f"{base}/plot/history", name="plot history")
        else:
            self.client.get("/api/studies", name="study list")
            self.client.get(f"/api/studies/1?after={AFTER}", name="study refresh (?after=N)")
