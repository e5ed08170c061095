"""The local cluster the tests and the demo run on: the pinned control plane, on loopback."""
