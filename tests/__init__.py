"""The test suite (a regular package, so a site-packages `tests` package, e.g. torch-fidelity's, cannot shadow it)."""
