"""Data layer: download and verify (`download`), the catalogue of sources (`sources`),
readers of the publishers' formats (`formats`), preparation into tensors (`prepare`) and
tiny datasets in the same formats for tests and the smoke preset (`fixtures`)."""
