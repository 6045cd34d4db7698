"""RQ jobs and worker processes: routing actions by policy and running them exactly once."""
