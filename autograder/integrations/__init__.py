"""Where the core plugs into the rest of the world: nbgrader, Gradescope, GitHub Classroom, Dask, batches."""
