"""reactor's benchmark suite (run with ``bench/run``)."""
