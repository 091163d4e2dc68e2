"""Tests of the `arbctl` command line, mostly as real subprocesses against a real engine."""
