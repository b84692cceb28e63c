"""Errors of the queue.

UnknownJob   no record of the job id (expired, or never submitted)
LeaseHeld    another live worker holds the job; the task retries once its lease could
             have lapsed
"""


class UnknownJob(LookupError):
    pass


class LeaseHeld(Exception):
    """Another live worker holds this job; try again once its lease could have lapsed."""
