"""The aggregation benchmark (bench/aggregation/run.sh): view ends at a fixed rate against the
Cassandra + Redis stack with two Celery workers; recomputes/s, coalescing ratio and the lag from a
view end to the summary showing it."""
