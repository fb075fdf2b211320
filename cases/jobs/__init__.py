"""Background jobs: slow work (packet rendering) outside the request.

    registry.py  the job kinds (`@job("packet.render")`) and the progress a job reports
    broker.py    wake-ups: none (workers poll the table) or Redis (workers wake at once)
    worker.py    claim with a lease, run, retry with backoff, give up visibly
    tasks.py     the jobs themselves

The `Job` row (cases/models/jobs.py) is the only source of truth, so a broker that loses a message
costs at most one polling interval, and a worker that dies loses nothing: its lease runs out and
another worker claims the job again. Enqueue with `cases.services.jobs.job_enqueue`.
"""
