"""`data` takes its lock before it reads the raw files (issue 20): two runs with an edit between them end with
the tables of the last raw data, every time. The first run is held after it has read the raw files (inside
``check_processed``); before the fix it had read them outside the lock, so the second run's newer tables were
overwritten by the first run's older ones."""

from __future__ import annotations

import csv
import io
import random
import shutil
import threading

from mineral_analysis import config
from mineral_analysis.clean import pipeline

TITLE = "Project Vault: US strategic reserve of critical minerals"


def test_two_data_runs_with_an_edit_between_end_with_the_last_raw_data(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    shutil.copytree(config.RAW_DIR, raw)
    processed = tmp_path / "processed"
    original = pipeline.check_processed
    holding = threading.local()

    def held_check(*args, **kwargs):
        if getattr(holding, "hold", None) is not None:
            reached, delay = holding.hold
            reached.set()  # the raw files have been read
            threading.Event().wait(delay)
        return original(*args, **kwargs)

    monkeypatch.setattr(pipeline, "check_processed", held_check)
    rng = random.Random(20)
    errors: list[BaseException] = []
    for trial in range(12):
        before, after = f"{TITLE} (edit {trial}a)", f"{TITLE} (edit {trial}b)"
        text = (raw / "financing.csv").read_text(encoding="utf-8")
        current = next(csv.DictReader(io.StringIO(text)))["title"]
        (raw / "financing.csv").write_text(text.replace(current, before, 1), encoding="utf-8")
        reached = threading.Event()

        def run(hold=None):
            holding.hold = hold
            try:
                pipeline.build_processed(raw, processed, wait=True)
            except BaseException as exc:
                errors.append(exc)

        first = threading.Thread(target=run, args=((reached, rng.uniform(0.2, 0.8)),))
        first.start()
        assert reached.wait(60)
        text = (raw / "financing.csv").read_text(encoding="utf-8")
        (raw / "financing.csv").write_text(text.replace(before, after, 1), encoding="utf-8")  # the edit
        second = threading.Thread(target=run)
        second.start()
        first.join(120)
        second.join(120)
        assert not errors, errors
        written = (processed / "financing.csv").read_text(encoding="utf-8")
        assert after in written and before not in written, f"trial {trial}: the older raw data won"
