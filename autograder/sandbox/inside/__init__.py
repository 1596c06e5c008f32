"""The three programs that run inside the sandbox: warm_server forks a submission process per submission, which runs the notebook and its batches of calls."""
