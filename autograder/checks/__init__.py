"""3. The hidden checks: the pytest suite run against a submission through a Client."""
