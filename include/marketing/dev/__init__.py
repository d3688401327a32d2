"""Development tools, used by `make` and the tests, never by the DAGs: the sample generator, the
benchmarks and the local Airflow launcher. Nothing in the product imports this package."""
