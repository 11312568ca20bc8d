"""The scheduled notification jobs.

Each job is an `async def job(ctx) -> int` (rows written to the outbox): it scans our
tables for what is due, writes outbox rows and marks its source rows in ONE unit of
work, so a crash leaves either both or neither. Their state lives in our tables
(`alerted_at`, `notified_at`, `reminded_at`, `announced_at`, `job_marks`), never in
APScheduler's job store, and every row has a dedupe key: running a job twice, in two
processes or after a restart, writes nothing new.
"""
