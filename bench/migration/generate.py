"""Generate a legacy sunbird_courses data set as cqlsh CSV exports, streamed (flat memory).

    python -m bench.migration.generate DIR ENROLMENTS [--seed N]

Per enrolment (user, course, batch), ~3 users' worth of enrolments per user: the consumption
rows of a random share of the course's leaves (status 1 or 2), the enrolment with its
contentstatus map (as the legacy aggregator left it), an attempt or two at the course's
assessment for a third of them, and a legacy user_activity_agg row with the best score. Writes
DIR/<table>.csv and DIR/catalogue.json (the collections to put into the catalogue).
"""

import argparse
import json
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from migration.csvexport import CsvTableWriter
from migration.legacy import ACTIVITY_AGG, ATTEMPTS, CONSUMPTION, ENROLMENTS

COURSES = 20
LEAVES = 8  # per course; the last one optional
START = datetime(2023, 1, 1, tzinfo=UTC)


def course_id(c: int) -> str:
    return f"do_course_{c:03d}"


def leaf_id(c: int, n: int) -> str:
    return f"do_course_{c:03d}_leaf_{n}"


def catalogue() -> dict[str, list[dict[str, Any]]]:
    return {
        course_id(c): [
            {
                "identifier": f"{course_id(c)}_unit_1",
                "children": [{"identifier": leaf_id(c, n)} for n in range(LEAVES // 2)],
            },
            *({"identifier": leaf_id(c, n)} for n in range(LEAVES // 2, LEAVES - 1)),
            {"identifier": leaf_id(c, LEAVES - 1), "optional": True},
        ]
        for c in range(COURSES)
    }


def generate(directory: Path, enrolments: int, seed: int = 7) -> dict[str, int]:
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "catalogue.json").write_text(json.dumps(catalogue()))
    files = {
        t: (directory / f"{t.name}.csv").open("w", encoding="utf-8", newline="")
        for t in (CONSUMPTION, ATTEMPTS, ACTIVITY_AGG, ENROLMENTS)
    }
    writers = {t: CsvTableWriter(f, t) for t, f in files.items()}
    counts = dict.fromkeys((t.name for t in files), 0)
    try:
        for i in range(enrolments):
            user, course = f"user-{i // 3:07d}", rng.randrange(COURSES)
            batch = f"batch-{course:03d}-{i % 3}"
            cid = course_id(course)
            when = START + timedelta(minutes=i)
            started = rng.sample(range(LEAVES), rng.randint(0, LEAVES))
            statuses = {leaf_id(course, n): rng.choice((1, 2, 2)) for n in started}
            for content, status in statuses.items():
                writers[CONSUMPTION].write(
                    {
                        "userid": user,
                        "courseid": cid,
                        "batchid": batch,
                        "contentid": content,
                        "status": status,
                        "progress": 100 if status == 2 else rng.randint(0, 99),
                        "viewcount": 1,
                        "completedcount": int(status == 2),
                        "last_access_time": when,
                        "last_updated_time": when,
                        "last_completed_time": when if status == 2 else None,
                        "progressdetails": json.dumps({"position": rng.randint(0, 600)}),
                    }
                )
            counts[CONSUMPTION.name] += len(statuses)
            done = sum(1 for n in range(LEAVES - 1) if statuses.get(leaf_id(course, n)) == 2)
            complete = done == LEAVES - 1
            writers[ENROLMENTS].write(
                {
                    "userid": user,
                    "courseid": cid,
                    "batchid": batch,
                    "active": True,
                    "enrolled_date": when - timedelta(days=1),
                    "status": 2 if complete else int(done > 0),
                    "progress": done,
                    "contentstatus": statuses,
                    "datetime": when,
                    "completedon": when if complete else None,
                    "issued_certificates": [{"name": "cert", "identifier": f"cert-{i}"}]
                    if complete
                    else [],
                }
            )
            counts[ENROLMENTS.name] += 1
            if i % 3 == 0:
                quiz = leaf_id(course, 0)
                scores = [round(rng.uniform(0, 5), 2) for _ in range(rng.randint(1, 2))]
                for a, score in enumerate(scores):
                    writers[ATTEMPTS].write(
                        {
                            "user_id": user,
                            "course_id": cid,
                            "batch_id": batch,
                            "content_id": quiz,
                            "attempt_id": f"att-{i}-{a}",
                            "last_attempted_on": when,
                            "created_on": when,
                            "updated_on": when,
                            "total_score": score,
                            "total_max_score": 5.0,
                            "grand_total": f"{score}/5.0",
                            "question": [
                                {
                                    "id": "q1",
                                    "assess_ts": when,
                                    "max_score": 5.0,
                                    "score": score,
                                    "type": "mcq",
                                    "title": "Q",
                                    "resvalues": [{"1": "a"}],
                                    "params": [],
                                    "description": None,
                                    "duration": 3.5,
                                }
                            ],
                        }
                    )
                counts[ATTEMPTS.name] += len(scores)
                writers[ACTIVITY_AGG].write(
                    {
                        "activity_type": "Course",
                        "activity_id": cid,
                        "user_id": user,
                        "context_id": f"cb:{batch}",
                        "agg": {
                            "completedCount": done,
                            f"score:{quiz}": int(max(scores)),
                            f"max_score:{quiz}": 5,
                        },
                        "aggregates": {
                            "completedCount": float(done),
                            f"score:{quiz}": max(scores),
                            f"max_score:{quiz}": 5.0,
                            f"attempts_count:{quiz}": float(len(scores)),
                        },
                    }
                )
                counts[ACTIVITY_AGG.name] += 1
    finally:
        for handle in files.values():
            handle.close()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("directory", type=Path)
    parser.add_argument("enrolments", type=int)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    counts = generate(args.directory, args.enrolments, args.seed)
    print(json.dumps(counts), file=sys.stderr)


if __name__ == "__main__":
    main()
