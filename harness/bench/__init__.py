"""Benchmarks and their records: the app image's servers inside the chart's limits (`image`,
`make bench`) and the harness's render path against helm-unittest (`render`,
`make bench-harness`)."""
